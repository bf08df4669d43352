# Yale faces beside the checkout (research use only; never copied into the project):
# SS_condition.png, 15 subjects. The expressions happy, sad, sleepy, surprised and wink
# are the classes, SS_normal.png the neutral reference; the other conditions (glasses,
# noglasses, leftlight, rightlight) do not match the pattern and are reported as ignored.
# Grey crops of varying size without landmarks: AlignFace centre-crops and resizes them.
# 15 subjects: 5 folds of 3 subjects.
classes = ('happy', 'sad', 'sleepy', 'surprised', 'wink')
num_classes = len(classes)
fold = 0
num_folds = 5

_dataset = dict(
    type='PatternFolderDataset',
    # {{ fileDirname }} (mmengine) is this file's folder: the faces sit beside the
    # checkout wherever errkit runs from; --data-root DIR reads them from DIR instead.
    data_root='{{ fileDirname }}/../../../../shared/data/yale_faces',
    pattern=r'(?P<subject>\d+)_(?P<label>happy|sad|sleepy|surprised|wink|normal)\.png',
    classes=classes,
    neutral_label='normal',
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
