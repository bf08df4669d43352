# Ablation: removal trained adversarially (conditional PatchGAN, LSGAN) plus L1; compare
# with errnet_synthetic_l1_removal.py.
_base_ = ['../errnet_synthetic.py']
model = dict(
    discriminator=dict(
        type='PatchDiscriminator', base_channels=64, num_layers=3, use_spectral_norm=True),
    losses=dict(gan_loss=dict(type='GANLoss', gan_type='lsgan')),
    loss_weights=dict(gan=1.0, l1=10.0),
)
