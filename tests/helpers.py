"""Fixture writers shared by several test packages."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from errkit.synthetic.ckplus_writer import write_ckplus_sequence


def write_bar_ckplus(root: Path, subjects: int = 10, size: int = 24, frames: int = 4,
                     offsets: Sequence[int] = (0, 2, 4), row_step: int = 3,
                     bar_height: int = 2) -> None:
    """A tiny CK+ tree in the official layout: per subject a noise texture (the
    identity) and one labelled sequence per offset, whose expression is a white bar
    whose row tells the class (CK+ code ``1 + (subject + offset) % 7``)."""
    rng = np.random.default_rng(0)
    for s in range(subjects):
        base = rng.integers(60, 200, size=(size, size)).astype(np.uint8)
        for q, offset in enumerate(offsets):
            code = 1 + (s + offset) % 7
            seq = []
            for f in range(frames):
                img = base.copy()
                if f > 0:
                    img[row_step * code: row_step * code + bar_height, 2:-2] = 255
                seq.append(img)
            write_ckplus_sequence(root, f"S{s + 1:03d}", q + 1, seq, label=code)


#: Config lines that evaluate and test tiny models on 64 px grey faces, whatever the
#: base config's own image size.
TINY_PIPELINE = (
    "tiny_pipeline = [dict(type='LoadFaceImages', color_type='grey'),\n"
    "                 dict(type='AlignFace', size=64), dict(type='PackFERInputs')]\n"
    "val_dataloader = dict(dataset=dict(pipeline=tiny_pipeline))\n"
    "test_dataloader = dict(dataset=dict(pipeline=tiny_pipeline))\n")
