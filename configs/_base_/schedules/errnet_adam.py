# ERR-Net schedule: one Adam for the generator and the recognizer (updated together),
# one for the discriminator (pix2pix settings); constant learning rate for the first
# half, then a linear decay. A variant without discriminator gets no discriminator
# wrapper (the constructor skips sub-networks the model sets to None).
# NaNGuardOptimWrapper stops before an update whose loss is NaN/Inf
# (nan_policy='skip' skips such updates). On a GPU, train in bfloat16 with
# type='NaNGuardAmpOptimWrapper', dtype='bfloat16' (or tools/train.py --amp).
max_epochs = 40
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='NaNGuardOptimWrapper', nan_policy='stop', modules=('generator', 'recognizer'),
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminator=dict(
        type='NaNGuardOptimWrapper', nan_policy='stop',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
)
# One list: applied to every optimizer of the dict.
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# Several processes (tools/train.py --launcher pytorch): one DistributedDataParallel
# per sub-network, since ERRNet.train_step updates them separately.
# find_unused_parameters=True: variants that switch a term off (a zero loss
# weight, disc_steps > 1) leave parameters without gradients in some updates,
# which DDP otherwise waits for; set it to False for a little speed only when
# every parameter gets a gradient in every update. On the CPU (gloo) also set
# model_wrapper_cfg.device_ids=None; see docs/tutorials/distributed.rst.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=True)
