"""The base class of facial-expression datasets: fold selection and a load report."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from errkit.registry import TRANSFORMS

from .kfold import SPLITS, select_fold_indices

__all__ = ["BaseFERDataset"]

#: How many example paths the report keeps per kind of issue.
MAX_REPORT_EXAMPLES = 5


class BaseFERDataset(BaseDataset):
    """A facial-expression dataset with subject-independent fold selection.

    Subclasses implement :meth:`load_data_list`, returning one dict per
    expressive face with the keys of the errkit data contract: ``img_path``
    (absolute), ``neutral_path`` (or None), ``landmarks`` /
    ``neutral_landmarks`` (float32 ``(68, 2)`` or None), ``gt_label`` (index
    into ``metainfo['classes']``), ``subject``, ``sequence`` and ``frame``.
    While loading they call :meth:`record_issue` for every item they skip or keep
    incomplete; the counts and example paths end up in :attr:`report`, which is
    logged once loading is done.

    After loading, :meth:`filter_data` keeps the samples of ``split`` of fold
    ``fold`` (see :func:`errkit.datasets.kfold.select_fold_indices`).

    Args:
        fold (int, optional): The cross-validation fold, ``0..num_folds-1``;
            None keeps every sample. Defaults to None.
        num_folds (int): Number of subject-independent folds. Defaults to 10.
        split (str): ``'train'``, ``'test'`` or ``'all'``. Defaults to ``'all'``.
        split_seed (int): Seed of the fold assignment. Defaults to 0.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset` (``data_root``,
            ``metainfo``, ``pipeline``, ``test_mode``, ``lazy_init`` ...). Transform
            configs of ``pipeline`` are built from errkit's ``TRANSFORMS`` registry.

    Attributes:
        synthetic (bool): Whether the samples are drawn by errkit's synthetic face
            generator (class attribute; False here). Checkpoints record it, so that
            inference can warn when a model trained on synthetic faces only meets
            real photos.
        report (dict): ``num_loaded`` (samples before fold selection),
            ``num_selected`` (after it), ``num_used`` (after mmengine's
            ``indices`` took a subset: what the dataset serves), ``num_subjects``
            (of the samples served) and ``issues``: for each kind of skipped or
            incomplete item, ``count`` and up to five ``examples`` (paths).
    """

    METAINFO: dict = {"classes": ()}
    synthetic: bool = False

    def __init__(self, *, fold: Optional[int] = None, num_folds: int = 10, split: str = "all",
                 split_seed: int = 0, **kwargs: Any) -> None:
        if split not in SPLITS:
            raise ValueError(f"{type(self).__name__}: split must be one of {SPLITS}, "
                             f"got {split!r}")
        if fold is None and split != "all":
            raise ValueError(f"{type(self).__name__}: split={split!r} needs a fold "
                             f"(0..{num_folds - 1}), got fold=None")
        if fold is not None and not 0 <= int(fold) < int(num_folds):
            raise ValueError(f"{type(self).__name__}: fold must be in 0..{num_folds - 1}, "
                             f"got {fold}")
        self.fold = None if fold is None else int(fold)
        self.num_folds = int(num_folds)
        self.split = split
        self.split_seed = int(split_seed)
        self.report: Dict[str, Any] = self._empty_report()
        if isinstance(kwargs.get("data_root"), str) and kwargs["data_root"]:
            # configs name their folder relative to their own ('{{ fileDirname }}/../..')
            kwargs["data_root"] = os.path.normpath(kwargs["data_root"])
        # Build transform configs from errkit's registry, so that no default scope is needed.
        kwargs["pipeline"] = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                              for t in kwargs.get("pipeline") or []]
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ report
    @staticmethod
    def _empty_report() -> Dict[str, Any]:
        return {"num_loaded": 0, "num_selected": 0, "num_used": 0, "num_subjects": 0,
                "issues": {}}

    def record_issue(self, kind: str, example: Any) -> None:
        """Count one skipped or incomplete item of kind ``kind`` in :attr:`report`.

        Args:
            kind (str): Short description, e.g. ``'unlabelled sequence (no emotion
                file)'``.
            example (Any): The path (or other identifier) of the item.
        """
        entry = self.report["issues"].setdefault(kind, {"count": 0, "examples": []})
        entry["count"] += 1
        if len(entry["examples"]) < MAX_REPORT_EXAMPLES:
            entry["examples"].append(str(example))

    def format_report(self) -> str:
        """The load report as text (one line per kind of issue).

        The first line gives the samples loaded, those of the fold's split and,
        when ``indices`` took a subset (a smoke run), ``subset of N of M
        samples``: the figures the dataset serves, not those of the whole split.
        """
        report = self.report
        where = f" from {self.data_root}" if self.data_root else ""
        fold = "" if self.fold is None else (
            f"; fold {self.fold}/{self.num_folds} split '{self.split}': "
            f"{report['num_selected']} samples")
        subset = ""
        if report.get("num_used", report["num_selected"]) != report["num_selected"]:
            subset = f"; subset of {report['num_used']} of {report['num_selected']} samples"
        people = report["num_subjects"]
        lines = [f"{type(self).__name__}: {report['num_loaded']} samples loaded{where}"
                 f"{fold}{subset}, {people} subject{'' if people == 1 else 's'}"]
        for kind, entry in self.report["issues"].items():
            examples = ", ".join(entry["examples"][:3])
            lines.append(f"  {kind}: {entry['count']} (e.g. {examples})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ loading
    def full_init(self) -> None:
        """Load, select the fold, serialize, then log :attr:`report`."""
        if self._fully_initialized:
            return
        self.report = self._empty_report()
        super().full_init()
        self.report["num_used"] = len(self)
        if self._indices is not None:  # mmengine took a subset after filter_data
            self.report["num_subjects"] = len({str(self.get_data_info(i)["subject"])
                                               for i in range(len(self))})
        level = logging.WARNING if self.report["issues"] else logging.INFO
        print_log(self.format_report(), logger="current", level=level)

    def filter_data(self) -> List[dict]:
        """Keep the samples of ``split`` of fold ``fold``.

        Returns:
            list[dict]: The selected samples, in load order.
        """
        data_list = super().filter_data()
        self.report["num_loaded"] = len(data_list)
        if not data_list:
            raise ValueError(f"{type(self).__name__}: no samples were loaded"
                             f"{' from ' + str(self.data_root) if self.data_root else ''}."
                             f"\n{self.format_report()}")
        subjects = [str(d["subject"]) for d in data_list]
        labels = [int(d["gt_label"]) for d in data_list]
        indices = select_fold_indices(subjects, labels, self.fold, num_folds=self.num_folds,
                                      split=self.split, seed=self.split_seed)
        selected = [data_list[i] for i in indices]
        self.report["num_selected"] = self.report["num_used"] = len(selected)
        self.report["num_subjects"] = len({d["subject"] for d in selected})
        return selected

    # ------------------------------------------------------------------ access
    @property
    def classes(self) -> Tuple[str, ...]:
        """The class names, ``metainfo['classes']``."""
        return tuple(self._metainfo.get("classes", ()))

    @property
    def subjects(self) -> List[str]:
        """The subject of every (selected) sample, in index order."""
        self.full_init()
        return [str(self.get_data_info(i)["subject"]) for i in range(len(self))]

    def get_gt_labels(self) -> np.ndarray:
        """The class index of every (selected) sample.

        Returns:
            np.ndarray: int64 array of shape ``(len(self),)``.
        """
        self.full_init()
        return np.asarray([int(self.get_data_info(i)["gt_label"]) for i in range(len(self))],
                          dtype=np.int64)

    def get_cat_ids(self, idx: int) -> List[int]:
        """The class index of sample ``idx`` as a one-element list (for samplers)."""
        return [int(self.get_data_info(idx)["gt_label"])]

    @staticmethod
    def _absolute(path: Path) -> str:
        return str(Path(path).expanduser().resolve())
