"""Detect, align and cache every face of a dataset once, offline.

:func:`prepare_dataset` walks a dataset's ``data_list`` (the errkit data
contract), finds the 68 landmarks of each expressive face and of its neutral
reference, aligns both to a ``size x size`` crop (eyes on the canonical mean
shape) and writes everything into one :mod:`~errkit.landmarks.face_cache` file.

Next to the cache ``NAME.npz`` it writes ``NAME.summary.json`` (counts and
every face that was not found, with the reason) and, while running,
``NAME.partial.npz``: the progress so far, saved atomically every
``save_every`` samples and when the run is interrupted, and picked up by the
next run with the same inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.logging import print_log
from tqdm import tqdm

from errkit.datasets.io import read_image
from errkit.datasets.transforms.align_face import align_image
from errkit.landmarks.detectors.base_landmark_detector import (
    BaseLandmarkDetector,
    DetectorUnavailableError,
    build_landmark_detector,
)
from errkit.landmarks.alignment import LEFT_EYE_INDICES, RIGHT_EYE_INDICES
from errkit.landmarks.face_cache import (
    FaceCache,
    load_face_cache,
    save_face_cache,
)
from errkit.landmarks.mean_shape import canonical_landmarks
from errkit.registry import DATASETS
from errkit.utils.atomic_io import atomic_write_json

__all__ = ["prepare_dataset", "sidecar_paths", "pair_disagreement", "cache_source",
           "format_summary"]

PathLike = Union[str, os.PathLike]
DatasetLike = Union[dict, Sequence[dict], Any]


def sidecar_paths(out_file: PathLike) -> Tuple[Path, Path]:
    """The summary and partial-progress files that go with a cache file.

    Args:
        out_file (str | PathLike): The cache, e.g. ``data/cache/ckplus.npz``.

    Returns:
        tuple[Path, Path]: ``(ckplus.summary.json, ckplus.partial.npz)``.
    """
    out = Path(out_file)
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out.with_name(stem + ".summary.json"), out.with_name(stem + ".partial.npz")


def _data_list(dataset: DatasetLike, classes: Optional[Sequence[str]]):
    """``(data_list, classes, synthetic)`` of a dataset config, dataset object or list."""
    if isinstance(dataset, dict):
        cfg = dict(dataset, pipeline=[])
        dataset = DATASETS.build(cfg)
    if hasattr(dataset, "get_data_info"):
        dataset.full_init()
        items = [dataset.get_data_info(i) for i in range(len(dataset))]
        found = tuple(getattr(dataset, "metainfo", {}).get("classes", ()))
        synthetic = bool(getattr(dataset, "synthetic", False))
        return items, tuple(classes) if classes is not None else found, synthetic
    if isinstance(dataset, (list, tuple)):
        return list(dataset), tuple(classes or ()), False
    raise TypeError(
        "dataset must be a dataset config dict, a dataset with get_data_info() or a list "
        f"of data_list dicts, got {type(dataset).__name__}"
    )


def _fingerprint(items: List[dict], size: int, color_type: str, detector,
                 settings: Sequence[Any] = ()) -> str:
    digest = hashlib.sha1()
    digest.update(json.dumps([size, color_type, type(detector).__name__, list(settings)],
                             default=str).encode())
    for info in items:
        digest.update(f"{info['img_path']}\0{info.get('neutral_path')}\n".encode())
    return digest.hexdigest()


def _eye_frame(points: np.ndarray, shape: Tuple[int, int]) -> Tuple[np.ndarray, float]:
    """Eye midpoint and inter-ocular distance, as fractions of the image side."""
    side = float(min(shape[:2]))
    right = points[RIGHT_EYE_INDICES].mean(axis=0)
    left = points[LEFT_EYE_INDICES].mean(axis=0)
    return (right + left) / 2.0 / side, float(np.linalg.norm(left - right)) / side


def pair_disagreement(points: np.ndarray, shape: Tuple[int, int], neutral_points: np.ndarray,
                      neutral_shape: Tuple[int, int]) -> Tuple[float, float]:
    """How far a face's landmarks are from its neutral reference's, before alignment.

    Photos of one person taken with one camera set-up put the face at about the
    same place and scale; a detection on the background, or the wrong person's
    photo, does not. Both measures are relative to each image's shorter side,
    so crops of different sizes compare.

    Args:
        points (np.ndarray): ``(68, 2)`` landmarks of the expressive face.
        shape (tuple[int, int]): Its image's ``(H, W)``.
        neutral_points (np.ndarray): ``(68, 2)`` landmarks of the neutral face.
        neutral_shape (tuple[int, int]): Its image's ``(H, W)``.

    Returns:
        tuple[float, float]: The ratio of the inter-ocular distances (>= 1)
        and the distance between the eye midpoints in units of the neutral
        face's inter-ocular distance.

    Examples:
        >>> from errkit.landmarks.mean_shape import canonical_landmarks
        >>> face = canonical_landmarks(128)
        >>> pair_disagreement(face, (128, 128), face, (128, 128))
        (1.0, 0.0)
        >>> scale, shift = pair_disagreement(face * 0.5, (128, 128), face, (128, 128))
        >>> round(scale, 2), shift > 1
        (2.0, True)
    """
    centre, iod = _eye_frame(np.asarray(points, np.float64), shape)
    n_centre, n_iod = _eye_frame(np.asarray(neutral_points, np.float64), neutral_shape)
    if iod <= 0 or n_iod <= 0:
        return float("inf"), float("inf")
    scale = max(iod / n_iod, n_iod / iod)
    shift = float(np.linalg.norm(centre - n_centre)) / n_iod
    return round(scale, 6), round(shift, 6)


class _Run:
    """The state of one preparation run (what a partial file stores)."""

    def __init__(self, detector: BaseLandmarkDetector, size: int, color_type: str,
                 require_neutral: bool, keep_undetected: bool = False,
                 detect_min_size: int = 0, max_pair_scale: float = 1.5,
                 max_pair_shift: float = 1.0) -> None:
        self.detector = detector
        self.size = size
        self.color_type = color_type
        self.require_neutral = require_neutral
        self.keep_undetected = keep_undetected
        self.detect_min_size = int(detect_min_size)
        self.max_pair_scale = float(max_pair_scale)
        self.max_pair_shift = float(max_pair_shift)
        self.template = canonical_landmarks(size)
        self.samples: List[dict] = []
        self.neutrals: List[dict] = []
        self.neutral_lookup: Dict[str, int] = {}  # path -> row of neutrals, -1 if not found
        self.not_found: List[dict] = []
        self.disagreeing: List[dict] = []
        self.next_index = 0

    # ----------------------------------------------------------------- faces
    def _detect(self, img: np.ndarray, known) -> Optional[np.ndarray]:
        """Landmarks of ``img``; small images are upsampled for the detector."""
        side = min(img.shape[:2])
        factor = 1
        if self.detect_min_size and side < self.detect_min_size:
            factor = int(np.ceil(self.detect_min_size / side))
        if factor == 1 or known is not None:
            return self.detector.landmarks_for(img, known=known)
        big = cv2.resize(img, (img.shape[1] * factor, img.shape[0] * factor),
                         interpolation=cv2.INTER_CUBIC)
        points = self.detector.landmarks_for(big.reshape(big.shape[:2] + img.shape[2:]))
        # pixel centres: x_small = (x_big + 0.5) / factor - 0.5
        return None if points is None else (points + 0.5) / factor - 0.5

    def _face(self, path: str, known) -> Tuple[Optional[dict], str]:
        """The aligned face of one file (``img``, ``landmarks`` or None when kept
        without, the source ``points`` and ``shape``), or None and the reason."""
        try:
            img = read_image(path, self.color_type)
            points = self._detect(img, known)
        except DetectorUnavailableError:
            raise
        except Exception as exc:  # one bad file never stops the run
            return None, f"{type(exc).__name__}: {exc}"
        if points is None:
            if not self.keep_undetected:
                return None, self.detector.miss_reason
            aligned, _ = align_image(img, None, self.size, self.template)
            return {"img": aligned, "landmarks": None, "points": None,
                    "shape": img.shape[:2]}, self.detector.miss_reason
        aligned, mapped = align_image(img, points, self.size, self.template)
        return {"img": aligned, "landmarks": mapped, "points": points,
                "shape": img.shape[:2]}, ""

    def _miss(self, path: str, role: str, reason: str, kept: bool) -> None:
        self.not_found.append({"path": path, "role": role, "reason": reason,
                               "kept_without_landmarks": kept})

    def _neutral(self, info: dict) -> int:
        path = info.get("neutral_path")
        if not path:
            return -1
        path = str(path)
        if path not in self.neutral_lookup:
            face, reason = self._face(path, info.get("neutral_landmarks"))
            if face is None or face["landmarks"] is None:
                self._miss(path, "neutral", reason, kept=face is not None)
            if face is None:
                self.neutral_lookup[path] = -1
            else:
                self.neutral_lookup[path] = len(self.neutrals)
                self.neutrals.append({"img": face["img"], "landmarks": face["landmarks"],
                                      "path": path, "points": face["points"],
                                      "shape": tuple(face["shape"])})
        return self.neutral_lookup[path]

    def _pair_ok(self, path: str, face: dict, neutral_index: int) -> bool:
        """False (and recorded) when the face and its neutral disagree wildly."""
        neutral = self.neutrals[neutral_index]
        if face["points"] is None or neutral.get("points") is None:
            return True
        scale, shift = pair_disagreement(face["points"], face["shape"], neutral["points"],
                                         neutral["shape"])
        if scale <= self.max_pair_scale and shift <= self.max_pair_shift:
            return True
        self.disagreeing.append({"path": path, "neutral_path": neutral["path"],
                                 "scale_ratio": scale, "eye_shift_iod": shift})
        return False

    def step(self, info: dict) -> None:
        """Process ``data_list[self.next_index]``."""
        path = str(info["img_path"])
        face, reason = self._face(path, info.get("landmarks"))
        if face is None or face["landmarks"] is None:
            self._miss(path, "img", reason, kept=face is not None)
        if face is not None:
            neutral_index = self._neutral(info)
            if neutral_index >= 0 and not self._pair_ok(path, face, neutral_index):
                neutral_index = -1
            if neutral_index >= 0 or not self.require_neutral:
                self.samples.append({
                    "img": face["img"], "landmarks": face["landmarks"],
                    "neutral_index": neutral_index,
                    "gt_label": info.get("gt_label", -1), "subject": info.get("subject", ""),
                    "sequence": info.get("sequence", ""), "frame": info.get("frame", 0) or 0,
                    "img_path": path, "extra_labels": dict(info.get("extra_labels") or {}),
                })
            else:
                self.not_found.append({"path": path, "role": "img",
                                       "reason": "its neutral face was not found",
                                       "kept_without_landmarks": False})
        self.next_index += 1

    # ----------------------------------------------------------- persistence
    def to_cache(self, classes, meta: dict) -> FaceCache:
        channels = 1 if self.color_type == "grey" else 3
        return FaceCache.from_records(self.samples, self.neutrals, self.size, channels,
                                      classes, meta)

    def save_partial(self, path: Path, classes, fingerprint: str) -> None:
        failed = {p: "" for p, i in self.neutral_lookup.items() if i < 0}
        sources = [{"points": None if n.get("points") is None else np.asarray(
                        n["points"]).tolist(), "shape": list(n.get("shape") or ())}
                   for n in self.neutrals]
        meta = {"fingerprint": fingerprint, "next_index": self.next_index,
                "not_found": self.not_found, "failed_neutrals": sorted(failed),
                "disagreeing": self.disagreeing, "neutral_sources": sources}
        save_face_cache(self.to_cache(classes, meta), path, compress=False)

    def restore(self, path: Path, fingerprint: str) -> bool:
        """Load a partial file of the same inputs; ``False`` when it does not fit."""
        try:
            cache = load_face_cache(path)
        except (OSError, ValueError) as exc:
            print_log(f"ignoring the unreadable progress file {path}: {exc}", logger="current")
            return False
        if cache.meta.get("fingerprint") != fingerprint:
            print_log(f"ignoring the progress file {path}: it was written for other inputs",
                      logger="current")
            return False
        names = [str(n) for n in cache.extra_label_names]
        self.samples = [
            {"img": cache.images[i],
             "landmarks": cache.landmarks[i] if cache.has_landmarks[i] else None,
             "neutral_index": int(cache.neutral_index[i]), "gt_label": int(cache.gt_label[i]),
             "subject": str(cache.subject[i]), "sequence": str(cache.sequence[i]),
             "frame": int(cache.frame[i]), "img_path": str(cache.img_path[i]),
             "extra_labels": {n: int(cache.extra_labels[i, k]) for k, n in enumerate(names)}}
            for i in range(len(cache))
        ]
        sources = cache.meta.get("neutral_sources") or [{}] * len(cache.neutrals)
        self.neutrals = [
            {"img": cache.neutrals[i],
             "landmarks": cache.neutral_landmarks[i] if cache.neutral_has_landmarks[i] else None,
             "path": str(cache.neutral_paths[i]),
             "points": None if sources[i].get("points") is None
             else np.asarray(sources[i]["points"], np.float32),
             "shape": tuple(sources[i].get("shape") or ())}
            for i in range(len(cache.neutrals))
        ]
        self.neutral_lookup = {n["path"]: i for i, n in enumerate(self.neutrals)}
        self.neutral_lookup.update({p: -1 for p in cache.meta.get("failed_neutrals", [])})
        self.not_found = list(cache.meta.get("not_found", []))
        self.disagreeing = list(cache.meta.get("disagreeing", []))
        self.next_index = int(cache.meta["next_index"])
        return True


def prepare_dataset(
    dataset: DatasetLike,
    detector: Union[BaseLandmarkDetector, dict, str],
    out_file: PathLike,
    size: int = 128,
    color_type: str = "grey",
    classes: Optional[Sequence[str]] = None,
    save_every: int = 50,
    resume: bool = True,
    require_neutral: bool = False,
    progress: bool = True,
    keep_undetected: bool = False,
    detect_min_size: int = 0,
    max_pair_scale: float = 1.5,
    max_pair_shift: float = 1.0,
) -> dict:
    """Align and cache every face of a dataset; see the module docstring.

    A file that cannot be read is left out and listed in the summary; it never
    stops the run. A face whose landmarks are not found is left out too, or,
    with ``keep_undetected``, kept centre-cropped without landmarks (training
    then goes on without the landmark terms for it). A sample whose neutral
    face is not found is kept without a neutral (or left out with
    ``require_neutral=True``). Each neutral file is processed once and shared
    by all its samples. A face whose landmarks disagree wildly with its
    neutral's (see :func:`pair_disagreement`: a detection on the background,
    or another person's photo) is kept without its neutral, and the pair is
    listed in the summary.

    The summary counts what the detector found (``detection_rate`` of the
    expressive faces and of the neutral faces), the faces kept without
    landmarks, the disagreeing pairs and the subjects that have no neutral
    reference at all.

    Args:
        dataset (dict | BaseDataset | list[dict]): A ``DATASETS`` config (its
            pipeline is ignored), a dataset object, or a ``data_list``.
        detector (BaseLandmarkDetector | dict | str): A detector, its
            ``LANDMARK_DETECTORS`` config or registered name.
        out_file (str | PathLike): The cache file to write (``.npz``).
        size (int): Side of the aligned crops. Defaults to 128.
        color_type (str): ``'grey'`` or ``'color'``. Defaults to ``'grey'``.
        classes (Sequence[str], optional): Class names; defaults to the
            dataset's ``metainfo['classes']``. Defaults to ``None``.
        save_every (int): Samples between two progress saves. Defaults to 50.
        resume (bool): Continue from a matching progress file. Defaults to
            ``True``.
        require_neutral (bool): Leave out samples whose neutral face is not
            found. Defaults to ``False``.
        progress (bool): Show a progress bar. Defaults to ``True``.
        keep_undetected (bool): Keep faces without landmarks (centre-cropped
            and resized). Defaults to ``False``.
        detect_min_size (int): Images whose shorter side is below this are
            upsampled (bicubic, by a whole factor) before detection, e.g. 48-pixel
            crops for dlib's detector; the landmarks are mapped back. 0 turns
            it off. Defaults to 0.
        max_pair_scale (float): Largest ratio of the inter-ocular distances
            of a face and its neutral (relative to their images). Defaults to 1.5.
        max_pair_shift (float): Largest distance of their eye midpoints, in
            inter-ocular distances. Defaults to 1.0.

    Returns:
        dict: The summary also written to ``NAME.summary.json``.

    Raises:
        DetectorUnavailableError: The detector cannot run here.
    """
    detector = build_landmark_detector(detector)
    if save_every < 1:
        raise ValueError(f"save_every must be >= 1, got {save_every}")
    items, classes, synthetic = _data_list(dataset, classes)
    out_file = Path(out_file)
    summary_file, partial_file = sidecar_paths(out_file)
    settings = (keep_undetected, int(detect_min_size), float(max_pair_scale),
                float(max_pair_shift))
    fingerprint = _fingerprint(items, int(size), color_type, detector, settings)
    run = _Run(detector, int(size), color_type, require_neutral, *settings)
    if resume and partial_file.is_file() and run.restore(partial_file, fingerprint):
        print_log(f"resuming from {partial_file} at sample {run.next_index}/{len(items)}",
                  logger="current")
    start = time.time()
    bar = tqdm(total=len(items), initial=run.next_index, disable=not progress,
               desc=f"preparing {out_file.name}", unit="face")
    try:
        while run.next_index < len(items):
            run.step(items[run.next_index])
            bar.update(1)
            if run.next_index % save_every == 0 and run.next_index < len(items):
                run.save_partial(partial_file, classes, fingerprint)
    except BaseException:
        run.save_partial(partial_file, classes, fingerprint)
        raise
    finally:
        bar.close()
    meta = {"size": int(size), "color_type": color_type, "detector": repr(detector),
            "num_samples": len(items), "synthetic": synthetic}
    save_face_cache(run.to_cache(classes, meta), out_file)
    summary = {
        "cache": str(out_file), "num_samples": len(items), "num_cached": len(run.samples),
        "num_neutrals": len(run.neutrals), "num_not_found": len(run.not_found),
        **_detection_counts(items, run),
        "size": int(size), "color_type": color_type, "detector": repr(detector),
        "seconds": round(time.time() - start, 3), "not_found": run.not_found,
        "pairs_disagreeing": run.disagreeing,
    }
    atomic_write_json(summary_file, summary)
    if partial_file.exists():
        partial_file.unlink()
    return summary


def _detection_counts(items: List[dict], run: _Run) -> Dict[str, Any]:
    """Detection rates, faces kept without landmarks and subjects without a neutral."""
    missed = {(m["path"], m["role"]) for m in run.not_found
              if m.get("reason") != "its neutral face was not found"}
    num_img_missed = sum(1 for _, role in missed if role == "img")
    neutral_paths = {str(i["neutral_path"]) for i in items if i.get("neutral_path")}
    num_neutral_missed = sum(1 for _, role in missed if role == "neutral")
    with_neutral = {str(i.get("subject", "")) for i in items if i.get("neutral_path")}
    no_neutral = sorted({str(i.get("subject", "")) for i in items} - with_neutral)
    return {
        "detection_rate": round(1 - num_img_missed / len(items), 4) if items else 0.0,
        "neutral_detection_rate": (round(1 - num_neutral_missed / len(neutral_paths), 4)
                                   if neutral_paths else 0.0),
        "num_kept_without_landmarks": sum(1 for m in run.not_found
                                          if m.get("kept_without_landmarks")),
        "num_pairs_disagreeing": len(run.disagreeing),
        "subjects_without_neutral": no_neutral,
    }


#: Arguments of :func:`prepare_dataset` a ``CachedFaceDataset``'s ``source.prepare`` may set.
PREPARE_SETTINGS = ("detector", "size", "color_type", "require_neutral", "keep_undetected",
                    "detect_min_size", "max_pair_scale", "max_pair_shift")


def cache_source(dataset: dict) -> Optional[Tuple[dict, str, Dict[str, Any]]]:
    """What a ``CachedFaceDataset`` config is prepared from.

    Args:
        dataset (dict): A dataset config (e.g. a train dataloader's).

    Returns:
        tuple | None: ``(source dataset config, cache file, settings)`` where
        the settings are the ``prepare`` entries of ``source`` (arguments of
        :func:`prepare_dataset`); None when ``dataset`` is not a
        ``CachedFaceDataset`` with a ``source``.

    Raises:
        ValueError: ``source.prepare`` holds an unknown setting.

    Examples:
        >>> cfg = dict(type='CachedFaceDataset', cache_file='cache/faces.npz',
        ...            data_root='data', source=dict(type='PatternFolderDataset',
        ...            data_root='raw', prepare=dict(size=64)))
        >>> source, out, settings = cache_source(cfg)
        >>> source['type'], out, settings
        ('PatternFolderDataset', 'data/cache/faces.npz', {'size': 64})
    """
    if dataset.get("type") != "CachedFaceDataset" or not dataset.get("source"):
        return None
    source = dict(dataset["source"])
    settings = dict(source.pop("prepare", None) or {})
    unknown = sorted(set(settings) - set(PREPARE_SETTINGS))
    if unknown:
        raise ValueError(f"source.prepare of the CachedFaceDataset config has unknown settings "
                         f"{unknown}; known: {list(PREPARE_SETTINGS)}")
    out = Path(str(dataset["cache_file"])).expanduser()
    if dataset.get("data_root") and not out.is_absolute():
        out = Path(str(dataset["data_root"])) / out
    for key in ("fold", "split", "pipeline", "test_mode"):
        source.pop(key, None)
    return source, str(out), settings


def format_summary(summary: Dict[str, Any], max_examples: int = 5) -> str:
    """The summary of :func:`prepare_dataset` as a few lines for people.

    Args:
        summary (dict): What :func:`prepare_dataset` returned.
        max_examples (int): Files named per kind of problem. Defaults to 5.

    Returns:
        str: Counts, detection rates and example files.
    """
    lines = [
        f"{summary['num_cached']}/{summary['num_samples']} faces cached in {summary['cache']} "
        f"({summary['num_neutrals']} neutral faces, {summary['seconds']:.1f} s)",
        f"  landmarks found on {100 * summary['detection_rate']:.1f} % of the faces and "
        f"{100 * summary['neutral_detection_rate']:.1f} % of the neutral faces",
    ]
    kept = summary.get("num_kept_without_landmarks", 0)
    if kept:
        lines.append(f"  {kept} faces kept without landmarks (trained without the landmark "
                     "terms)")
    left_out = [m for m in summary["not_found"] if not m.get("kept_without_landmarks")]
    if left_out:
        lines.append(f"  {len(left_out)} left out or without their neutral:")
        lines += [f"    {m['role']} {m['path']}: {m['reason']}" for m in left_out[:max_examples]]
    pairs = summary.get("pairs_disagreeing") or []
    if pairs:
        lines.append(f"  {len(pairs)} faces whose landmarks disagree with their neutral's "
                     "(kept without the neutral):")
        lines += [f"    {p['path']} vs {p['neutral_path']}: scale x{p['scale_ratio']:.2f}, "
                  f"eye shift {p['eye_shift_iod']:.2f} IOD" for p in pairs[:max_examples]]
    subjects = summary.get("subjects_without_neutral") or []
    if subjects:
        lines.append(f"  {len(subjects)} subjects without any neutral photo: "
                     + ", ".join(subjects[:max_examples * 2]))
    return "\n".join(lines)
