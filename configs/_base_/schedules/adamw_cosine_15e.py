# Short schedule for small real-face sets, shared by ERR-Net and the plain classifier so
# that the two compare like for like: AdamW, a linear warm-up over the first 2 epochs,
# then cosine annealing to 1/1000 of the peak, both per iteration.
max_epochs = 15
lr = 1e-3
warmup_epochs = 2
optim_wrapper = dict(
    type='NaNGuardOptimWrapper',
    nan_policy='stop',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=1e-4),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.04, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=lr * 1e-3,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
