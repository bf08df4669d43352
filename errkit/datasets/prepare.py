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
from errkit.landmarks.face_cache import (
    FaceCache,
    load_face_cache,
    save_face_cache,
)
from errkit.landmarks.mean_shape import canonical_landmarks
from errkit.registry import DATASETS
from errkit.utils.atomic_io import atomic_write_json

__all__ = ["prepare_dataset", "sidecar_paths"]

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


def _fingerprint(items: List[dict], size: int, color_type: str, detector) -> str:
    digest = hashlib.sha1()
    digest.update(json.dumps([size, color_type, type(detector).__name__]).encode())
    for info in items:
        digest.update(f"{info['img_path']}\0{info.get('neutral_path')}\n".encode())
    return digest.hexdigest()


class _Run:
    """The state of one preparation run (what a partial file stores)."""

    def __init__(self, detector: BaseLandmarkDetector, size: int, color_type: str,
                 require_neutral: bool) -> None:
        self.detector = detector
        self.size = size
        self.color_type = color_type
        self.require_neutral = require_neutral
        self.template = canonical_landmarks(size)
        self.samples: List[dict] = []
        self.neutrals: List[dict] = []
        self.neutral_lookup: Dict[str, int] = {}  # path -> row of neutrals, -1 if not found
        self.not_found: List[dict] = []
        self.next_index = 0

    # ----------------------------------------------------------------- faces
    def _face(self, path: str, known) -> Tuple[Optional[Tuple[np.ndarray, np.ndarray]], str]:
        """Aligned ``(img, landmarks)`` of one file, or ``None`` and the reason."""
        try:
            img = read_image(path, self.color_type)
            points = self.detector.landmarks_for(img, known=known)
        except DetectorUnavailableError:
            raise
        except Exception as exc:  # one bad file never stops the run
            return None, f"{type(exc).__name__}: {exc}"
        if points is None:
            return None, self.detector.miss_reason
        aligned, mapped = align_image(img, points, self.size, self.template)
        return (aligned, mapped), ""

    def _neutral(self, info: dict) -> int:
        path = info.get("neutral_path")
        if not path:
            return -1
        path = str(path)
        if path not in self.neutral_lookup:
            face, reason = self._face(path, info.get("neutral_landmarks"))
            if face is None:
                self.neutral_lookup[path] = -1
                self.not_found.append({"path": path, "role": "neutral", "reason": reason})
            else:
                self.neutral_lookup[path] = len(self.neutrals)
                self.neutrals.append({"img": face[0], "landmarks": face[1], "path": path})
        return self.neutral_lookup[path]

    def step(self, info: dict) -> None:
        """Process ``data_list[self.next_index]``."""
        path = str(info["img_path"])
        face, reason = self._face(path, info.get("landmarks"))
        if face is None:
            self.not_found.append({"path": path, "role": "img", "reason": reason})
        else:
            neutral_index = self._neutral(info)
            if neutral_index >= 0 or not self.require_neutral:
                self.samples.append({
                    "img": face[0], "landmarks": face[1], "neutral_index": neutral_index,
                    "gt_label": info.get("gt_label", -1), "subject": info.get("subject", ""),
                    "sequence": info.get("sequence", ""), "frame": info.get("frame", 0) or 0,
                    "img_path": path,
                })
            else:
                self.not_found.append({"path": path, "role": "img",
                                       "reason": "its neutral face was not found"})
        self.next_index += 1

    # ----------------------------------------------------------- persistence
    def to_cache(self, classes, meta: dict) -> FaceCache:
        channels = 1 if self.color_type == "grey" else 3
        return FaceCache.from_records(self.samples, self.neutrals, self.size, channels,
                                      classes, meta)

    def save_partial(self, path: Path, classes, fingerprint: str) -> None:
        failed = {p: "" for p, i in self.neutral_lookup.items() if i < 0}
        meta = {"fingerprint": fingerprint, "next_index": self.next_index,
                "not_found": self.not_found, "failed_neutrals": sorted(failed)}
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
        self.samples = [
            {"img": cache.images[i], "landmarks": cache.landmarks[i],
             "neutral_index": int(cache.neutral_index[i]), "gt_label": int(cache.gt_label[i]),
             "subject": str(cache.subject[i]), "sequence": str(cache.sequence[i]),
             "frame": int(cache.frame[i]), "img_path": str(cache.img_path[i])}
            for i in range(len(cache))
        ]
        self.neutrals = [
            {"img": cache.neutrals[i], "landmarks": cache.neutral_landmarks[i],
             "path": str(cache.neutral_paths[i])}
            for i in range(len(cache.neutrals))
        ]
        self.neutral_lookup = {n["path"]: i for i, n in enumerate(self.neutrals)}
        self.neutral_lookup.update({p: -1 for p in cache.meta.get("failed_neutrals", [])})
        self.not_found = list(cache.meta.get("not_found", []))
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
) -> dict:
    """Align and cache every face of a dataset; see the module docstring.

    A face whose landmarks are not found (or whose file cannot be read) is left
    out and listed in the summary; it never stops the run. A sample whose
    neutral face is not found is kept without a neutral (or left out with
    ``require_neutral=True``). Each neutral file is processed once and shared
    by all its samples.

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
    fingerprint = _fingerprint(items, int(size), color_type, detector)
    run = _Run(detector, int(size), color_type, require_neutral)
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
        "size": int(size), "color_type": color_type, "detector": repr(detector),
        "seconds": round(time.time() - start, 3), "not_found": run.not_found,
    }
    atomic_write_json(summary_file, summary)
    if partial_file.exists():
        partial_file.unlink()
    return summary
