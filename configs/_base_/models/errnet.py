# Full ERR-Net: U-Net residual generator with segmented latent, conditional PatchGAN
# (LSGAN), pixel and landmark residuals, segment loss.
model = dict(
    type='ERRNet',
    num_classes=7,  # a leaf for another class count sets model.num_classes
    data_preprocessor=dict(type='FERDataPreprocessor', num_channels=1),
    encoder=dict(
        type='TimmEncoder',
        model_name='resnet18',
        in_channels=1,
        pretrained=None,  # path of a local timm checkpoint; weights are never downloaded
    ),
    # num_segments defaults to num_classes: one latent segment per expression class.
    latent=dict(type='SegmentLatent', segment_dim=16),
    # encoder_channels, encoder_reductions, latent_dim, out_channels are filled in.
    # flow: the neutral is the input warped along a predicted displacement minus a
    # painted correction; input_channels: the input joins the last, full-size stage.
    decoder=dict(type='UNetResidualDecoder', base_channels=32, use_skips=True,
                 input_channels=1, flow=True),
    # in_channels (2 x image channels: the face and its neutral) is filled in.
    discriminator=dict(
        type='PatchDiscriminator', base_channels=64, num_layers=3, use_spectral_norm=True),
    residuals=[
        dict(type='PixelResidual', feat_channels=32, num_stages=3),
        dict(type='LandmarkResidual', source='both', hidden_channels=128, out_channels=64,
             use_true_landmarks_in_training=False),
    ],
    head=dict(type='LinearHead', dropout=0.2),
    use_segments_in_head=True,
    losses=dict(
        gan_loss=dict(type='GANLoss', gan_type='lsgan'),
        gradient_penalty=None,  # dict(type='GradientPenaltyLoss', loss_weight=10.0) for WGAN-GP
        l1=dict(type='MaskedL1Loss'),
        cls=dict(type='CrossEntropyLoss', label_smoothing=0.0),
        segment=dict(type='SegmentLoss', margin=1.0),
        perceptual=None,
    ),
    # Weight of each generator/recognizer term; 0 drops it. Residual terms
    # (landmark) are weighted by their name.
    loss_weights=dict(gan=1.0, l1=10.0, cls=1.0, segment=1.0, landmark=1.0),
    disc_steps=1,
    gen_steps=1,
)
