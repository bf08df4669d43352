"""Write the procedural synthetic face set to disk in the CK+ layout.

Every identity performs every expression once (or ``sequences_per_expression``
times) as a sequence going from its neutral face (frame 1) to the peak
(the last frames), with its exact 68 landmarks in every frame, so
:class:`errkit.datasets.CKPlusDataset` reads the set like the real CK+ and the
first frame of each sequence is the exact neutral ground truth of its peak.

The set is written once: :func:`generate_synthetic_ckplus` keeps a
``synthetic_meta.json`` (config and its hash) at the root and does nothing
when it matches; other parameters regenerate the set. The set is built in a
temporary sibling folder and moved into place, so an interrupted run never
leaves a half-written set behind.
"""
import dataclasses
import hashlib
import json
import os
import shutil
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple, Union

import numpy as np
from mmengine.logging import print_log
from tqdm import tqdm

from errkit.synthetic.ckplus_writer import write_ckplus_sequence
from errkit.synthetic.expressions import EXPRESSIONS, expression_displacement
from errkit.synthetic.identity import sample_identity
from errkit.synthetic.renderer import FaceRenderer

#: Version of the generator's drawing; part of the cache hash, so a changed
#: generator rewrites old sets.
GENERATOR_VERSION = 1
#: Name of the file holding the config and hash of a generated set.
META_FILE = 'synthetic_meta.json'
_WRITER_THREADS = 8


@dataclass(frozen=True)
class SyntheticFaceConfig:
    """Parameters of the synthetic face set.

    Args:
        num_identities (int): number of people (subjects ``S001``...).
            Defaults to 60.
        frames_per_sequence (int): frames from neutral to peak, at least 2.
            Defaults to 8.
        image_size (int): side of the square images in pixels. Defaults to 128.
        color (bool): RGB images when True, grey otherwise (like most of
            CK+). Defaults to False.
        seed (int): seed of everything random. Defaults to 0.
        expressions (tuple[str, ...]): expressions performed, from
            :data:`errkit.synthetic.expressions.EXPRESSIONS`. Defaults to all 7.
        sequences_per_expression (int): sequences of each expression per
            identity. Defaults to 1.
        intensity_range (tuple[float, float]): range of the peak intensity of
            a sequence. Defaults to (0.8, 1.1).
        pose (float): scale of the head-pose variation between identities.
            Defaults to 1.0.
        shape_variation (float): scale of the face-shape variation between
            identities. Defaults to 1.0.
        resting (float): scale of the resting-face variation between
            identities (see :func:`errkit.synthetic.identity.sample_resting_face`).
            Defaults to 1.0.
        noise (float): standard deviation of the sensor noise in grey levels.
            Defaults to 1.0.
        supersample (int): drawing resolution factor. Defaults to 2.
    """

    num_identities: int = 60
    frames_per_sequence: int = 8
    image_size: int = 128
    color: bool = False
    seed: int = 0
    expressions: Tuple[str, ...] = EXPRESSIONS
    sequences_per_expression: int = 1
    intensity_range: Tuple[float, float] = (0.8, 1.1)
    pose: float = 1.0
    shape_variation: float = 1.0
    resting: float = 1.0
    noise: float = 1.0
    supersample: int = 2

    def __post_init__(self):
        object.__setattr__(self, 'expressions', tuple(self.expressions))
        object.__setattr__(self, 'intensity_range', tuple(float(v) for v in self.intensity_range))
        checks = (
            (self.num_identities >= 1, 'num_identities must be >= 1'),
            (self.frames_per_sequence >= 2, 'frames_per_sequence must be >= 2'),
            (self.image_size >= 16, 'image_size must be >= 16'),
            (self.sequences_per_expression >= 1, 'sequences_per_expression must be >= 1'),
            (len(self.expressions) > 0, 'expressions must not be empty'),
            (set(self.expressions) <= set(EXPRESSIONS),
             f'expressions must be taken from {EXPRESSIONS}'),
            (len(self.intensity_range) == 2 and
             0 < self.intensity_range[0] <= self.intensity_range[1],
             'intensity_range must be (low, high) with 0 < low <= high'),
            (self.supersample >= 1, 'supersample must be >= 1'),
            (self.noise >= 0, 'noise must be >= 0'),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(f'SyntheticFaceConfig: {message}, got {self}')

    def to_dict(self) -> dict:
        """The config as plain JSON-ready values."""
        data = dataclasses.asdict(self)
        data['expressions'] = list(self.expressions)
        data['intensity_range'] = list(self.intensity_range)
        return data

    def digest(self) -> str:
        """SHA-256 of the config and :data:`GENERATOR_VERSION`."""
        text = json.dumps({'version': GENERATOR_VERSION, 'config': self.to_dict()},
                          sort_keys=True)
        return hashlib.sha256(text.encode('utf-8')).hexdigest()


def ramp(num_frames: int) -> np.ndarray:
    """Expression intensity of each frame of a sequence, 0 at frame 1.

    A smooth step from the neutral first frame to the peak reached at the
    second-to-last frame, so the last frames (the CK+ peak frames) sit at or
    near the peak.

    Args:
        num_frames (int): frames in the sequence, at least 2.

    Returns:
        np.ndarray: float32 ``(num_frames,)`` in ``[0, 1]``.

    Examples:
        >>> ramp(4).tolist()
        [0.0, 0.5, 1.0, 1.0]
    """
    t = np.clip(np.arange(num_frames) / max(1, num_frames - 2), 0, 1)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def subject_name(index: int) -> str:
    """CK+-style subject name of the 0-based identity ``index`` (``S001``...)."""
    return f'S{index + 1:03d}'


def render_identity(config: SyntheticFaceConfig, index: int):
    """Render every sequence of one identity.

    Args:
        config (SyntheticFaceConfig): the set's parameters.
        index (int): 0-based identity index.

    Yields:
        tuple: ``(sequence, expression, frames, landmarks)`` per sequence,
        ``sequence`` being the 1-based sequence number, ``frames`` a list of
        uint8 images and ``landmarks`` a list of float32 ``(68, 2)`` arrays.
    """
    ident_rng = np.random.default_rng(np.random.SeedSequence([config.seed, index, 0]))
    seq_rng = np.random.default_rng(np.random.SeedSequence([config.seed, index, 1]))
    identity = sample_identity(ident_rng, pose=config.pose,
                               shape_variation=config.shape_variation, resting=config.resting)
    renderer = FaceRenderer(identity, config.image_size, config.supersample, config.color)
    plan = [e for e in config.expressions for _ in range(config.sequences_per_expression)]
    order = seq_rng.permutation(len(plan))
    levels = ramp(config.frames_per_sequence)
    for number, position in enumerate(order, start=1):
        expression = plan[position]
        peak = seq_rng.uniform(*config.intensity_range)
        side = 'right' if seq_rng.random() < 0.5 else 'left'
        full = expression_displacement(expression, 1.0, identity.style,
                                       side=side, rng=seq_rng)
        frames, landmarks = [], []
        for level in levels:
            points = identity.project(identity.shape + float(peak * level) * full,
                                      config.image_size)
            frames.append(renderer.render(points, seq_rng, config.noise))
            landmarks.append(points)
        yield number, expression, frames, landmarks


def _read_meta(root: Path):
    try:
        return json.loads((root / META_FILE).read_text())
    except (OSError, ValueError):
        return None


def describe_generation(root: Union[str, os.PathLike], config: SyntheticFaceConfig,
                        replacing: bool = False) -> str:
    """What :func:`generate_synthetic_ckplus` is about to write, and where, in one line.

    Args:
        root (str | PathLike): The set's folder (shown absolute).
        config (SyntheticFaceConfig): Its parameters.
        replacing (bool): A set with other parameters is there and is replaced.
            Defaults to False.

    Returns:
        str: The line.
    """
    sequences = config.num_identities * len(config.expressions) * config.sequences_per_expression
    images = sequences * config.frames_per_sequence
    why = ('replacing the synthetic set there, made with other parameters' if replacing
           else 'no synthetic set there yet')
    return (f'writing the synthetic face set: {config.num_identities} identities, {images} '
            f'images of {config.image_size} px, to {Path(root).expanduser().resolve()} ({why}; '
            'pass --data-root to use a set written before)')


def generate_synthetic_ckplus(root: Union[str, os.PathLike],
                              config: SyntheticFaceConfig = SyntheticFaceConfig(),
                              progress: bool = True) -> Path:
    """Write the synthetic face set under ``root`` in the CK+ layout (cached).

    Does nothing when ``root/synthetic_meta.json`` holds the same config
    hash. Otherwise it logs what it writes where (:func:`describe_generation`,
    the absolute folder), and the set is written into a temporary sibling folder and
    moved to ``root``, replacing an older synthetic set there. A ``root``
    that exists, is not empty and holds no ``synthetic_meta.json`` (real data,
    say) is never touched.

    Args:
        root (str | PathLike): folder of the set.
        config (SyntheticFaceConfig): parameters. Defaults to the defaults of
            :class:`SyntheticFaceConfig`.
        progress (bool): show a tqdm progress bar. Defaults to True.

    Returns:
        Path: ``root``.

    Raises:
        FileExistsError: ``root`` holds something other than a synthetic set.
    """
    root = Path(root).expanduser()
    digest = config.digest()
    meta = _read_meta(root)
    if meta is not None and meta.get('hash') == digest:
        return root
    if root.exists() and meta is None and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(
            f'{root} exists and holds no {META_FILE}: it is not a synthetic face set, '
            'so it is left alone; choose another folder for the synthetic set')
    print_log(describe_generation(root, config, replacing=meta is not None), logger='current')
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / f'.{root.name}.tmp-{uuid.uuid4().hex[:8]}'
    try:
        tmp.mkdir()
        indices = range(config.num_identities)
        if progress:
            indices = tqdm(indices, desc=f'synthetic faces -> {root.resolve()}', unit='identity')
        # Files are written by a few threads (the writer syncs every file to
        # disk, which waits on I/O, not on the CPU) while this thread draws.
        with ThreadPoolExecutor(_WRITER_THREADS) as pool:
            pending = deque()
            for index in indices:
                subject = subject_name(index)
                for number, expression, frames, landmarks in render_identity(config, index):
                    pending.append(pool.submit(write_ckplus_sequence, tmp, subject, number,
                                               frames, EXPRESSIONS.index(expression) + 1,
                                               landmarks))
                    while len(pending) > 4 * _WRITER_THREADS:
                        pending.popleft().result()
            while pending:
                pending.popleft().result()
        (tmp / META_FILE).write_text(json.dumps(
            {'generator': 'errkit.synthetic', 'version': GENERATOR_VERSION,
             'hash': digest, 'config': config.to_dict()}, indent=2, sort_keys=True))
        _move_into_place(tmp, root, digest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _move_into_place(tmp: Path, root: Path, digest: str) -> None:
    old = None
    if root.exists():
        meta = _read_meta(root)
        if meta is not None and meta.get('hash') == digest:
            return  # written meanwhile by another process
        old = root.parent / f'.{root.name}.old-{uuid.uuid4().hex[:8]}'
        os.replace(root, old)
    os.replace(tmp, root)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
