# Ablation, row 3: + the landmark-level residual (pixel and landmark residuals, no
# segment loss). Row 4, + the segment loss and segment activations in the head, is the
# full model: configs/errnet_synthetic.py.
_base_ = ['../errnet_synthetic.py']
model = dict(
    use_segments_in_head=False,
    losses=dict(segment=None),
)
