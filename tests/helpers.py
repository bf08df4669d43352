"""Plain helpers of errkit's tests: data trees, images, checkpoints and configs they write.

Fixtures live in the ``conftest.py`` files (the shared ones in ``tests/conftest.py``);
everything here is a plain function or constant, imported as ``from tests.helpers import``.
"""

from __future__ import annotations

import csv
import os
import pickle
import struct
import subprocess
import sys
import textwrap
import types
import zlib
from pathlib import Path
from pprint import pformat
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from PIL import Image

from errkit.cli.common import load_config
from errkit.models.errnet import DISCRIMINATOR, GENERATOR, ERRNet
from errkit.registry import MODELS
from errkit.structures import FERDataSample
from errkit.synthetic.ckplus_writer import write_ckplus_sequence

#: The checkout.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: The Yale faces beside the checkout (not part of it; tests that need them take the
#: ``yale_dir`` fixture, which skips when they are absent).
YALE_DIR = REPO_ROOT.parent / "shared" / "data" / "yale_faces"

#: The modules whose ``__all__`` is errkit's public API (plugins import only these).
PUBLIC_MODULES = [
    "errkit", "errkit.config", "errkit.registry", "errkit.plugin_manager", "errkit.structures",
    "errkit.datasets", "errkit.datasets.transforms", "errkit.datasets.batch_augments",
    "errkit.landmarks", "errkit.landmarks.detectors", "errkit.models",
    "errkit.models.encoders", "errkit.models.decoders", "errkit.models.discriminators",
    "errkit.models.residuals", "errkit.models.heads", "errkit.models.losses",
    "errkit.evaluation.metrics", "errkit.engine", "errkit.engine.hooks",
    "errkit.visualization", "errkit.apis", "errkit.synthetic",
]


# ---------------------------------------------------------------- fresh interpreters, plugins

def write_plugin_distribution(root: Path, dist: str, module: str, body: str,
                              api: Optional[str] = ">=1,<2", entry_name: Optional[str] = None,
                              extra_files: Optional[Dict[str, str]] = None) -> Path:
    """Write the source tree of a tiny plugin distribution; returns its folder."""
    src = root / dist
    pkg = src / module
    pkg.mkdir(parents=True)
    api_line = f"ERRKIT_PLUGIN_API = {api!r}\n" if api else ""
    (pkg / "__init__.py").write_text("import errkit\n" + api_line + textwrap.dedent(body))
    for name, text in (extra_files or {}).items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(textwrap.dedent(text))
    data = sorted({str(Path(n).parent / "*.py") for n in extra_files or {} if "/" in n})
    (src / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=64"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "0.3.1"

        [project.entry-points.errkit]
        {entry_name or module} = "{module}"

        [tool.setuptools]
        packages = ["{module}"]
        """))
    if data:
        with open(src / "pyproject.toml", "a") as f:
            f.write(f"\n[tool.setuptools.package-data]\n{module} = {data!r}\n".replace("'", '"'))
    return src


def pip_install_target(src: Path, target: Path) -> None:
    """``pip install`` a source tree into ``target`` (no network, no build isolation)."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(src)],
                   check=True, capture_output=True, text=True)


def run_python(code: str, pythonpath=(), env: Optional[Dict[str, str]] = None,
               check: bool = False) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with extra ``PYTHONPATH`` entries."""
    full_env = dict(os.environ)
    full_env.pop("ERRKIT_DISABLE_PLUGIN_AUTOLOAD", None)
    full_env.pop("ERRKIT_DISABLE_PLUGINS", None)
    full_env["PYTHONPATH"] = os.pathsep.join([str(p) for p in pythonpath] +
                                             [full_env.get("PYTHONPATH", "")])
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, check=check, cwd=str(REPO_ROOT))


# ---------------------------------------------------------------- dataset trees

FACE_SIZE = (12, 10)  # (H, W) of every fixture image


def face(seed: int, size: Tuple[int, int] = FACE_SIZE, channels: int = 0) -> np.ndarray:
    """A deterministic random uint8 image, grey (channels=0) or (H, W, channels)."""
    rng = np.random.default_rng(seed)
    shape = size if channels == 0 else (*size, channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def points(seed: int) -> np.ndarray:
    """Deterministic 68-point landmarks inside a FACE_SIZE image."""
    rng = np.random.default_rng(1000 + seed)
    return (rng.random((68, 2)) * [FACE_SIZE[1], FACE_SIZE[0]]).astype(np.float64)


#: (subject, sequence, number of frames, CK+ code or None, landmarks?)
CKPLUS_SPEC: List[Tuple[str, str, int, Optional[int], bool]] = [
    ("S005", "001", 5, 3, True),    # disgust
    ("S005", "002", 4, None, True),  # unlabelled
    ("S010", "001", 4, 5, True),    # happy
    ("S010", "004", 6, 2, True),    # contempt
    ("S011", "001", 4, 7, False),   # surprise, no landmark files
    ("S014", "002", 5, 1, True),    # anger
    ("S022", "001", 4, 6, True),    # sadness
    ("S026", "003", 4, 4, True),    # fear
    ("S032", "001", 4, 5, True),    # happy
]


def write_ckplus_tree(root: Path, spec=CKPLUS_SPEC) -> Dict[Tuple[str, str], dict]:
    """Write every sequence of ``spec``; returns frames/landmarks/files per sequence."""
    written = {}
    for index, (subject, sequence, n, code, with_lm) in enumerate(spec):
        frames = [face(100 * index + f) for f in range(n)]
        lms = [points(100 * index + f) for f in range(n)] if with_lm else None
        files = write_ckplus_sequence(root, subject, sequence, frames, code, lms)
        written[(subject, sequence)] = dict(frames=frames, landmarks=lms, files=files,
                                            code=code)
    return written


#: JAFFE-style names: (subject, raw label, repetition, image number).
JAFFE_SPEC = [
    ("KA", "NE", 1, 26), ("KA", "HA", 1, 29), ("KA", "SA", 2, 33),
    ("KL", "NE", 1, 155), ("KL", "HA", 3, 160), ("KL", "SU", 1, 164),
    ("KM", "NE", 2, 17), ("KM", "AN", 1, 23), ("KM", "DI", 1, 20),
    ("KR", "NE", 1, 38), ("KR", "FE", 1, 40), ("KR", "HA", 2, 42),
    ("MK", "HA", 1, 50),  # no neutral of MK
]
JAFFE_MAP = dict(AN="anger", DI="disgust", FE="fear", HA="happy", SA="sadness",
                 SU="surprise", NE="neutral")
JAFFE_CLASSES = ("anger", "disgust", "fear", "happy", "sadness", "surprise")


def write_jaffe(root: Path) -> Dict[str, np.ndarray]:
    """Write JAFFE-like TIFFs: odd ones grey 'L', even ones palette 'P'."""
    root.mkdir(parents=True, exist_ok=True)
    pixels = {}
    for index, (subject, label, rep, number) in enumerate(JAFFE_SPEC):
        name = f"{subject}.{label}{rep}.{number}.tiff"
        grey = face(index)
        if index % 2:
            Image.fromarray(grey, mode="L").save(root / name)
        else:  # a palette image whose palette maps index i to grey level i
            img = Image.fromarray(grey, mode="P")
            img.putpalette([v for i in range(256) for v in (i, i, i)])
            img.save(root / name)
        pixels[name] = grey
    (root / "README.txt").write_text("not an image")
    (root / "thumbs.png").write_bytes((root / name).read_bytes())  # does not match
    return pixels


def write_crops(root: Path) -> None:
    """CK+ crops in class folders with a neutral/ folder."""
    files = {
        "happiness": ["S010_006_00000015.png", "S011_002_00000009.png"],
        "anger": ["S010_004_00000019.png", "S014_001_00000030.png"],
        "surprise": ["S022_001_00000011.png"],
        "neutral": ["S010_001_00000001.png", "S010_006_00000001.png",
                    "S014_001_00000001.png", "S022_005_00000001.png"],
    }
    for index, (folder, names) in enumerate(files.items()):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for j, name in enumerate(names):
            Image.fromarray(face(10 * index + j)).save(root / folder / name)


def write_mmi(root: Path, subjects: Sequence[str] = ("1", "2", "3", "4"),
              landmarks: bool = True) -> Path:
    """Frames and a manifest: one sequence of 1 neutral + 2 peaks per subject."""
    rows = []
    labels = ["anger", "happy", "3", "surprise"]  # "3" is the class index of happy
    for i, subject in enumerate(subjects):
        sequence = f"{100 + i}"
        for role, frame in (("neutral", 0), ("peak", 20), ("peak", 21)):
            rel = f"frames/{sequence}/{sequence}_{frame:05d}.png"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(face(1000 * i + frame)).save(root / rel)
            row = dict(subject=subject, sequence=sequence, frame_path=rel,
                       label=labels[i % len(labels)], role=role, landmarks_path="")
            if landmarks:
                lm_rel = f"landmarks/{sequence}_{frame:05d}.txt"
                (root / lm_rel).parent.mkdir(parents=True, exist_ok=True)
                (root / lm_rel).write_text(
                    "".join("   %.7e   %.7e\n" % tuple(p) for p in points(frame)))
                row["landmarks_path"] = lm_rel
            rows.append(row)
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def assert_subject_independent_folds(build: Callable[..., object], num_folds: int) -> None:
    """For every fold: train and test share no subject; the test folds cover every
    sample exactly once; rebuilding a fold gives the same samples."""
    everything = build(fold=None, split="all")
    all_paths = sorted(everything.get_data_info(i)["img_path"] for i in range(len(everything)))
    tested: List[str] = []
    for fold in range(num_folds):
        train = build(fold=fold, split="train")
        test = build(fold=fold, split="test")
        assert set(train.subjects).isdisjoint(test.subjects), fold
        assert len(train) + len(test) == len(everything)
        paths = [test.get_data_info(i)["img_path"] for i in range(len(test))]
        assert paths == [build(fold=fold, split="test").get_data_info(i)["img_path"]
                         for i in range(len(test))]
        tested.extend(paths)
    assert sorted(tested) == all_paths


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


#: :func:`write_bar_ckplus` options of a 3-subject tree of 32 px faces, two sequences per
#: subject: data for runs that must only be real, not learn.
SMALL_CKPLUS = dict(subjects=3, size=32, frames=3, offsets=(0, 2), row_step=4, bar_height=3)


# ---------------------------------------------------------------- images and checkpoints

def write_png_bomb(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A valid 1-bit black PNG of ``width x height`` that takes a few dozen KB on disk.

    Written row by row through zlib, so writing it never holds the image in memory.
    """
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
        return (os.system, (f"touch {self.marker}",))


def write_malicious_checkpoint(path: Path, marker: Path, state_dict=None) -> Path:
    """An mmengine-shaped checkpoint whose unpickling would create ``marker``."""
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


#: The class names :func:`save_mmengine_checkpoint` records by default.
CHECKPOINT_CLASSES = ("c0", "c1", "c2", "c3", "c4", "c5", "c6")


def save_mmengine_checkpoint(config: Path, out: Path,
                             classes: Optional[Sequence[str]] = CHECKPOINT_CLASSES) -> Path:
    """A randomly initialised checkpoint of ``config``'s model in mmengine's layout
    (meta with ``dataset_meta.classes`` unless ``classes`` is None, state_dict,
    message_hub, optimizer)."""
    torch.manual_seed(0)
    model = MODELS.build(load_config(str(config)).model)
    hub = MessageHub.get_instance(f"tiny-{out.name}")
    hub.update_scalar("train/loss", 0.5)
    meta = dict(epoch=1, iter=10, seed=0, experiment_name="tiny")
    if classes is not None:
        meta["dataset_meta"] = dict(classes=tuple(classes))
    torch.save(dict(meta=meta, state_dict=model.state_dict(), message_hub=hub.state_dict(),
                    optimizer={}), out)
    return out


# ---------------------------------------------------------------- models and batches

#: Side of the images of :func:`make_fer_batch`.
FER_BATCH_SIDE = 32


def tiny_errnet_cfg(**overrides) -> dict:
    """A tiny ERR-Net's config (test_resnet encoder, pixel and landmark residuals, 3 classes)."""
    cfg = dict(
        encoder=dict(type="TimmEncoder", model_name="test_resnet", in_channels=1),
        latent=dict(type="SegmentLatent", segment_dim=4),
        decoder=dict(type="UNetResidualDecoder", base_channels=8),
        discriminator=dict(type="PatchDiscriminator", base_channels=8, num_layers=2),
        residuals=[dict(type="PixelResidual", feat_channels=8, num_stages=2),
                   dict(type="LandmarkResidual", hidden_channels=16, residual_channels=4,
                        embed_channels=16, out_channels=16)],
        num_classes=3)
    cfg.update(overrides)
    return cfg


def build_tiny_errnet(**overrides):
    """The :class:`~errkit.models.errnet.ERRNet` of :func:`tiny_errnet_cfg`."""
    return ERRNet(**tiny_errnet_cfg(**overrides))


def make_fer_batch(batch: int = 4, num_classes: int = 3, neutral: bool = True,
                   landmarks: bool = True, seed: int = 0) -> dict:
    """A dataloader batch as PackFERInputs and pseudo_collate produce it (grey
    :data:`FER_BATCH_SIDE` px faces, their neutral faces and landmarks)."""
    size = FER_BATCH_SIDE
    g = torch.Generator().manual_seed(seed)
    imgs = [torch.randint(0, 256, (1, size, size), generator=g, dtype=torch.uint8)
            for _ in range(batch)]
    neutrals = [torch.randint(0, 256, (1, size, size), generator=g, dtype=torch.uint8)
                for _ in range(batch)]
    base = torch.rand(68, 2, generator=g) * 16 + 8
    base[36:42] = torch.tensor([10.0, 12.0])
    base[42:48] = torch.tensor([22.0, 12.0])
    lms = [base + torch.randn(68, 2, generator=g) for _ in range(batch)]
    samples = [FERDataSample(metainfo=dict(has_neutral=neutral, has_landmarks=landmarks))
               .set_gt_label(i % num_classes) for i in range(batch)]
    return dict(inputs=dict(img=imgs, neutral=neutrals, landmarks=lms,
                            neutral_landmarks=[base.clone() for _ in range(batch)]),
                data_samples=samples)


def errnet_optim_wrappers(model, lr: float = 1e-3, cls=None, **kwargs):
    """ERR-Net's optimizer wrappers (Adam, pix2pix betas; ``cls`` defaults to OptimWrapper)."""
    parts = {GENERATOR: [*model.generator.parameters(), *model.recognizer.parameters()]}
    if model.discriminator is not None:
        parts[DISCRIMINATOR] = list(model.discriminator.parameters())
    return OptimWrapperDict(**{
        k: (cls or OptimWrapper)(optimizer=torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999)),
                                 **kwargs)
        for k, params in parts.items()})


# ---------------------------------------------------------------- configs

def tiny_pipeline(size: int) -> str:
    """The config line of ``tiny_pipeline``: grey faces aligned to ``size`` px."""
    return ("tiny_pipeline = [dict(type='LoadFaceImages', color_type='grey'),\n"
            f"                 dict(type='AlignFace', size={size}), dict(type='PackFERInputs')]\n")


#: Config lines that evaluate and test on the faces of ``tiny_pipeline``.
EVALUATE_ON_TINY_PIPELINE = ("val_dataloader = dict(dataset=dict(pipeline=tiny_pipeline))\n"
                             "test_dataloader = dict(dataset=dict(pipeline=tiny_pipeline))\n")

#: Config lines that evaluate and test tiny models on 64 px grey faces, whatever the
#: base config's own image size.
TINY_PIPELINE = tiny_pipeline(64) + EVALUATE_ON_TINY_PIPELINE


#: Residual branches of the tiny ERR-Nets.
PIXEL_RESIDUAL = dict(type="PixelResidual", feat_channels=8, num_stages=2)
LANDMARK_RESIDUAL = dict(type="LandmarkResidual", hidden_channels=16, embed_channels=16,
                         out_channels=16)


def errnet_fields(decoder_channels: int = 8, residuals: Sequence[dict] = (PIXEL_RESIDUAL,),
                **options) -> dict:
    """The ``model`` fields of a tiny ERR-Net (resnet10t, 4-dim segments, 8-channel
    decoder and discriminator) over an ERR-Net config; ``options`` are further fields."""
    return dict(encoder=dict(model_name="resnet10t"), latent=dict(segment_dim=4),
                decoder=dict(base_channels=decoder_channels),
                discriminator=dict(base_channels=8, num_layers=2),
                residuals=[dict(r) for r in residuals], **options)


def _assignments(**variables) -> str:
    """Config lines ``name = value`` (Python literals)."""
    return "".join(f"{name} = {pformat(value, width=92, sort_dicts=False)}\n"
                   for name, value in variables.items())


#: The synthetic set at its smallest (10 identities, 2 per fold, 3 frames per sequence),
#: for :func:`write_tiny_config`'s ``data``.
TINY_SYNTHETIC = """
_data = dict(num_identities=10, frames_per_sequence=3, image_size=48, num_peak_frames=2,
             progress=False, pipeline=tiny_pipeline)
train_dataloader = dict(batch_size=8, dataset=_data)
val_dataloader = dict(batch_size=8, dataset=_data)
test_dataloader = dict(batch_size=8, dataset=_data)
"""

#: CK+ (official layout, real loader) from the folder given by ``--data-root``, for
#: :func:`write_tiny_config`'s ``data``.
TINY_CKPLUS = """
_data = dict(num_peak_frames=2, num_folds=3, pipeline=tiny_pipeline)
train_dataloader = dict(batch_size=8, dataset=_data)
val_dataloader = dict(batch_size=8, dataset=_data)
test_dataloader = dict(batch_size=8, dataset=_data)
"""


def write_tiny_config(folder: Path, base: str = "errnet_synthetic.py", *,
                      data: Optional[str] = None, size: Optional[int] = None,
                      model: Union[dict, str, None] = None, name: Optional[str] = None) -> Path:
    """A leaf config over the shipped ``configs/<base>`` with a tiny network.

    Args:
        folder (Path): Where the config is written.
        base (str): The shipped config, relative to ``configs/``.
        data (str, optional): Dataloader lines for training (:data:`TINY_SYNTHETIC`,
            :data:`TINY_CKPLUS`); they read faces through ``tiny_pipeline`` (grey, aligned
            to ``size``, default 32), and the run keeps no visualisation hook and logs
            locally. Without it (inference, export): the base's data, evaluated and
            tested on faces aligned to ``size`` (default 64).
        model (dict | str, optional): The ``model`` fields, or the config's ``model = ...``
            lines as they are. Defaults to :func:`errnet_fields`.
        name (str, optional): The file name. Defaults to ``tiny_<base name>``.

    Returns:
        Path: The config file.
    """
    text = f"_base_ = [{str(REPO_ROOT / 'configs' / base)!r}]\n"
    text += model if isinstance(model, str) else _assignments(model=model or errnet_fields())
    if data is None:
        text += tiny_pipeline(size or 64) + EVALUATE_ON_TINY_PIPELINE
    else:
        text += (tiny_pipeline(size or 32) + "custom_hooks = []\n"
                 "visualizer = dict(type='Visualizer', "
                 "vis_backends=[dict(type='LocalVisBackend')])\n" + textwrap.dedent(data))
    path = Path(folder) / (name or f"tiny_{Path(base).name}")
    path.write_text(text)
    return path


def write_classifier_config(folder: Path, body: str = "", name: str = "cfg.py") -> Path:
    """The shipped CK+ classifier bases with a test-sized encoder, then ``body``; the CK+
    folder need not exist (for checks that end before any data is read)."""
    base = REPO_ROOT / "configs" / "_base_"
    path = Path(folder) / name
    path.write_text(textwrap.dedent(f"""
        _base_ = ['{base}/models/timm_classifier.py', '{base}/datasets/ckplus.py',
                  '{base}/schedules/adam_cls.py', '{base}/default_runtime.py']
        model = dict(model_name='test_resnet')
        """) + textwrap.dedent(body))
    return path


#: ``_base_`` files and ``model`` fields of :func:`write_run_config`'s models.
RUN_MODELS = {
    "classifier": (("models/timm_classifier.py", "schedules/adam_cls.py"),
                   dict(model_name="resnet10t", num_classes=7, in_channels=1)),
    "errnet": (("models/errnet.py", "schedules/errnet_adam.py"), errnet_fields()),
}


def _loader(batch_size: int, shuffle: bool, dataset: dict) -> dict:
    return dict(batch_size=batch_size, num_workers=0,
                sampler=dict(type="DefaultSampler", shuffle=shuffle),
                collate_fn=dict(type="pseudo_collate"), dataset=dataset)


def write_run_config(folder: Path, data_root: Path, *, name: str = "tiny.py",
                     model: str = "classifier", model_options: Optional[dict] = None,
                     align: Optional[int] = None, num_peak_frames: int = 2,
                     folds: Optional[Tuple[int, int]] = (0, 5),
                     val: Optional[dict] = None, repeat: Optional[int] = None,
                     batch_size: int = 8, val_batch_size: int = 16, max_epochs: int = 1,
                     max_keep_ckpts: Optional[int] = None, local_vis: bool = False,
                     seed: Optional[int] = 7, deterministic: bool = False,
                     **variables) -> Path:
    """A complete config of a short real run on a CK+ tree (see :func:`write_bar_ckplus`).

    The model's ``_base_`` files (``configs/_base_/models``, ``schedules``,
    ``default_runtime.py``) and grey faces of the tree, logged every iteration and
    checkpointed every epoch.

    Args:
        folder (Path): Where the config is written.
        data_root (Path): The CK+ tree.
        name (str): The file name. Defaults to ``'tiny.py'``.
        model (str): ``'classifier'`` (resnet10t, 7 classes) or ``'errnet'``
            (:func:`errnet_fields`). Defaults to ``'classifier'``.
        model_options (dict, optional): Fields that replace the model's.
        align (int, optional): Align the faces to this size. Defaults to None (as stored).
        num_peak_frames (int): Peak frames per sequence. Defaults to 2.
        folds (tuple, optional): ``(fold, num_folds)``: the fold trained
            (``split='train'``) and validated (``split='test'``). None: a config for
            k-fold and ablation runs, which set the fold themselves: one dataset, not
            serialized, tested with both metrics, no validation. Defaults to ``(0, 5)``.
        val (dict, optional): Fields that replace those of the validation dataset.
        repeat (int, optional): Wrap the training dataset in a ``RepeatDataset``.
        batch_size (int): Training batch. Defaults to 8.
        val_batch_size (int): Validation (or test) batch. Defaults to 16.
        max_epochs (int): Defaults to 1.
        max_keep_ckpts (int, optional): Checkpoints kept. Defaults to None (all).
        local_vis (bool): No visualisation hook; scalars logged locally only.
            Defaults to False (the runtime's hooks and backends).
        seed (int, optional): ``randomness.seed``; None sets no randomness.
        deterministic (bool): ``randomness.deterministic``. Defaults to False.
        **variables: Further top-level fields, written last (they replace those above).

    Returns:
        Path: The config file.
    """
    bases, model_cfg = RUN_MODELS[model]
    base = REPO_ROOT / "configs" / "_base_"
    pipeline = [dict(type="LoadFaceImages", color_type="grey"),
                *([dict(type="AlignFace", size=align)] if align else []),
                dict(type="PackFERInputs")]
    dataset = dict(type="CKPlusDataset", data_root=str(data_root),
                   num_peak_frames=num_peak_frames, pipeline=pipeline)
    if folds is None:
        dataset["serialize_data"] = False
        train_set = dataset if repeat is None else dict(type="RepeatDataset", times=repeat,
                                                        dataset=dataset)
        run = dict(train_dataloader=_loader(batch_size, True, train_set),
                   test_dataloader=_loader(val_batch_size, False, dataset),
                   test_evaluator=[dict(type="ExpressionMetric"), dict(type="RemovalMetric")],
                   val_dataloader=None, val_cfg=None, val_evaluator=None,
                   train_cfg=dict(max_epochs=max_epochs, val_interval=1))
    else:
        dataset.update(fold=folds[0], num_folds=folds[1])
        val_set = dict(dict(dataset, split="test"), **(val or {}))
        val_loader = _loader(val_batch_size, False, val_set)
        run = dict(train_dataloader=_loader(batch_size, True, dict(dataset, split="train")),
                   val_dataloader=val_loader, val_evaluator=dict(type="ExpressionMetric"),
                   test_dataloader=val_loader, test_evaluator=dict(type="ExpressionMetric"),
                   train_cfg=dict(max_epochs=max_epochs))
    checkpoint = dict(interval=1)
    if max_keep_ckpts is not None:
        checkpoint["max_keep_ckpts"] = max_keep_ckpts
    run["default_hooks"] = dict(logger=dict(interval=1), checkpoint=checkpoint)
    if local_vis:
        run.update(custom_hooks=[], visualizer=dict(
            type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]))
    if seed is not None:
        run["randomness"] = dict(seed=seed, **({"deterministic": True} if deterministic else {}))
    files = [f"{base}/{f}" for f in (*bases, "default_runtime.py")]
    text = _assignments(_base_=files, model=dict(model_cfg, **(model_options or {})),
                        pipeline=pipeline, dataset=dataset, **dict(run, **variables))
    path = Path(folder) / name
    path.write_text(text)
    return path
