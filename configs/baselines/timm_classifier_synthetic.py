# Plain timm classifier (no expression removal) on the synthetic faces: the first row
# of the ablation table. Same encoder, data, image size and epochs as
# configs/errnet_synthetic.py, so the two are compared like for like.
_base_ = [
    '../_base_/models/timm_classifier.py',
    '../_base_/datasets/synthetic.py',
    '../_base_/schedules/adam_cls.py',
    '../_base_/default_runtime.py',
]
model = dict(model_name='resnet10t')

synthetic = dict(num_identities=240, frames_per_sequence=8, image_size=128, seed=0,
                 color=False, progress=True)
data_root = 'data/synthetic_ckplus_240'
img_size = 48
pipeline = [
    dict(type='LoadFaceImages', color_type='grey'),
    dict(type='AlignFace', size=img_size),
    dict(type='PackFERInputs'),
]
train_dataloader = dict(dataset=dict(data_root=data_root, **synthetic, pipeline=pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, **synthetic, pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='ExpressionMetric')]
test_evaluator = val_evaluator

max_epochs = 12
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
