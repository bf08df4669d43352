# CK+ in its official layout (cohn-kanade-images/, Emotion/, Landmarks/) under data_root.
# 10-fold subject-independent cross-validation; this base trains on the other folds of
# `fold` and tests on `fold`. A leaf config that changes data_root, fold or num_classes
# must also set them inside the dataloaders' `dataset` dicts (mmengine merges dicts,
# it does not re-evaluate these variables).
dataset_type = 'CKPlusDataset'
data_root = 'data/ckplus'
num_classes = 7  # 6 drops contempt
num_peak_frames = 3
fold = 0
num_folds = 10
split_seed = 0
color_type = 'grey'
img_size = 128

train_pipeline = [
    dict(type='LoadFaceImages', color_type=color_type),
    dict(type='AlignFace', size=img_size),
    dict(type='PackFERInputs'),
]
test_pipeline = [
    dict(type='LoadFaceImages', color_type=color_type),
    dict(type='AlignFace', size=img_size),
    dict(type='PackFERInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
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
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
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
