"""The prepared-face cache: one ``.npz`` file of aligned faces per dataset.

:func:`errkit.datasets.prepare.prepare_dataset` writes it,
:class:`errkit.datasets.CachedFaceDataset` reads it. The file holds plain
arrays only (no pickles), so loading it runs no code:

==========================  ======================  ================================
key                         shape, dtype            meaning
==========================  ======================  ================================
``images``                  (N, S, S, C) uint8      aligned expressive faces
``landmarks``               (N, 68, 2) float32      their landmarks, crop coordinates
``neutral_index``           (N,) int64              row of ``neutrals``, -1 if none
``neutrals``                (M, S, S, C) uint8      aligned neutral faces (shared)
``neutral_landmarks``       (M, 68, 2) float32      their landmarks
``neutral_paths``           (M,) str                their source files
``gt_label``                (N,) int64              class index
``subject``, ``sequence``   (N,) str                identifiers
``frame``                   (N,) int64              frame number
``img_path``                (N,) str                source file of each face
``classes``                 (K,) str                class names
``has_landmarks``           (N,) bool               False: no face found, crop kept
``neutral_has_landmarks``   (M,) bool               the same for the neutral faces
``extra_label_names``       (E,) str                further label sets (e.g. ratings)
``extra_labels``            (N, E) int64            their class indices, -1 unknown
``meta``                    () str                  JSON: format version, size, ...
==========================  ======================  ================================

Faces kept without landmarks (``has_landmarks`` False) are centre-cropped and
resized instead of aligned, and their ``landmarks`` rows are zeros. Files of
format version 1 (without the last four keys) are read as faces that all have
landmarks and no further label sets.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from errkit.utils.atomic_io import atomic_open

__all__ = ["FaceCache", "FaceCacheError", "save_face_cache", "load_face_cache",
           "write_atomically", "CACHE_FORMAT_VERSION"]

#: Version of the file layout; a file of another version is refused.
CACHE_FORMAT_VERSION = 2
#: Older versions that are still read (the keys they lack take their defaults).
READABLE_VERSIONS = (1, 2)

PathLike = Union[str, os.PathLike]

_ARRAY_KEYS = ("images", "landmarks", "neutral_index", "neutrals", "neutral_landmarks",
               "neutral_paths", "gt_label", "subject", "sequence", "frame", "img_path")
#: Keys added in format version 2.
_V2_KEYS = ("has_landmarks", "neutral_has_landmarks", "extra_label_names", "extra_labels")


class FaceCacheError(ValueError):
    """A face cache file is missing, unreadable or inconsistent."""

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = str(path)
        super().__init__(f"face cache {self.path}: {reason}")


@dataclass
class FaceCache:
    """The arrays of one prepared dataset (see the module docstring).

    Args:
        images (np.ndarray): ``(N, S, S, C)`` uint8.
        landmarks (np.ndarray): ``(N, 68, 2)`` float32.
        neutral_index (np.ndarray): ``(N,)`` int64, -1 for no neutral.
        neutrals (np.ndarray): ``(M, S, S, C)`` uint8.
        neutral_landmarks (np.ndarray): ``(M, 68, 2)`` float32.
        neutral_paths (np.ndarray): ``(M,)`` str.
        gt_label (np.ndarray): ``(N,)`` int64.
        subject (np.ndarray): ``(N,)`` str.
        sequence (np.ndarray): ``(N,)`` str.
        frame (np.ndarray): ``(N,)`` int64.
        img_path (np.ndarray): ``(N,)`` str.
        classes (tuple[str, ...]): Class names. Defaults to ``()``.
        meta (dict): JSON-serialisable facts (``size``, ``color_type``,
            ``detector``, ...). Defaults to ``{}``.
        has_landmarks (np.ndarray, optional): ``(N,)`` bool. Defaults to
            None (all True).
        neutral_has_landmarks (np.ndarray, optional): ``(M,)`` bool. Defaults
            to None (all True).
        extra_label_names (np.ndarray, optional): ``(E,)`` str. Defaults to
            None (no further label sets).
        extra_labels (np.ndarray, optional): ``(N, E)`` int64. Defaults to
            None.
    """

    images: np.ndarray
    landmarks: np.ndarray
    neutral_index: np.ndarray
    neutrals: np.ndarray
    neutral_landmarks: np.ndarray
    neutral_paths: np.ndarray
    gt_label: np.ndarray
    subject: np.ndarray
    sequence: np.ndarray
    frame: np.ndarray
    img_path: np.ndarray
    classes: Tuple[str, ...] = ()
    meta: Dict[str, Any] = field(default_factory=dict)
    has_landmarks: Optional[np.ndarray] = None
    neutral_has_landmarks: Optional[np.ndarray] = None
    extra_label_names: Optional[np.ndarray] = None
    extra_labels: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        n, m = len(self.images), len(self.neutrals)
        if self.has_landmarks is None:
            self.has_landmarks = np.ones(n, dtype=bool)
        if self.neutral_has_landmarks is None:
            self.neutral_has_landmarks = np.ones(m, dtype=bool)
        if self.extra_label_names is None:
            self.extra_label_names = np.zeros(0, dtype=str)
        if self.extra_labels is None:
            self.extra_labels = np.zeros((n, len(self.extra_label_names)), dtype=np.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @classmethod
    def from_records(cls, samples: Sequence[dict], neutrals: Sequence[dict], size: int,
                     channels: int, classes: Sequence[str] = (),
                     meta: Dict[str, Any] = None) -> "FaceCache":
        """Stack per-face records into a cache.

        Args:
            samples (Sequence[dict]): Per expressive face: ``img`` (S, S, C),
                ``landmarks`` (None: no face found), ``neutral_index``,
                ``gt_label``, ``subject``, ``sequence``, ``frame``,
                ``img_path`` and optionally ``extra_labels`` (``{name: index}``).
            neutrals (Sequence[dict]): Per neutral face: ``img``,
                ``landmarks`` (or None), ``path``.
            size (int): ``S``, for empty lists.
            channels (int): ``C``, for empty lists.
            classes (Sequence[str]): Class names. Defaults to ``()``.
            meta (dict, optional): Extra facts. Defaults to ``None``.

        Returns:
            FaceCache: The stacked arrays.
        """
        def images(records):
            if not records:
                return np.zeros((0, size, size, channels), np.uint8)
            return np.stack([r["img"] for r in records]).astype(np.uint8, copy=False)

        def points(records):
            zeros = np.zeros((68, 2), np.float32)
            return np.asarray([zeros if r["landmarks"] is None else r["landmarks"]
                               for r in records], np.float32).reshape(-1, 68, 2)

        def found(records):
            return np.asarray([r["landmarks"] is not None for r in records], dtype=bool)

        names = sorted({k for r in samples for k in (r.get("extra_labels") or {})})
        extra = np.asarray([[int((r.get("extra_labels") or {}).get(k, -1)) for k in names]
                            for r in samples], dtype=np.int64).reshape(len(samples), len(names))

        def strings(records, key):
            return np.asarray([str(r[key]) for r in records], dtype=str)

        def ints(records, key):
            return np.asarray([int(r[key]) for r in records], dtype=np.int64)

        return cls(
            images=images(samples), landmarks=points(samples),
            neutral_index=ints(samples, "neutral_index"),
            neutrals=images(neutrals), neutral_landmarks=points(neutrals),
            neutral_paths=strings(neutrals, "path"), gt_label=ints(samples, "gt_label"),
            subject=strings(samples, "subject"), sequence=strings(samples, "sequence"),
            frame=ints(samples, "frame"), img_path=strings(samples, "img_path"),
            classes=tuple(str(c) for c in classes), meta=dict(meta or {}),
            has_landmarks=found(samples), neutral_has_landmarks=found(neutrals),
            extra_label_names=np.asarray(names, dtype=str), extra_labels=extra,
        )

    def validate(self, source: PathLike = "<memory>") -> None:
        """Check shapes, dtypes and cross-references.

        Args:
            source (str | PathLike): Named in the error. Defaults to
                ``'<memory>'``.

        Raises:
            FaceCacheError: Something is inconsistent (the message says what).
        """
        n, m = len(self.images), len(self.neutrals)
        checks = [
            (self.images.ndim == 4 and self.images.dtype == np.uint8
             and self.images.shape[1] == self.images.shape[2],
             f"'images' must be (N, S, S, C) uint8, got {self.images.shape} {self.images.dtype}"),
            (self.neutrals.dtype == np.uint8 and self.neutrals.shape[1:] == self.images.shape[1:],
             f"'neutrals' {self.neutrals.shape} does not match 'images' {self.images.shape}"),
            (self.landmarks.shape == (n, 68, 2),
             f"'landmarks' must be ({n}, 68, 2), got {self.landmarks.shape}"),
            (self.neutral_landmarks.shape == (m, 68, 2),
             f"'neutral_landmarks' must be ({m}, 68, 2), got {self.neutral_landmarks.shape}"),
            (self.neutral_paths.shape == (m,),
             f"'neutral_paths' must be ({m},), got {self.neutral_paths.shape}"),
        ]
        for key in ("neutral_index", "gt_label", "subject", "sequence", "frame", "img_path",
                    "has_landmarks"):
            shape = getattr(self, key).shape
            checks.append((shape == (n,), f"'{key}' must have shape ({n},), got {shape}"))
        e = len(self.extra_label_names)
        checks += [
            (self.neutral_has_landmarks.shape == (m,),
             f"'neutral_has_landmarks' must be ({m},), got {self.neutral_has_landmarks.shape}"),
            (self.extra_labels.shape == (n, e),
             f"'extra_labels' must be ({n}, {e}), got {self.extra_labels.shape}"),
        ]
        for ok, reason in checks:
            if not ok:
                raise FaceCacheError(source, reason)
        if n and (self.neutral_index.min() < -1 or self.neutral_index.max() >= m):
            raise FaceCacheError(source, f"'neutral_index' points outside the {m} neutral faces")
        if n and self.classes and (self.gt_label.min() < 0
                                   or self.gt_label.max() >= len(self.classes)):
            raise FaceCacheError(source, f"'gt_label' is outside 0..{len(self.classes) - 1}")


def write_atomically(path: PathLike, write: Callable[[IO], None], binary: bool = True) -> Path:
    """Deprecated: use :func:`errkit.utils.atomic_io.atomic_open`.

    Args:
        path (str | PathLike): Target file; its folder is created.
        write (Callable[[IO], None]): Writes the content to an open file.
        binary (bool): Open the file in binary mode. Defaults to ``True``.

    Returns:
        Path: ``path``.
    """
    warnings.warn("errkit.landmarks.face_cache.write_atomically is deprecated; use "
                  "errkit.utils.atomic_io.atomic_open", FutureWarning, stacklevel=2)
    with atomic_open(path, "wb" if binary else "w") as handle:
        write(handle)
    return Path(path)


def save_face_cache(cache: FaceCache, path: PathLike, compress: bool = True) -> Path:
    """Write ``cache`` atomically (:func:`errkit.utils.atomic_io.atomic_open`).

    Args:
        cache (FaceCache): The arrays; validated first.
        path (str | PathLike): Target file (``.npz`` by convention).
        compress (bool): Deflate the arrays. Defaults to ``True``.

    Returns:
        Path: ``path``.
    """
    path = Path(path)
    cache.validate(path)
    arrays = {key: getattr(cache, key) for key in _ARRAY_KEYS + _V2_KEYS}
    arrays["classes"] = np.asarray(cache.classes, dtype=str)
    meta = dict(cache.meta, format_version=CACHE_FORMAT_VERSION)
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    savez = np.savez_compressed if compress else np.savez
    with atomic_open(path, "wb") as handle:
        savez(handle, **arrays)
    return path


def load_face_cache(path: PathLike) -> FaceCache:
    """Read and validate a cache written by :func:`save_face_cache`.

    Args:
        path (str | PathLike): The cache file.

    Returns:
        FaceCache: The arrays.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        FaceCacheError: The file is not a face cache of this format version,
            lacks a key or is inconsistent.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"face cache {path} does not exist; write it with tools/prepare_data.py")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _ARRAY_KEYS + ("classes", "meta") if k not in data.files]
            if missing:
                raise FaceCacheError(path, f"not a face cache: keys {missing} are missing")
            arrays = {key: data[key] for key in _ARRAY_KEYS + _V2_KEYS if key in data.files}
            classes = tuple(str(c) for c in data["classes"])
            meta = json.loads(str(data["meta"]))
    except FaceCacheError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise FaceCacheError(path, f"cannot be read as an .npz file ({exc})") from exc
    version = meta.get("format_version")
    if version not in READABLE_VERSIONS:
        raise FaceCacheError(path, f"format version {version} is not one of the supported "
                             f"{list(READABLE_VERSIONS)}; prepare it again")
    lacking = [k for k in _V2_KEYS if k not in arrays]
    if version >= 2 and lacking:
        raise FaceCacheError(path, f"not a face cache of format {version}: keys {lacking} are "
                             "missing")
    cache = FaceCache(classes=classes, meta=meta, **arrays)
    cache.validate(path)
    return cache
