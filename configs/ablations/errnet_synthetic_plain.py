# Ablation, row 1: plain encoder classifier (no removal, no residual, no segment loss).
_base_ = ['../errnet_synthetic.py']
model = dict(
    decoder=None,
    discriminator=None,
    residuals=[],
    use_segments_in_head=False,
    use_encoder_features_in_head=True,
    loss_weights=dict(gan=0.0, l1=0.0, segment=0.0, landmark=0.0),
)
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    recognizer=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
)
