# Single-optimizer schedule for whole-image classifiers. NaNGuardOptimWrapper stops
# before an update whose loss is NaN/Inf (nan_policy='skip' skips such updates).
optim_wrapper = dict(
    type='NaNGuardOptimWrapper',
    nan_policy='stop',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
)
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=20, eta_min=1e-5),
]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
