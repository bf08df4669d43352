# Ablation: + segment interpretation (pixel and landmark residuals, segment loss, segment
# activations fused in the head): the full ERR-Net.
_base_ = ['../errnet_synthetic.py']
model = dict(
    use_segments_in_head=True,
    loss_weights=dict(segment=1.0),
)
