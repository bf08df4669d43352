# Expression removal on the Yale faces, starting from the ERR-Net that `make demo`
# trained on the synthetic faces (work_dirs/demo/epoch_6.pth: the same encoder, decoder
# and discriminator): thousands of synthetic expressions teach the warp back to the
# neutral face, the 60 real faces of a fold only adapt it. Layers whose shape differs
# (the 5-class latent and head) start afresh; mmengine reports them when it loads.
#   make demo
#   python tools/kfold.py configs/errnet_yale_faces_removal_pretrained.py --folds 5
_base_ = ['./errnet_yale_faces_removal.py']

load_from = 'work_dirs/demo/epoch_6.pth'

# The demo's face scale: 48-pixel crops aligned to the same canonical eyes.
img_size = 48
pipeline = [dict(type='AlignFace', size=img_size), dict(type='PackFERInputs')]
train_dataloader = dict(dataset=dict(pipeline=pipeline))
val_dataloader = dict(dataset=dict(pipeline=pipeline))
test_dataloader = val_dataloader

max_epochs = 40
optim_wrapper = dict(generator=dict(optimizer=dict(lr=2e-4)))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True,
         begin=max_epochs // 2, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=20)
default_hooks = dict(checkpoint=dict(interval=20, max_keep_ckpts=1))
