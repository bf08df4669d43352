# ERR-Net on JAFFE-style flat folder (KA.HA1.29.tiff), data/jaffe.
# The pattern-folder dataset reads subject, label (and sequence/frame) from file names;
# see configs/_base_/datasets/jaffe.py for the pattern and label map.
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/jaffe.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]
model = dict(num_classes=_base_.num_classes)
