# Taiwanese facial expressions beside the checkout (research use only; never shipped):
# ../shared/data/tw_faces, 1232 frontal colour photos of 29 performers, 6 posed
# expressions, 2-3 neutral photos per performer, observer ratings in ratings.csv.
# File names are PPTVEnn.jpg: performer, performance (0 neutral, 1-3 expressive styles),
# view, expression letter (a calm ... g surprised), serial. Nine neutral files have no
# letter (performers 12, 13, 18): the empty letter is the neutral role too.
#
# The faces are detected (dlib's 68 points) and aligned once into a cache:
#   python tools/prepare_data.py configs/_base_/datasets/tw_faces.py
# Expressive and neutral faces are different photographs: each is aligned by its own
# landmarks to the same canonical eye positions, so the pair lines up.
# {{ fileDirname }} (mmengine) is this file's folder: the photos sit beside the checkout,
# the cache in the checkout's data/ wherever errkit runs from.
_base_ = ['../augmentations/real_faces.py']
data_root = '{{ fileDirname }}/../../../../shared/data/tw_faces'
cache_file = '{{ fileDirname }}/../../../data/cache/tw_faces_128.npz'
classes = ('happy', 'sad', 'angry', 'disgusted', 'fearful', 'surprised')
num_classes = len(classes)
_source = dict(
    type='PatternFolderDataset',
    data_root=data_root,
    pattern=r'(?P<subject>\d{2})(?P<sequence>\d)1(?P<label>[a-g]?)(?P<frame>\d+)\.jpg',
    classes=classes,
    label_map={'a': 'neutral', '': 'neutral', 'b': 'happy', 'c': 'sad', 'd': 'angry',
               'e': 'disgusted', 'f': 'fearful', 'g': 'surprised'},
    neutral_label='neutral',
    # The category most observers chose for each photo, beside the performed one.
    extra_labels=dict(rated=dict(
        file='ratings.csv', key='file', column='rated_top',
        label_map={'1': 'happy', '2': 'sad', '3': 'angry', '4': 'disgusted',
                   '5': 'fearful', '6': 'surprised'})),
    prepare=dict(detector=dict(type='DlibLandmarkDetector'), size=128, color_type='grey'),
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
