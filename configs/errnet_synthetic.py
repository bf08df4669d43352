# ERR-Net on the embedded synthetic face set: trains on a 2-core CPU in minutes, no
# download. `make demo` trains and evaluates this config (held-out identities of fold 0).
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/synthetic.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]

# A small network for CPU training: resnet10t encoder, narrow warp-and-correct decoder
# and PatchGAN. Batch augments (training only): mirrored faces (the 68 points
# re-indexed, so a one-sided contempt stays contempt on the other side) and
# photometric jitter, applied alike to the face and its neutral.
model = dict(
    num_classes=_base_.num_classes,
    data_preprocessor=dict(batch_augments=[
        dict(type='PairedAugmentation', augmentations=[
            dict(type='RandomHorizontalFlip', p=0.5)]),
        dict(type='PhotometricJitter'),
    ]),
    encoder=dict(model_name='resnet10t'),
    decoder=dict(base_channels=16),
    discriminator=dict(base_channels=32, num_layers=2),
    residuals=[
        # detach: the recognition loss does not reshape the generated residual
        dict(type='PixelResidual', feat_channels=32, num_stages=3, detach=True),
        # Teacher forcing: in training the head embeds the true landmark displacement
        # (the regressor is still trained on it); at test, the regressed one.
        dict(type='LandmarkResidual', source='both', hidden_channels=128, out_channels=64,
             use_true_landmarks_in_training=True),
    ],
    # L1 dominates the removal; the adversarial term sharpens it.
    losses=dict(gan_loss=dict(loss_weight=0.1), l1=dict(loss_weight=100.0),
                segment=dict(loss_weight=0.2)),
)

max_epochs = 6
optim_wrapper = dict(generator=dict(optimizer=dict(lr=5e-4)))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
default_hooks = dict(logger=dict(interval=25))
