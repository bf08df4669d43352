# CK+ face crops in class folders (e.g. happiness/S010_006_00000015.png) with the
# neutral faces in neutral/; the class comes from the parent folder. A neutral crop of
# the same subject and sequence is preferred, else one of the same subject.
classes = ('anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise')
num_classes = len(classes)
fold = 0
num_folds = 10

_dataset = dict(
    type='PatternFolderDataset',
    # {{ fileDirname }} (mmengine) is this file's folder: the data sit in the checkout's
    # data/ wherever errkit runs from; --data-root DIR reads them from DIR instead.
    data_root='{{ fileDirname }}/../../../data/ckplus_crops',
    pattern=r'[^/]+/(?P<subject>S\d+)_(?P<sequence>\d+)_(?P<frame>\d+)\.png',
    classes=classes,
    label_source='parent',
    label_map=dict(anger='anger', contempt='contempt', disgust='disgust', fear='fear',
                   happy='happy', happiness='happy', sadness='sadness', surprise='surprise',
                   neutral='neutral'),
    neutral_label='neutral',
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
