# Full ERR-Net: U-Net residual generator with segmented latent, conditional PatchGAN
# (LSGAN), pixel and landmark residuals, segment loss. The number of classes is the
# dataset's: a leaf config sets model = dict(num_classes=_base_.num_classes).
model = dict(
    type='ERRNet',
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
        # its term loss_landmark is weighted by its own loss config (MaskedL1Loss, 1.0)
        dict(type='LandmarkResidual', source='both', hidden_channels=128, out_channels=64,
             use_true_landmarks_in_training=False),
    ],
    head=dict(type='LinearHead', dropout=0.2),
    use_segments_in_head=True,
    # Each term's weight is the loss_weight of its loss; None (or weight 0) drops it.
    losses=dict(
        gan_loss=dict(type='GANLoss', gan_type='lsgan', loss_weight=1.0),
        gradient_penalty=None,  # dict(type='GradientPenaltyLoss', loss_weight=10.0) for WGAN-GP
        l1=dict(type='MaskedL1Loss', loss_weight=10.0),
        cls=dict(type='CrossEntropyLoss', label_smoothing=0.0, loss_weight=1.0),
        segment=dict(type='SegmentLoss', margin=1.0, loss_weight=1.0),
        perceptual=None,
    ),
    disc_steps=1,
    gen_steps=1,
)
