# ERR-Net on the Taiwanese real faces (../shared/data/tw_faces beside the checkout;
# research use only). Prepare the dlib landmarks and aligned crops once, then run the
# subject-independent folds:
#   python tools/prepare_data.py configs/errnet_tw_faces.py
#   python tools/kfold.py configs/errnet_tw_faces.py --folds 10
# Same encoder, image size, augmentations, schedule and epochs as
# configs/baselines/timm_classifier_tw_faces.py. docs/model.rst has the comparison.
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/tw_faces.py',
    './_base_/schedules/adamw_cosine_15e.py',
    './_base_/default_runtime.py',
]
model = dict(
    num_classes=_base_.num_classes,
    data_preprocessor=dict(batch_augments=_base_.real_face_augments),
    encoder=dict(model_name='resnet10t'),
    decoder=dict(base_channels=16),
    discriminator=dict(base_channels=32, num_layers=2),
    residuals=[
        # the generated residual image; detach: recognition does not reshape removal
        dict(type='PixelResidual', feat_channels=32, num_stages=3, detach=True),
        # the face's own 68 points against its predicted (or given) neutral shape
        dict(type='DetectedLandmarkResidual', out_channels=64),
    ],
    use_encoder_features_in_head=True,
    fusion_norm='branch',
    losses=dict(gan_loss=dict(loss_weight=0.1), l1=dict(loss_weight=100.0),
                segment=dict(loss_weight=0.2)),
    # Also report recognition with each face's neutral photo (given-neutral mode).
    test_cfg=dict(neutral='generated', extra_modes=('given',)),
)
# One optimizer for generator and recognizer (the shared schedule), pix2pix's Adam for
# the discriminator, decayed over the second half.
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
