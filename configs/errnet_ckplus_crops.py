# ERR-Net on CK+ crops in class folders (happiness/S010_006_00000015.png beside neutral/), data/ckplus_crops.
# The pattern-folder dataset reads subject, label (and sequence/frame) from file names;
# see configs/_base_/datasets/ckplus_crops.py for the pattern and label map.
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/ckplus_crops.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]
model = dict(num_classes=_base_.num_classes)
