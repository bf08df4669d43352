# ERR-Net on errkit's embedded synthetic face set, with the LBP texture residual added
# to the pixel and landmark residuals.
#
# The base is errkit's own `errnet_synthetic.py`. mmengine resolves a relative `_base_`
# against this file's folder (inside the installed plugin), so the base's absolute path
# is looked up in errkit's config folders by `base_config_path` (mmengine evaluates the
# `_base_` expression; `__import__` is the only way to call a function there).
_base_ = __import__('errkit_lbp_residual').base_config_path('errnet_synthetic.py')

# Lists replace the base's list: the base's two residuals are repeated here.
model = dict(
    residuals=[
        dict(type='PixelResidual', feat_channels=32, num_stages=3),
        dict(type='LandmarkResidual', source='both', hidden_channels=128, out_channels=64,
             use_true_landmarks_in_training=False),
        dict(type='LBPResidual', radius=1.0, num_neighbours=8, temperature=0.05,
             mode='histogram', grid_size=4, num_bins=32, out_channels=64,
             texture_loss=True),
    ],
    # Dicts merge key by key: only the new term needs a weight.
    loss_weights=dict(lbp_texture=1.0),
)
