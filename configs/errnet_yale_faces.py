# ERR-Net on the Yale faces (SS_condition.png; research use only, never shipped), ../shared/data/yale_faces.
# The pattern-folder dataset reads subject, label (and sequence/frame) from file names;
# see configs/_base_/datasets/yale_faces.py for the pattern and label map.
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/yale_faces.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]
model = dict(num_classes=_base_.num_classes)
