# ERR-Net on CK+ (7 classes, 10-fold subject-independent; this file trains fold 0).
# Other folds: --cfg-options train_dataloader.dataset.fold=K val_dataloader.dataset.fold=K
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/ckplus.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]
model = dict(num_classes=_base_.num_classes)
