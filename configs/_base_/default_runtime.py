# Runtime settings shared by every errkit config.
default_scope = 'errkit'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook with atomic writes: a killed run never leaves a
    # truncated checkpoint for --resume to pick (errkit.engine.hooks).
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2),
    # Names the NaN/Inf terms of updates that the optimizer wrappers skipped
    # (nan_policy='skip') and keeps them out of the logs; stops on a NaN/Inf term
    # of an unguarded update before a checkpoint can save it.
    nan_guard=dict(type='NaNGuardHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# Scalars, and the residual grids of ResidualVisualizationHook, go to local files
# (WORK_DIR/<timestamp>/vis_data) and to TensorBoard (`tensorboard --logdir WORK_DIR`).
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
# input | generated neutral | residual | true neutral for the first faces of each
# validation (models without a generated neutral are skipped).
custom_hooks = [dict(type='ResidualVisualizationHook', max_samples=8)]

log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
