"""Face folders whose file names (or parent folders) hold subject, sequence and label."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from errkit.registry import DATASETS

from .base_fer_dataset import BaseFERDataset
from .errors import DatasetNotFoundError
from .extra_labels import build_extra_label_tables
from .file_listing import walk_files

__all__ = ["PatternFolderDataset", "IMAGE_EXTENSIONS", "LABEL_SOURCES"]

#: File extensions (lower case, without the dot) that are read as images.
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "tif", "tiff", "bmp", "pgm")
#: Where the raw label comes from: the ``label`` group of the file name or the parent folder.
LABEL_SOURCES = ("name", "parent")
#: Named groups a pattern may have (``subject`` is required).
PATTERN_GROUPS = ("subject", "sequence", "frame", "label")


@DATASETS.register_module()
class PatternFolderDataset(BaseFERDataset):
    """Images under a folder, described by a regular expression over their paths.

    ``pattern`` is matched with :func:`re.fullmatch` against each image's path
    relative to ``data_root``, written with ``/`` (e.g. ``'KA.HA1.29.tiff'`` or
    ``'happiness/S010_006_00000015.png'``). Its named groups give ``subject``
    (required), ``sequence``, ``frame`` (digits) and ``label``. The raw label is
    the ``label`` group (``label_source='name'``) or the parent folder's name
    (``'parent'``), translated by ``label_map`` when given. Images whose label
    is ``neutral_label`` (raw or mapped) are neutral references, not samples;
    every other image becomes a sample whose ``neutral_path`` is a neutral image
    of the same subject and sequence, else of the same subject (the first by
    path), else None. Files that the pattern does not match, labels outside
    ``classes``, samples without a neutral, files whose bytes duplicate an
    earlier file (kept, but a label conflict or a leak across folds waiting to
    happen), dangling symlinks, symlink loops and folders named like images are
    counted in :attr:`report` (see :mod:`errkit.datasets.file_listing`; linked
    folders are searched once each, hidden files and folders are not).

    Args:
        data_root (str): The folder (searched recursively).
        pattern (str): Regular expression with named groups (see above).
        classes (Sequence[str]): Class names, in index order.
        label_source (str): ``'name'`` or ``'parent'``. Defaults to ``'name'``.
        label_map (Mapping[str, str], optional): Raw label -> class name (or
            ``neutral_label``), e.g. ``{'HA': 'happy', 'NE': 'neutral'}``.
            Defaults to None (raw labels are class names).
        neutral_label (str): The label of neutral references. Defaults to
            ``'neutral'``.
        extensions (Sequence[str]): Image file extensions. Defaults to
            :data:`IMAGE_EXTENSIONS`.
        extra_labels (Mapping[str, dict], optional): Further label sets of
            the same images, read from CSV tables under ``data_root`` (see
            :class:`~errkit.datasets.extra_labels.ExtraLabelTable`), e.g.
            observer ratings: ``{'rated': dict(file='ratings.csv', key='file',
            column='rated_top', label_map={'1': 'happy', ...})}``. Each sample
            gets ``extra_labels`` = ``{name: class index or -1}``; images a
            table does not list are counted in :attr:`report`. Defaults to
            None.
        **kwargs: ``fold``, ``num_folds``, ``split``, ``split_seed`` (see
            :class:`~errkit.datasets.BaseFERDataset`) and the arguments of
            :class:`mmengine.dataset.BaseDataset`.

    Raises:
        errkit.datasets.errors.DatasetNotFoundError: ``data_root`` is missing.
        ValueError: the folder holds no image, the pattern lacks a ``subject``
            group (or a ``label`` group with ``label_source='name'``), or matches
            no file (the message shows example paths).

    Examples:
        JAFFE (``KA.HA1.29.tiff``)::

            PatternFolderDataset(
                data_root='data/jaffe',
                pattern=r'(?P<subject>[A-Z]{2})\\.(?P<label>[A-Z]{2})(?P<sequence>\\d+)'
                        r'\\.(?P<frame>\\d+)\\.tiff',
                classes=('anger', 'disgust', 'fear', 'happy', 'sadness', 'surprise'),
                label_map={'AN': 'anger', 'DI': 'disgust', 'FE': 'fear', 'HA': 'happy',
                           'SA': 'sadness', 'SU': 'surprise', 'NE': 'neutral'})
    """

    def __init__(self, data_root: str, pattern: str, classes: Sequence[str],
                 label_source: str = "name", label_map: Optional[Mapping[str, str]] = None,
                 neutral_label: str = "neutral",
                 extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 extra_labels: Optional[Mapping[str, dict]] = None, **kwargs: Any) -> None:
        if label_source not in LABEL_SOURCES:
            raise ValueError(f"PatternFolderDataset: label_source must be one of "
                             f"{LABEL_SOURCES}, got {label_source!r}")
        try:
            self.regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"PatternFolderDataset: invalid pattern {pattern!r}: {exc}") from exc
        groups = set(self.regex.groupindex)
        if "subject" not in groups:
            raise ValueError(f"PatternFolderDataset: pattern {pattern!r} needs a named group "
                             "(?P<subject>...)")
        if label_source == "name" and "label" not in groups:
            raise ValueError(f"PatternFolderDataset: pattern {pattern!r} needs a named group "
                             "(?P<label>...) with label_source='name' (or use "
                             "label_source='parent')")
        if not classes:
            raise ValueError("PatternFolderDataset: classes must not be empty")
        self.pattern = pattern
        self.label_source = label_source
        self.label_map = dict(label_map) if label_map else None
        self.neutral_label = neutral_label
        self.extensions = tuple(e.lower().lstrip(".") for e in extensions)
        self.extra_label_specs = dict(extra_labels or {})
        metainfo = dict(kwargs.pop("metainfo", None) or {})
        metainfo.setdefault("classes", tuple(classes))
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    def parse_path(self, rel_path: str) -> Optional[Dict[str, Any]]:
        """Parse one relative path with the pattern.

        Args:
            rel_path (str): Path relative to ``data_root``, ``/``-separated.

        Returns:
            dict | None: ``subject``, ``sequence`` (``''`` when absent),
            ``frame`` (0 when absent), ``raw_label`` and ``label`` (mapped; None
            when the raw label is not in ``label_map``); None when the pattern
            does not match.
        """
        match = self.regex.fullmatch(rel_path)
        if match is None or not match["subject"]:
            return None
        groups = match.groupdict()
        if self.label_source == "parent":
            raw = Path(rel_path).parent.name
        else:
            raw = groups.get("label") or ""
        if self.label_map is None:
            label: Optional[str] = raw
        else:
            label = self.label_map.get(raw)
            if label is None and raw == self.neutral_label:
                label = raw
        frame = groups.get("frame") or ""
        return dict(subject=groups["subject"], sequence=groups.get("sequence") or "",
                    frame=int(frame) if frame.isdigit() else 0, raw_label=raw, label=label)

    def _list_images(self, root: Path) -> List[str]:
        suffixes = tuple(f".{e}" for e in self.extensions)
        return walk_files(root, self.record_issue, suffixes)

    def _report_duplicates(self, root: Path, rel_paths: List[str]) -> None:
        """Record files with the same bytes as an earlier one (only equal sizes are hashed)."""
        by_size: Dict[int, List[str]] = defaultdict(list)
        for rel in rel_paths:
            by_size[(root / rel).stat().st_size].append(rel)
        for group in by_size.values():
            if len(group) < 2:
                continue
            first_by_digest: Dict[str, str] = {}
            for rel in group:
                digest = hashlib.sha1((root / rel).read_bytes()).hexdigest()
                if digest in first_by_digest:
                    self.record_issue("duplicate image (same bytes as another file; kept)",
                                      f"{rel} = {first_by_digest[digest]}")
                else:
                    first_by_digest[digest] = rel

    def load_data_list(self) -> List[Dict[str, Any]]:
        """Match every image of ``data_root``; pair samples with neutral references.

        Returns:
            list[dict]: Samples sorted by relative path.
        """
        root = Path(self.data_root or ".").expanduser()
        if not root.is_dir():
            raise DatasetNotFoundError(f"PatternFolderDataset: data_root {root} is not a "
                                       "folder (check the data_root of the config)")
        root = root.resolve()
        rel_paths = self._list_images(root)
        if not rel_paths:
            raise ValueError(f"PatternFolderDataset: {root} holds no image files "
                             f"({', '.join(self.extensions)}); is data_root right?")
        self._report_duplicates(root, rel_paths)
        parsed: List[Tuple[str, Dict[str, Any]]] = []
        for rel in rel_paths:
            info = self.parse_path(rel)
            if info is None:
                self.record_issue("file not matching the pattern (ignored)", root / rel)
            else:
                parsed.append((rel, info))
        if not parsed:
            examples = "\n  ".join(rel_paths[:5])
            raise ValueError(f"PatternFolderDataset: pattern '{self.pattern}' matches none of "
                             f"the {len(rel_paths)} images under {root}; relative paths look "
                             f"like:\n  {examples}")
        by_sequence: Dict[Tuple[str, str], str] = {}
        by_subject: Dict[str, str] = {}
        candidates = []
        for rel, info in parsed:
            path = str(root / rel)
            if info["label"] == self.neutral_label or info["raw_label"] == self.neutral_label:
                by_sequence.setdefault((info["subject"], info["sequence"]), path)
                by_subject.setdefault(info["subject"], path)
            elif info["label"] is None:
                self.record_issue("raw label not in label_map (ignored)", path)
            elif info["label"] not in self.classes:
                self.record_issue("label not in classes (ignored)", path)
            else:
                candidates.append((path, info))
        tables = build_extra_label_tables(self.extra_label_specs, self.classes, root)
        data_list = []
        for path, info in candidates:
            neutral = by_sequence.get((info["subject"], info["sequence"]),
                                      by_subject.get(info["subject"]))
            if neutral is None:
                self.record_issue("image without a neutral reference (kept, neutral_path None)",
                                  path)
            item = dict(
                img_path=path, neutral_path=neutral, landmarks=None, neutral_landmarks=None,
                gt_label=self.classes.index(info["label"]), subject=info["subject"],
                sequence=info["sequence"], frame=info["frame"])
            if tables:
                item["extra_labels"] = self._extra_labels(tables, root, path)
            data_list.append(item)
        return data_list

    def _extra_labels(self, tables: dict, root: Path, path: str) -> Dict[str, int]:
        rel = Path(path).relative_to(root).as_posix()
        labels = {}
        for name, table in tables.items():
            value = table.lookup(rel)
            if value is None:
                self.record_issue(f"image not listed in the '{name}' label table (label -1)",
                                  path)
            elif value < 0:
                self.record_issue(f"'{name}' label outside the classes (label -1)", path)
            labels[name] = -1 if value is None else value
        return labels
