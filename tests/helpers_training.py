"""Tiny real training runs shared by the tests of the CLI and of inference.

A tiny ERR-Net on 32-pixel faces trains on a tiny synthetic face set (10
identities) or on a tiny CK+ tree in seconds, through ``errkit train``.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: A tiny ERR-Net and 32-pixel grey faces, over a real config.
TINY_MODEL = """
tiny_pipeline = [dict(type='LoadFaceImages', color_type='grey'),
                 dict(type='AlignFace', size=32), dict(type='PackFERInputs')]
model = dict(encoder=dict(model_name='resnet10t'), latent=dict(segment_dim=4),
             decoder=dict(base_channels=8),
             discriminator=dict(base_channels=8, num_layers=2),
             residuals=[dict(type='PixelResidual', feat_channels=8, num_stages=2)])
custom_hooks = []
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
"""

#: The synthetic set at its smallest: 10 identities (2 per fold), 3 frames per sequence.
TINY_SYNTHETIC = """
_data = dict(num_identities=10, frames_per_sequence=3, image_size=48, num_peak_frames=2,
             progress=False, pipeline=tiny_pipeline)
train_dataloader = dict(batch_size=8, dataset=_data)
val_dataloader = dict(batch_size=8, dataset=_data)
test_dataloader = dict(batch_size=8, dataset=_data)
"""

#: CK+ (official layout, real loader, not synthetic) from a folder given by --data-root.
TINY_CKPLUS = """
_data = dict(num_peak_frames=2, num_folds=3, pipeline=tiny_pipeline)
train_dataloader = dict(batch_size=8, dataset=_data)
val_dataloader = dict(batch_size=8, dataset=_data)
test_dataloader = dict(batch_size=8, dataset=_data)
"""


def write_tiny_config(folder: Path, base: str = "errnet_synthetic.py",
                      data: str = TINY_SYNTHETIC, name: str = "tiny_errnet.py") -> Path:
    """A leaf config over ``configs/<base>`` with :data:`TINY_MODEL` and ``data``."""
    path = folder / name
    path.write_text(f"_base_ = [{str(REPO / 'configs' / base)!r}]\n" + TINY_MODEL + data)
    return path
