"""The MMI facial expression database, read from a frame manifest."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from errkit.registry import DATASETS

from .base_fer_dataset import BaseFERDataset
from .errors import DatasetNotFoundError
from .file_listing import why_not_a_file
from .io import DataFileError, read_landmarks_file

__all__ = ["MMIDataset", "MMI_CLASSES", "MANIFEST_COLUMNS", "ROLES"]

#: The six basic expressions of MMI.
MMI_CLASSES = ("anger", "disgust", "fear", "happy", "sadness", "surprise")
#: Columns every MMI manifest must have (``landmarks_path`` and ``frame`` are optional).
MANIFEST_COLUMNS = ("subject", "sequence", "frame_path", "label", "role")
#: Values of the ``role`` column.
ROLES = ("peak", "neutral")

_DIGITS = re.compile(r"\d+")


def _frame_number(row: Dict[str, str], frame_path: str, manifest: Path, number: int) -> int:
    if row.get("frame", "").strip():
        if not row["frame"].strip().isdigit():
            raise DataFileError(manifest, f"row {number}: frame {row['frame']!r} is not a "
                                "whole number")
        return int(row["frame"])
    digits = _DIGITS.findall(Path(frame_path).stem)
    return int(digits[-1]) if digits else 0


@DATASETS.register_module()
class MMIDataset(BaseFERDataset):
    """MMI sequences from a manifest CSV: peak frames paired with the neutral frame.

    The manifest (written by ``tools/dataset_converters/mmi_to_manifest.py``)
    has one row per extracted frame with the columns ``subject, sequence,
    frame_path, label, role`` and optionally ``landmarks_path`` and ``frame``.
    Paths are relative to ``data_root`` (or absolute). ``role`` is ``peak`` or
    ``neutral``; ``label`` of a peak row is a class name (case-insensitive) or a
    class index ``0..5``; the label of a neutral row is not used. Each peak frame
    becomes one sample whose ``neutral_path`` is the neutral frame of the same
    (subject, sequence); a sequence without one keeps ``neutral_path=None``
    (counted in :attr:`report`). When a column ``frame`` is absent the frame
    number is the last number in the file name.

    Args:
        ann_file (str): The manifest, relative to ``data_root`` or absolute.
            Defaults to ``'manifest.csv'``.
        data_root (str): The MMI root. Defaults to ``'data/mmi'``.
        **kwargs: ``fold``, ``num_folds``, ``split``, ``split_seed`` (see
            :class:`~errkit.datasets.BaseFERDataset`) and the arguments of
            :class:`mmengine.dataset.BaseDataset`.

    Raises:
        errkit.datasets.errors.DatasetNotFoundError: the manifest is missing.
        errkit.datasets.io.DataFileError: a required column is missing, or a row
            has an unknown role or label (the message names the file and row).
    """

    METAINFO = {"classes": MMI_CLASSES}

    def __init__(self, ann_file: str = "manifest.csv", data_root: str = "data/mmi",
                 **kwargs: Any) -> None:
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def _resolve(self, path: str) -> Path:
        path = Path(path)
        return path if path.is_absolute() else Path(self.data_root or ".") / path

    def _parse_label(self, value: str, manifest: Path, row_number: int) -> int:
        text = value.strip()
        lowered = [c.lower() for c in self.classes]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        if text.isdigit() and int(text) < len(self.classes):
            return int(text)
        raise DataFileError(manifest, f"row {row_number}: label {value!r} is not one of "
                            f"{self.classes} nor a class index 0..{len(self.classes) - 1}")

    def _read_rows(self, manifest: Path) -> List[Tuple[int, Dict[str, str]]]:
        with open(manifest, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            for column in MANIFEST_COLUMNS:
                if column not in header:
                    raise DataFileError(manifest, f"missing column {column!r} (columns: "
                                        f"{', '.join(header) or 'none'}; required: "
                                        f"{', '.join(MANIFEST_COLUMNS)})")
            # Row numbers count the header as row 1, as a spreadsheet shows them.
            return [(number, {k: (v or "").strip() for k, v in row.items() if k})
                    for number, row in enumerate(reader, start=2)]

    def _landmarks(self, row: Dict[str, str]) -> Optional[Any]:
        value = row.get("landmarks_path", "")
        if not value:
            return None
        path = self._resolve(value)
        if not path.is_file():
            self.record_issue(f"landmark file listed but {why_not_a_file(path)} "
                              "(landmarks None)", path)
            return None
        return read_landmarks_file(path)

    def load_data_list(self) -> List[Dict[str, Any]]:
        """Read the manifest; one sample per peak row.

        Returns:
            list[dict]: Samples in manifest order.
        """
        manifest = Path(self.ann_file)
        if not manifest.is_file():
            raise DatasetNotFoundError(
                f"MMI manifest not found: {manifest}.\n"
                f"MMIDataset reads a CSV with columns {', '.join(MANIFEST_COLUMNS)} "
                f"(paths relative to data_root, default 'data/mmi', here "
                f"{self.data_root!r}). MMI is licence-gated and never downloaded by errkit; "
                "build the manifest from its session folders with `python "
                "tools/dataset_converters/mmi_to_manifest.py <sessions> <labels.csv> "
                "--out data/mmi`.\nTo train without it, `make demo` trains on the embedded "
                "synthetic face set.")
        peaks: List[Tuple[int, Dict[str, str]]] = []
        neutrals: Dict[Tuple[str, str], Tuple[str, Any]] = {}
        for number, row in self._read_rows(manifest):
            role = row["role"].lower()
            if role not in ROLES:
                raise DataFileError(manifest, f"row {number}: role {row['role']!r} is not "
                                    f"one of {ROLES}")
            if not row["subject"] or not row["frame_path"]:
                raise DataFileError(manifest, f"row {number}: empty subject or frame_path")
            key = (row["subject"], row["sequence"])
            if role == "peak":
                peaks.append((number, row))
            elif key in neutrals:
                self.record_issue("extra neutral row of a sequence (ignored)",
                                  f"{manifest}:{number}")
            elif not self._resolve(row["frame_path"]).is_file():
                path = self._resolve(row["frame_path"])
                self.record_issue(f"neutral frame listed but {why_not_a_file(path)} (ignored)",
                                  path)
            else:
                path = self._resolve(row["frame_path"])
                neutrals[key] = (str(path.resolve()), self._landmarks(row))
        data_list = []
        sequences_without_neutral = defaultdict(int)
        for number, row in peaks:
            label = self._parse_label(row["label"], manifest, number)
            key = (row["subject"], row["sequence"])
            neutral_path, neutral_landmarks = neutrals.get(key, (None, None))
            if neutral_path is None:
                sequences_without_neutral[key] += 1
                if sequences_without_neutral[key] == 1:
                    self.record_issue("sequence without a neutral row (neutral_path None)",
                                      f"{manifest}:{number}")
            img_path = self._resolve(row["frame_path"])
            if not img_path.is_file():
                self.record_issue(f"peak frame listed but {why_not_a_file(img_path)} (skipped)",
                                  img_path)
                continue
            data_list.append(dict(
                img_path=str(img_path.resolve()),
                neutral_path=neutral_path,
                landmarks=self._landmarks(row),
                neutral_landmarks=neutral_landmarks,
                gt_label=label,
                subject=row["subject"],
                sequence=row["sequence"],
                frame=_frame_number(row, row["frame_path"], manifest, number),
            ))
        peak_keys = {(r["subject"], r["sequence"]) for _, r in peaks}
        for key in neutrals:
            if key not in peak_keys:
                self.record_issue("neutral row of a sequence without peak rows (ignored)",
                                  "/".join(key))
        return data_list
