# The shared 15-epoch AdamW schedule for ERR-Net: one optimizer for generator and
# recognizer (the shared schedule), pix2pix's Adam for the discriminator, decayed over
# the second half.
_base_ = ['./adamw_cosine_15e.py']
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='NaNGuardOptimWrapper', nan_policy='stop',
                   modules=('generator', 'recognizer'), optimizer=_base_.optim_wrapper.optimizer),
    discriminator=dict(type='NaNGuardOptimWrapper', nan_policy='stop',
                       optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
)
param_scheduler = dict(
    _delete_=True,
    generator=_base_.param_scheduler,
    discriminator=[dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True,
                        begin=_base_.max_epochs // 2, end=_base_.max_epochs)],
)
