# JAFFE: one flat folder of TIFFs named SUBJECT.LABELn.FRAME.tiff (e.g. KA.HA1.29.tiff:
# subject KA, label HA, repetition 1, image number 29). NE images are the neutral
# references; the six other expressions are the classes. 10 subjects, so 10 folds is
# leave-one-subject-out.
classes = ('anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise')
num_classes = len(classes)
fold = 0
num_folds = 10

_dataset = dict(
    type='PatternFolderDataset',
    # {{ fileDirname }} (mmengine) is this file's folder: the data sit in the checkout's
    # data/ wherever errkit runs from; --data-root DIR reads them from DIR instead.
    data_root='{{ fileDirname }}/../../../data/jaffe',
    pattern=(r'(?P<subject>[A-Z]{2})\.(?P<label>[A-Z]{2})(?P<sequence>\d+)'
             r'\.(?P<frame>\d+)\.(?:tiff?|TIFF?)'),
    classes=classes,
    label_map=dict(AN='anger', DI='disgust', FE='fear', HA='happy', SA='sadness',
                   SU='surprise', NE='neutral'),
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
