# The embedded synthetic face set: identities x expression sequences from neutral to
# peak, exact 68-point landmarks and exact neutral faces, written once in the CK+ layout
# under data_root (cached) and read by the CK+ loader. Subject-independent folds: this
# base trains on the other folds of `fold` and tests on `fold` (held-out identities).
dataset_type = 'SyntheticCKPlusDataset'
# Many identities: identity overfitting, not compute, limits held-out accuracy here
# (60 -> 240 -> 480 people raised it at a fixed number of steps). Drawn at 64 px;
# AlignFace area-filters the faces to img_size.
data_root = 'data/synthetic_ckplus_480'
# Peak intensities 1.0-1.3 and resting faces at half the generator's default: people's
# resting faces still look like weak expressions (a classifier of the face alone is
# misled), but a face's peak expression stays recognisable without its neutral frame.
# With the generator's defaults (peaks 0.8-1.1, resting 1.0) even the exact 68 points of
# the expressive face alone classify only ~97% of held-out identities (an MLP on them),
# which caps any single-image model; with these settings ~99.4%, while the exact
# landmark displacement from the neutral frame separates all classes.
synthetic = dict(num_identities=480, frames_per_sequence=8, image_size=64, seed=0,
                 color=False, progress=True, intensity_range=(1.0, 1.3),
                 generator_cfg=dict(resting=0.5))
num_classes = 7
num_peak_frames = 3
fold = 0
num_folds = 5
split_seed = 0
color_type = 'grey'
img_size = 48

train_pipeline = [
    dict(type='LoadFaceImages', color_type=color_type),
    dict(type='AlignFace', size=img_size),
    dict(type='PackFERInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        **synthetic,
        num_classes=num_classes,
        num_peak_frames=num_peak_frames,
        fold=fold,
        num_folds=num_folds,
        split_seed=split_seed,
        split='train',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        **synthetic,
        num_classes=num_classes,
        num_peak_frames=num_peak_frames,
        fold=fold,
        num_folds=num_folds,
        split_seed=split_seed,
        split='test',
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = [dict(type='ExpressionMetric'), dict(type='RemovalMetric')]
test_evaluator = val_evaluator
