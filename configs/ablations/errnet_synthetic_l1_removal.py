# Ablation, removal loss: L1 to the true neutral only (no discriminator); compare with
# configs/errnet_synthetic.py (L1 plus a light adversarial term) and
# errnet_synthetic_adv_removal.py (pix2pix weights). The schedule's discriminator
# wrapper is skipped: the model has no discriminator.
_base_ = ['../errnet_synthetic.py']
model = dict(discriminator=None, losses=dict(gan_loss=None))
