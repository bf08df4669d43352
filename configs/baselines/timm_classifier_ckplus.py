# Plain timm classifier (no expression removal) on CK+ fold 0 (10-fold, subject-independent).
_base_ = [
    '../_base_/models/timm_classifier.py',
    '../_base_/datasets/ckplus.py',
    '../_base_/schedules/adam_cls.py',
    '../_base_/default_runtime.py',
]
model = dict(num_classes=_base_.num_classes)
val_evaluator = [dict(type='ExpressionMetric')]
test_evaluator = val_evaluator
