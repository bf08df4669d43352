# The embedded synthetic face set: identities x expression sequences from neutral to
# peak, exact 68-point landmarks and exact neutral faces, written once in the CK+ layout
# under data_root (cached) and read by the CK+ loader. Subject-independent folds: this
# base trains on the other folds of `fold` and tests on `fold` (held-out identities).
# Why 480 identities, these intensities and resting faces: see docs/model.rst.
num_classes = 7
fold = 0
num_folds = 5

_dataset = dict(
    type='SyntheticCKPlusDataset',
    # {{ fileDirname }} (mmengine) is this file's folder: the data sit in the checkout's
    # data/ wherever errkit runs from; --data-root DIR reads them from DIR instead.
    data_root='{{ fileDirname }}/../../../data/synthetic_ckplus_480',
    # generator settings (drawn at 64 px; AlignFace area-filters to the pipeline's size)
    num_identities=480, frames_per_sequence=8, image_size=64, seed=0, color=False,
    progress=True, intensity_range=(1.0, 1.3), generator_cfg=dict(resting=0.5),
    num_classes=num_classes,
    num_peak_frames=3,
    fold=fold,
    num_folds=num_folds,
    split_seed=0,
    pipeline=[
        dict(type='LoadFaceImages', color_type='grey'),
        dict(type='AlignFace', size=48),
        dict(type='PackFERInputs'),
    ],
)

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='train'),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='test', test_mode=True),
)
test_dataloader = val_dataloader

val_evaluator = [dict(type='ExpressionMetric'), dict(type='RemovalMetric')]
test_evaluator = val_evaluator
