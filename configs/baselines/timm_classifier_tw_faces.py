# Plain timm classifier (no expression removal) on the Taiwanese real faces: the row ERR-Net
# is measured against. Same encoder, image size, augmentations, schedule and epochs as
# configs/errnet_tw_faces.py.
_base_ = [
    '../_base_/models/timm_classifier.py',
    '../_base_/datasets/tw_faces.py',
    '../_base_/schedules/adamw_cosine_15e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    model_name='resnet10t',
    num_classes=_base_.num_classes,
    data_preprocessor=dict(batch_augments=_base_.real_face_augments),
)
val_evaluator = [dict(type='ExpressionMetric')]
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=15, max_keep_ckpts=1))
