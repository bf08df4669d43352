# ERR-Net on the embedded synthetic face set: trains on a 2-core CPU in minutes, no
# download. `make demo` trains and evaluates this config (held-out identities of fold 0).
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/synthetic.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]

# A small network for CPU training: resnet10t encoder, narrow decoder and PatchGAN.
model = dict(
    encoder=dict(model_name='resnet10t'),
    decoder=dict(base_channels=16),
    discriminator=dict(base_channels=32, num_layers=2),
    residuals=[
        # detach: the recognition loss does not reshape the generated residual
        dict(type='PixelResidual', feat_channels=32, num_stages=3, detach=True),
        dict(type='LandmarkResidual', source='both', hidden_channels=128, out_channels=64),
    ],
    loss_weights=dict(gan=0.1, l1=100.0, cls=1.0, segment=0.2, landmark=1.0),
)

max_epochs = 12
optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=5e-4)),
    recognizer=dict(optimizer=dict(lr=5e-4)),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
default_hooks = dict(logger=dict(interval=25))
