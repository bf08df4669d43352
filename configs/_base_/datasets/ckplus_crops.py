# CK+ face crops in class folders (e.g. happiness/S010_006_00000015.png) with the
# neutral faces in neutral/; the class comes from the parent folder. A neutral crop of
# the same subject and sequence is preferred, else one of the same subject.
dataset_type = 'PatternFolderDataset'
data_root = 'data/ckplus_crops'
pattern = r'[^/]+/(?P<subject>S\d+)_(?P<sequence>\d+)_(?P<frame>\d+)\.png'
classes = ('anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise')
label_map = dict(anger='anger', contempt='contempt', disgust='disgust', fear='fear',
                 happy='happy', happiness='happy', sadness='sadness', surprise='surprise',
                 neutral='neutral')
neutral_label = 'neutral'
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
        pattern=pattern,
        classes=classes,
        label_source='parent',
        label_map=label_map,
        neutral_label=neutral_label,
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
        pattern=pattern,
        classes=classes,
        label_source='parent',
        label_map=label_map,
        neutral_label=neutral_label,
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
