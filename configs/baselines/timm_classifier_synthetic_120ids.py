# The plain timm classifier on 120 synthetic identities for the same number of steps as
# timm_classifier_synthetic.py (4x the epochs); compare with
# ../ablations/errnet_synthetic_120ids.py.
_base_ = ['./timm_classifier_synthetic.py']

num_identities = 120
# In the checkout's data/, wherever errkit runs from ({{ fileDirname }}: this folder).
data_root = '{{ fileDirname }}/../../data/synthetic_ckplus_120'
_data = dict(data_root=data_root, num_identities=num_identities)
train_dataloader = dict(dataset=_data)
val_dataloader = dict(dataset=_data)
test_dataloader = val_dataloader

max_epochs = 24
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=12)
