# MMI from the manifest written by tools/dataset_converters/mmi_to_manifest.py
# (frames/ and manifest.csv under data_root); 6 classes; 10-fold subject-independent
# cross-validation, training on the other folds of `fold` and testing on `fold`.
dataset_type = 'MMIDataset'
data_root = 'data/mmi'
ann_file = 'manifest.csv'
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
        ann_file=ann_file,
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
        ann_file=ann_file,
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
