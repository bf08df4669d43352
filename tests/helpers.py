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


def write_png_bomb(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A valid 1-bit black PNG of ``width x height`` that takes a few dozen KB on disk.

    Written row by row through zlib, so writing it never holds the image in memory.
    """
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed bits
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, grey
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                           chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return Path(path)


def sideways(upright: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera stores for ``upright`` under EXIF ``orientation`` 3, 6 or 8."""
    turns = {3: 2, 6: 1, 8: -1}  # quarter turns counter-clockwise (np.rot90)
    return np.ascontiguousarray(np.rot90(upright, turns[orientation]))


def save_with_orientation(path: Path, pixels: np.ndarray, orientation: int, **save_args) -> Path:
    """Save ``pixels`` with an EXIF Orientation tag (Pillow picks the format from the name)."""
    from PIL import Image

    img = Image.fromarray(pixels)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.save(path, exif=exif, **save_args)
    return Path(path)


class RunsCode:
    """Unpickling this runs ``touch MARKER`` through ``os.system``: what a malicious
    checkpoint does. A loader that refuses it leaves no marker file behind."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def write_malicious_checkpoint(path: Path, marker: Path, state_dict=None) -> Path:
    """An mmengine-shaped checkpoint whose unpickling would create ``marker``."""
    import torch

    torch.save({"meta": {"epoch": 1, "iter": 1}, "state_dict": dict(state_dict or {}),
                "message_hub": {}, "payload": RunsCode(marker)}, path)
    return Path(path)


def save_like_numpy1(obj, path: Path, rename=None) -> Path:
    """``torch.save`` ``obj`` as it is pickled under numpy 1.x.

    numpy 1.x names its array and scalar constructors ``numpy.core.multiarray``
    (numpy 2: ``numpy._core.multiarray``); the pickler writes those GLOBAL
    opcodes by hand for the two functions and leaves everything else as it is.
    ``rename`` maps further objects to the ``module.name`` written for them.
    """
    import pickle
    import types

    import numpy as np
    import torch

    core = getattr(np, "_core", None) or np.core
    renamed = {id(core.multiarray._reconstruct): b"numpy.core.multiarray\n_reconstruct\n",
               id(core.multiarray.scalar): b"numpy.core.multiarray\nscalar\n"}
    for target, dotted in (rename or {}).items():
        module_name, _, attr = dotted.rpartition(".")
        renamed[id(target)] = f"{module_name}\n{attr}\n".encode()

    class Numpy1Pickler(pickle._Pickler):
        def save_global(self, obj, name=None):
            if id(obj) in renamed and self.proto < 4:
                self.write(pickle.GLOBAL + renamed[id(obj)])
                self.memoize(obj)
                return
            super().save_global(obj, name)

    module = types.ModuleType("numpy1_pickle")
    module.Pickler = Numpy1Pickler
    torch.save(obj, path, pickle_module=module)
    return Path(path)
