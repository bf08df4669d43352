# Ablation, removal loss: L1 to the true neutral only (no discriminator); compare with
# configs/errnet_synthetic.py (L1 plus a light adversarial term) and
# errnet_synthetic_adv_removal.py (pix2pix weights).
_base_ = ['../errnet_synthetic.py']
model = dict(discriminator=None, loss_weights=dict(gan=0.0))
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(type='OptimWrapper',
                   optimizer=dict(type='Adam', lr={{_base_.lr}}, betas=(0.5, 0.999))),
    recognizer=dict(type='OptimWrapper',
                    optimizer=dict(type='Adam', lr={{_base_.lr}}, betas=(0.5, 0.999))),
)
