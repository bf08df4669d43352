# Ablation: removal trained by L1 to the true neutral only (no discriminator).
_base_ = ['../errnet_synthetic.py']
model = dict(discriminator=None, loss_weights=dict(gan=0.0))
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    recognizer=dict(
        type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
)
