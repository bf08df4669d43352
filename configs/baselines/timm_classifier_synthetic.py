# Plain timm classifier (no expression removal) on the synthetic faces: the first row
# of the ablation table.
_base_ = [
    '../_base_/models/timm_classifier.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adam_cls.py',
    '../_base_/default_runtime.py',
]
model = dict(model_name='resnet18')
val_evaluator = [dict(type='ExpressionMetric')]
test_evaluator = val_evaluator
