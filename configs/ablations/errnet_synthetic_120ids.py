# Ablation, data: the full ERR-Net on 120 synthetic identities (about CK+'s 118 subjects)
# instead of 480, for the same number of steps (4x the epochs); compare with
# ../baselines/timm_classifier_synthetic_120ids.py. Fewer people make identity
# overfitting, which removal is meant to counter, matter more.
_base_ = ['../errnet_synthetic.py']

num_identities = 120
# In the checkout's data/, wherever errkit runs from ({{ fileDirname }}: this folder).
data_root = '{{ fileDirname }}/../../data/synthetic_ckplus_120'
_data = dict(data_root=data_root, num_identities=num_identities)
train_dataloader = dict(dataset=_data)
val_dataloader = dict(dataset=_data)
test_dataloader = val_dataloader

max_epochs = 24
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=12)
