# ERR-Net on the embedded synthetic face set: trains in minutes, no download.
_base_ = [
    './_base_/models/errnet.py',
    './_base_/datasets/synthetic.py',
    './_base_/schedules/errnet_adam.py',
    './_base_/default_runtime.py',
]
