# ERR-Net on CK+ crops in class folders (happiness/S010_006_00000015.png beside neutral/),
# data/ckplus_crops: the common 48-pixel crops. Prepare their landmarks once, then run
# the subject-independent folds:
#   python tools/prepare_data.py configs/errnet_ckplus_crops.py
#   python tools/kfold.py configs/errnet_ckplus_crops.py --folds 10
# The model is the one measured on real faces in docs/model.rst (configs/errnet_tw_faces.py):
# the face's own dlib landmarks against its predicted neutral shape, the generated
# residual image, the encoder's features, each branch normalised before fusion.
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/ckplus_crops.py',
    './_base_/schedules/adamw_cosine_15e.py',
    './_base_/default_runtime.py',
]
real_face_augments = [
    dict(type='PairedAugmentation', augmentations=[
        dict(type='RandomHorizontalFlip', p=0.5),
        dict(type='RandomAffine', degrees=8, translate=(0.04, 0.04), scale=(0.92, 1.08),
             p=1.0)]),
    dict(type='PhotometricJitter'),
]
model = dict(
    num_classes=_base_.num_classes,
    data_preprocessor=dict(batch_augments=real_face_augments),
    encoder=dict(model_name='resnet10t'),
    decoder=dict(base_channels=16),
    discriminator=dict(base_channels=32, num_layers=2),
    residuals=[
        dict(type='PixelResidual', feat_channels=32, num_stages=3, detach=True),
        dict(type='DetectedLandmarkResidual', out_channels=64),
    ],
    use_encoder_features_in_head=True,
    fusion_norm='branch',
    losses=dict(gan_loss=dict(loss_weight=0.1), l1=dict(loss_weight=100.0),
                segment=dict(loss_weight=0.2)),
)
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='NaNGuardOptimWrapper', nan_policy='stop',
                   modules=('generator', 'recognizer'), optimizer=_base_.optim_wrapper.optimizer),
    discriminator=dict(type='NaNGuardOptimWrapper', nan_policy='stop',
                       optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
)
param_scheduler = dict(
    _delete_=True,
    generator=_base_.param_scheduler,
    discriminator=[dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True,
                        begin=_base_.max_epochs // 2, end=_base_.max_epochs)],
)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=15, max_keep_ckpts=1))
