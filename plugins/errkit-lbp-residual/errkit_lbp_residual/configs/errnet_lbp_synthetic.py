# ERR-Net on errkit's embedded synthetic face set, with the LBP texture residual added
# to the pixel and landmark residuals.
#
# The base is errkit's own `errnet_synthetic.py`. mmengine resolves a relative `_base_`
# against this file's folder (inside the installed plugin), so the base's absolute path
# is looked up in errkit's config folders by `base_config_path` (mmengine evaluates the
# `_base_` expression; `__import__` is the only way to call a function there).
_base_ = __import__('errkit_lbp_residual').base_config_path('errnet_synthetic.py')

# The base's residuals, unchanged, plus the LBP residual (its texture term weighted
# by texture_loss_weight).
model = dict(
    residuals=_base_.model.residuals + [
        dict(type='LBPResidual', radius=1.0, num_neighbours=8, temperature=0.05,
             mode='histogram', grid_size=4, num_bins=32, out_channels=64,
             texture_loss=True, texture_loss_weight=1.0),
    ],
)
