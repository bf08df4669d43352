# Ablation, removal loss: adversarial removal with pix2pix's weights (LSGAN weight 1,
# L1 weight 10) and the base PatchGAN (64 channels, 3 layers); compare with
# errnet_synthetic_l1_removal.py and configs/errnet_synthetic.py (L1 100, GAN 0.1).
_base_ = ['../errnet_synthetic.py']
model = dict(
    discriminator=dict(
        type='PatchDiscriminator', base_channels=64, num_layers=3, use_spectral_norm=True),
    losses=dict(gan_loss=dict(loss_weight=1.0), l1=dict(loss_weight=10.0)),
)
