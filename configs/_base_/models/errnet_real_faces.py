# ERR-Net sized and set up for real faces (48-pixel crops, a few hundred to a few
# thousand photos; measured in docs/model.rst, "Real faces"): a small generator, the
# generated residual image (detached: recognition does not reshape removal) and the
# face's own 68 points against its predicted (or given) neutral shape, the encoder's
# features beside them, each branch normalised before fusion.
_base_ = ['./errnet.py']
model = dict(
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
