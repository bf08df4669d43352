# Ablation, row 2: + expression removal and the pixel-level residual (no landmark
# residual, no segment loss).
_base_ = ['../errnet_synthetic.py']
model = dict(
    residuals=[dict(type='PixelResidual', feat_channels=32, num_stages=3, detach=True)],
    use_segments_in_head=False,
    losses=dict(segment=None),
)
