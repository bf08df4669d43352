# Plain timm classifier (no expression removal) on the synthetic faces: the first row
# of the ablation table. Same encoder, data, batch augments, image size and epochs as
# configs/errnet_synthetic.py, so the two are compared like for like.
_base_ = [
    '../_base_/models/timm_classifier.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adam_cls.py',
    '../_base_/default_runtime.py',
]
model = dict(
    model_name='resnet10t',
    num_classes=_base_.num_classes,
    data_preprocessor=dict(batch_augments=[
        dict(type='PairedAugmentation', augmentations=[
            dict(type='RandomHorizontalFlip', p=0.5)]),
        dict(type='PhotometricJitter'),
    ]),
)

val_evaluator = [dict(type='ExpressionMetric')]
test_evaluator = val_evaluator

max_epochs = 6
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=3)
