# Ablation, row 1: the ERR-Net encoder as a plain classifier: no removal, no residual,
# no segment loss (the pooled deepest encoder features feed the head). The schedule's
# discriminator wrapper is skipped: the model has no discriminator.
_base_ = ['../errnet_synthetic.py']
model = dict(
    decoder=None,
    discriminator=None,
    residuals=[],
    use_segments_in_head=False,
    use_encoder_features_in_head=True,
    losses=dict(gan_loss=None, l1=None, segment=None),
)
