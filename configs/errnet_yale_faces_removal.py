# Expression removal on the real Yale faces, subject-independent (5 folds of 3 people).
# Each face and its SS_normal.png are aligned by their own dlib landmarks (eye centres
# on the canonical mean shape) once, into a cache:
#   python tools/prepare_data.py configs/_base_/datasets/yale_faces.py \
#       --detector dlib --out data/cache/yale.npz
#   python tools/kfold.py configs/errnet_yale_faces_removal.py
# The figures of merit are removal/psnr_gain_db and removal/ssim_gain (see
# docs/model.rst). A small CPU-sized generator, L1-weighted removal, rigid and
# photometric batch augments.
_base_ = [
    './_base_/models/errnet.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]

cache_file = 'data/cache/yale.npz'
classes = ('happy', 'sad', 'sleepy', 'surprised', 'wink')
num_folds = 5
fold = 0
img_size = 64
pipeline = [dict(type='AlignFace', size=img_size), dict(type='PackFERInputs')]
_dataset = dict(type='CachedFaceDataset', cache_file=cache_file, fold=fold,
                num_folds=num_folds, pipeline=pipeline)

train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='train'))
val_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(_dataset, split='test', test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='ExpressionMetric'), dict(type='RemovalMetric')]
test_evaluator = val_evaluator

model = dict(
    num_classes=len(classes),
    data_preprocessor=dict(batch_augments=[
        dict(type='PairedAugmentation', augmentations=[
            dict(type='RandomHorizontalFlip', p=0.5),
            dict(type='RandomAffine', degrees=5, translate=(0.03, 0.03),
                 scale=(0.95, 1.05), p=1.0)]),
        dict(type='PhotometricJitter')]),
    encoder=dict(model_name='resnet10t'),
    decoder=dict(base_channels=16),
    discriminator=dict(base_channels=32, num_layers=2),
    residuals=[dict(type='PixelResidual', feat_channels=32, num_stages=3, detach=True)],
    losses=dict(gan_loss=dict(loss_weight=0.1), l1=dict(loss_weight=100.0),
                segment=dict(loss_weight=0.2)),
)

max_epochs = 150
optim_wrapper = dict(generator=dict(optimizer=dict(lr=5e-4)))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=50)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=50, max_keep_ckpts=1))
