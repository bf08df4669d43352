# MMI from the manifest written by tools/dataset_converters/mmi_to_manifest.py
# (frames/ and manifest.csv under data_root); 6 classes; 10-fold subject-independent
# cross-validation, training on the other folds of `fold` and testing on `fold`.
num_classes = 6
fold = 0
num_folds = 10

_dataset = dict(
    type='MMIDataset',
    # {{ fileDirname }} (mmengine) is this file's folder: the data sit in the checkout's
    # data/ wherever errkit runs from; --data-root DIR reads them from DIR instead.
    data_root='{{ fileDirname }}/../../../data/mmi',
    ann_file='manifest.csv',
    fold=fold,
    num_folds=num_folds,
    split_seed=0,
    pipeline=[
        dict(type='LoadFaceImages', color_type='grey'),
        dict(type='AlignFace', size=128),
        dict(type='PackFERInputs'),
    ],
)

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='train'),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='test', test_mode=True),
)
test_dataloader = val_dataloader

val_evaluator = [dict(type='ExpressionMetric'), dict(type='RemovalMetric')]
test_evaluator = val_evaluator
