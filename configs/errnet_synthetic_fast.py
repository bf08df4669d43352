# ERR-Net on the synthetic faces with the fast GPU path switched on. A delta on
# errnet_synthetic.py; every switch below needs CUDA to pay off (on the CPU use
# errnet_synthetic.py). Measure the effect with
#   python tools/benchmark.py --device cuda --amp --channels-last [--compile]
_base_ = ['./errnet_synthetic.py']

# bfloat16 autocast: NaNGuardAmpOptimWrapper per wrapper. bf16 needs no loss scaling,
# but mmengine 0.10.7 keeps a GradScaler for every dtype, whose inf check reads a
# flag on the host once per optimizer step (twice per iteration). Fused Adam: one
# kernel per parameter group instead of one per tensor (CUDA only: remove `fused=True`
# to run on the CPU).
_adam = dict(type='Adam', lr=2e-4, betas=(0.5, 0.999), fused=True)
optim_wrapper = dict(
    generator=dict(type='NaNGuardAmpOptimWrapper', dtype='bfloat16', optimizer=_adam),
    discriminator=dict(type='NaNGuardAmpOptimWrapper', dtype='bfloat16', optimizer=_adam),
)

# channels_last: the preprocessor hands the convolutions NHWC image tensors
# (tensor-core friendly); with bf16 cuDNN then picks NHWC kernels throughout.
model = dict(data_preprocessor=dict(channels_last=True))

# GPU-side augmentation: read faces aligned once by tools/prepare_data.py from a
# CachedFaceDataset (no decoding or alignment per sample, so the DataLoader only
# packs arrays), and let the data preprocessor augment whole batches on the
# device with kornia (batch_augments run in training only, after the batch is on
# the GPU):
#   train_dataloader = dict(num_workers=4, persistent_workers=True, pin_memory=True,
#       dataset=dict(type='CachedFaceDataset', cache_file='data/cache/synthetic_64.npz',
#                    fold=0, num_folds=5, split='train',
#                    pipeline=[dict(type='PackFERInputs')]))
#   model = dict(data_preprocessor=dict(channels_last=True, batch_augments=[
#       dict(type='PairedAugmentation', augmentations=[
#           dict(type='RandomHorizontalFlip', p=0.5),
#           dict(type='RandomAffine', degrees=10, translate=(0.05, 0.05),
#                scale=(0.9, 1.1), p=1.0)]),
#       dict(type='PhotometricJitter')]))
train_dataloader = dict(batch_size=256, num_workers=4, persistent_workers=True,
                        pin_memory=True)

# torch.compile: mmengine 0.10.7's Runner compiles `model.train_step` after
# wrapping when the config has `compile` (True, or torch.compile's keyword
# arguments). ERRNet.train_step holds Python control flow and optimizer steps, so
# expect graph breaks and a long first iteration; off by default:
# compile = dict(backend='inductor', mode='max-autotune-no-cudagraphs')

# Several GPUs: see docs/tutorials/distributed.rst (model_wrapper_cfg is already in
# the ERR-Net schedule base).
env_cfg = dict(cudnn_benchmark=True)
