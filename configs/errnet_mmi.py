# ERR-Net on MMI (6 classes, 10-fold subject-independent; this file trains fold 0).
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/mmi.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]
model = dict(num_classes=_base_.num_classes)
