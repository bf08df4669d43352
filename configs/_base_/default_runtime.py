# Runtime settings shared by every errkit config.
default_scope = 'errkit'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook with atomic writes: a killed run never leaves a
    # truncated checkpoint for --resume to pick (errkit.engine.hooks).
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2),
    # Stops on a NaN/Inf loss term before a checkpoint can save it; the models
    # guard their own updates too (model.nan_policy='stop' | 'skip').
    nan_guard=dict(type='NaNGuardHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
