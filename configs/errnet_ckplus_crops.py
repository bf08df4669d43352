# ERR-Net on CK+ crops in class folders (happiness/S010_006_00000015.png beside neutral/),
# data/ckplus_crops: the common 48-pixel crops. Prepare their landmarks once, then run
# the subject-independent folds:
#   python tools/prepare_data.py configs/errnet_ckplus_crops.py
#   python tools/kfold.py configs/errnet_ckplus_crops.py --folds 10
# The model and schedule are those measured on real faces in docs/model.rst
# (configs/errnet_tw_faces.py).
_base_ = [
    './_base_/models/errnet_real_faces.py',
    './_base_/datasets/ckplus_crops.py',
    './_base_/schedules/errnet_adamw_cosine_15e.py',
    './_base_/default_runtime.py',
]
model = dict(
    num_classes=_base_.num_classes,
    data_preprocessor=dict(batch_augments=_base_.real_face_augments),
)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=15, max_keep_ckpts=1))
