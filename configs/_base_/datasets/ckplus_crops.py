# CK+ face crops in class folders (e.g. happiness/S010_006_00000015.png) with the
# neutral faces in neutral/, as the common 48-pixel crops come; the class comes from the
# parent folder. A neutral crop of the same subject and sequence is preferred, else one
# of the same subject.
#
# The crops are detected (dlib's 68 points, each crop upsampled to at least 192 pixels
# first: dlib finds no face in 48 pixels) and aligned once into a cache:
#   python tools/prepare_data.py configs/_base_/datasets/ckplus_crops.py
# The summary gives the detection rate; crops where no face is found stay in the cache
# centre-cropped, without landmarks, and train without the landmark terms (their count
# is in the summary and in the dataset's load report).
# {{ fileDirname }} (mmengine) is this file's folder: the data sit in the checkout's
# data/ wherever errkit runs from; --data-root DIR reads them from DIR instead.
_base_ = ['../augmentations/real_faces.py']
data_root = '{{ fileDirname }}/../../../data/ckplus_crops'
cache_file = '{{ fileDirname }}/../../../data/cache/ckplus_crops_128.npz'
classes = ('anger', 'contempt', 'disgust', 'fear', 'happy', 'sadness', 'surprise')
num_classes = len(classes)
_source = dict(
    type='PatternFolderDataset',
    data_root=data_root,
    pattern=r'[^/]+/(?P<subject>S\d+)_(?P<sequence>\d+)_(?P<frame>\d+)\.png',
    classes=classes,
    label_source='parent',
    label_map=dict(anger='anger', contempt='contempt', disgust='disgust', fear='fear',
                   happy='happy', happiness='happy', sadness='sadness', surprise='surprise',
                   neutral='neutral'),
    neutral_label='neutral',
    prepare=dict(detector=dict(type='DlibLandmarkDetector'), size=128, color_type='grey',
                 detect_min_size=192, keep_undetected=True),
)
fold = 0
num_folds = 10
split_seed = 0
img_size = 48

pipeline = [dict(type='AlignFace', size=img_size), dict(type='PackFERInputs')]
_dataset = dict(type='CachedFaceDataset', cache_file=cache_file, source=_source, fold=fold,
                num_folds=num_folds, split_seed=split_seed, pipeline=pipeline)
train_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='train'))
val_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='test', test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='ExpressionMetric'), dict(type='RemovalMetric')]
test_evaluator = val_evaluator
