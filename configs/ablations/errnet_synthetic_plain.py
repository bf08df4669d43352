# Ablation, row 1: the ERR-Net encoder as a plain classifier: no removal, no residual,
# no segment loss (the pooled deepest encoder features feed the head).
_base_ = ['../errnet_synthetic.py']
model = dict(
    decoder=None,
    discriminator=None,
    residuals=[],
    use_segments_in_head=False,
    use_encoder_features_in_head=True,
    loss_weights=dict(gan=0.0, l1=0.0, segment=0.0, landmark=0.0),
)
# No discriminator to optimise; the other two as in errnet_synthetic.py.
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper',
                   optimizer=dict(type='Adam', lr={{_base_.lr}}, betas=(0.5, 0.999))),
    recognizer=dict(type='OptimWrapper',
                    optimizer=dict(type='Adam', lr={{_base_.lr}}, betas=(0.5, 0.999))),
)
