# Ablation: + landmark-level residual (pixel and landmark residuals, no segment loss).
_base_ = ['../errnet_synthetic.py']
model = dict(
    use_segments_in_head=False,
    loss_weights=dict(segment=0.0),
)
