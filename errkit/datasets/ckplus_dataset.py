"""The Extended Cohn-Kanade (CK+) dataset in its official layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from errkit.registry import DATASETS

from errkit.synthetic import ckplus_writer as layout
from .base_fer_dataset import BaseFERDataset
from .errors import DatasetNotFoundError
from .file_listing import claim_folders, folder_key, scan_folder
from .io import read_emotion_file, read_landmarks_file

__all__ = ["CKPlusDataset", "CKPLUS_CLASSES_7", "CKPLUS_CLASSES_6", "CKPLUS_EMOTION_NAMES"]

#: CK+ emotion codes (the numbers in ``*_emotion.txt``) and their names.
CKPLUS_EMOTION_NAMES = ("neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness",
                        "surprise")
#: The 7 classes: CK+ codes 1..7 mapped to 0..6.
CKPLUS_CLASSES_7 = CKPLUS_EMOTION_NAMES[1:]
#: The 6 classes: the 7 without contempt.
CKPLUS_CLASSES_6 = tuple(c for c in CKPLUS_CLASSES_7 if c != "contempt")

_FRAME_RE = re.compile(r"(?P<stem>.+_(?P<frame>\d{8}))\.png", re.IGNORECASE)


@DATASETS.register_module()
class CKPlusDataset(BaseFERDataset):
    """CK+: labelled sequences, peak frames paired with the sequence's first frame.

    The root holds the official layout::

        cohn-kanade-images/S005/001/S005_001_00000001.png
        Emotion/S005/001/S005_001_00000011_emotion.txt
        Landmarks/S005/001/S005_001_00000001_landmarks.txt

    Every labelled sequence yields its last ``num_peak_frames`` frames as
    samples, each with the sequence's first frame as ``neutral_path`` and the
    landmarks of both frames when their files exist (else None). Sequences
    without an emotion file are unlabelled and skipped (counted in
    :attr:`report`); with ``num_classes=6`` contempt sequences are skipped too.
    Dangling symlinks, symlink loops, links to a folder already read and folders
    named like frames are counted in :attr:`report` as well (see
    :mod:`errkit.datasets.file_listing`).
    The procedural synthetic face set is written in this layout and read by
    this class as well.

    Args:
        data_root (str): The CK+ root. Defaults to ``'data/ckplus'``.
        num_classes (int): 7 (anger, contempt, disgust, fear, happy, sadness,
            surprise) or 6 (without contempt). Defaults to 7.
        num_peak_frames (int): Peak frames taken from the end of each sequence.
            Defaults to 3.
        with_landmarks (bool): Read the landmark files. Defaults to True.
        **kwargs: ``fold``, ``num_folds``, ``split``, ``split_seed`` (see
            :class:`~errkit.datasets.BaseFERDataset`) and the arguments of
            :class:`mmengine.dataset.BaseDataset` (``pipeline``, ``lazy_init`` ...).

    Raises:
        errkit.datasets.errors.DatasetNotFoundError: (a FileNotFoundError)
            ``data_root`` or its ``cohn-kanade-images`` / ``Emotion`` folder is
            missing; the message says how to prepare CK+.
        errkit.datasets.io.DataFileError: an emotion file is corrupt or a landmark
            file does not hold 68 points.

    Examples:
        Write a two-subject tree with :func:`~errkit.datasets.write_ckplus_sequence`
        and read it (the load report is logged)::

            for subject in ('S005', 'S010'):
                write_ckplus_sequence(root, subject, 1, frames, label=5)
            ds = CKPlusDataset(data_root=root, fold=0, num_folds=2, split='train')
    """

    METAINFO = {"classes": CKPLUS_CLASSES_7}

    def __init__(self, data_root: str = "data/ckplus", num_classes: int = 7,
                 num_peak_frames: int = 3, with_landmarks: bool = True, **kwargs: Any) -> None:
        if num_classes not in (6, 7):
            raise ValueError(f"CKPlusDataset: num_classes must be 6 or 7, got {num_classes!r}")
        if int(num_peak_frames) < 1:
            raise ValueError(f"CKPlusDataset: num_peak_frames must be >= 1, got "
                             f"{num_peak_frames}")
        self.num_classes = num_classes
        self.num_peak_frames = int(num_peak_frames)
        self.with_landmarks = with_landmarks
        self._read_landmarks = with_landmarks
        classes = CKPLUS_CLASSES_7 if num_classes == 7 else CKPLUS_CLASSES_6
        metainfo = dict(kwargs.pop("metainfo", None) or {})
        metainfo.setdefault("classes", classes)
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    def _missing_root_error(self, missing: Path) -> DatasetNotFoundError:
        return DatasetNotFoundError(
            f"CK+ not found: {missing} does not exist.\n"
            f"CKPlusDataset expects the official CK+ layout under data_root "
            f"(default 'data/ckplus', here {self.data_root!r}):\n"
            f"  {layout.IMAGES_DIR}/S005/001/S005_001_00000001.png\n"
            f"  {layout.EMOTION_DIR}/S005/001/S005_001_00000011_emotion.txt\n"
            f"  {layout.LANDMARKS_DIR}/S005/001/S005_001_00000001_landmarks.txt\n"
            "CK+ is licence-gated and never downloaded by errkit: request it from its "
            "authors, then arrange it with `python tools/prepare_data.py ckplus "
            "<path/to/extracted/CK+> --out data/ckplus`.\n"
            "To train without it, `make demo` trains on the embedded synthetic face set.")

    def _class_index(self, code: int) -> Optional[int]:
        name = CKPLUS_EMOTION_NAMES[code]
        return self.classes.index(name) if name in self.classes else None

    def _list_frames(self, seq_dir: Path, prefix: str) -> Tuple[List[Tuple[int, Path]],
                                                                List[Path]]:
        frames, others = [], []
        for entry in scan_folder(seq_dir, self.record_issue, (".png",)):
            match = _FRAME_RE.fullmatch(entry.path.name)
            if not entry.is_dir and match and match["stem"].startswith(prefix):
                frames.append((int(match["frame"]), entry.path))
            elif not (entry.is_dir and match):  # folders named like frames are recorded
                others.append(entry.path)
        frames.sort()
        return frames, others

    def _landmarks(self, root: Path, subject: str, sequence: str,
                   frame: int) -> Optional[np.ndarray]:
        if not self._read_landmarks:
            return None
        path = layout.landmarks_path(root, subject, sequence, frame)
        if not path.is_file():
            self.record_issue("frame without landmark file (landmarks None)", path)
            return None
        return read_landmarks_file(path)

    def _read_label(self, emotion_dir: Path) -> Optional[int]:
        entries = scan_folder(emotion_dir, self.record_issue) if emotion_dir.is_dir() else []
        files = [e.path for e in entries if not e.is_dir and e.path.name.endswith("_emotion.txt")]
        if not files:
            return None
        if len(files) > 1:
            raise ValueError(f"{emotion_dir}: {len(files)} emotion files in one sequence "
                             f"folder, expected one ({', '.join(f.name for f in files)})")
        return read_emotion_file(files[0])

    def load_data_list(self) -> List[Dict[str, Any]]:
        """Scan the CK+ tree; one sample per peak frame of every labelled sequence.

        Returns:
            list[dict]: Samples in subject, sequence, frame order.
        """
        root = Path(self.data_root).expanduser()
        if not root.is_dir():
            raise self._missing_root_error(root)
        images_root, emotion_root = root / layout.IMAGES_DIR, root / layout.EMOTION_DIR
        for folder in (images_root, emotion_root):
            if not folder.is_dir():
                raise self._missing_root_error(folder)
        root = root.resolve()
        self._read_landmarks = self.with_landmarks
        if self.with_landmarks and not (root / layout.LANDMARKS_DIR).is_dir():
            self.record_issue("no Landmarks folder (all landmarks None)",
                              root / layout.LANDMARKS_DIR)
            self._read_landmarks = False
        data_list: List[Dict[str, Any]] = []
        for subject, seq_dir in self._sequence_folders(images_root):
            data_list.extend(self._load_sequence(root, subject, seq_dir))
        self._check_orphan_labels(images_root, emotion_root)
        return data_list

    def _sequence_folders(self, images_root: Path) -> List[Tuple[str, Path]]:
        """``(subject, folder)`` of every sequence folder, each folder read once."""
        seen = {folder_key(images_root)}
        subjects = claim_folders([e for e in scan_folder(images_root, self.record_issue)
                                  if e.is_dir], seen, self.record_issue)
        pairs = [(subject.path.name, entry) for subject in subjects
                 for entry in scan_folder(subject.path, self.record_issue) if entry.is_dir]
        kept = {id(e) for e in claim_folders([e for _, e in pairs], seen, self.record_issue)}
        return [(subject, entry.path) for subject, entry in pairs if id(entry) in kept]

    def _load_sequence(self, root: Path, subject: str, seq_dir: Path) -> List[Dict[str, Any]]:
        sequence = seq_dir.name
        frames, others = self._list_frames(seq_dir, f"{subject}_{sequence}_")
        for other in others:
            self.record_issue("file not named like a CK+ frame (ignored)", other)
        code = self._read_label(root / layout.EMOTION_DIR / subject / sequence)
        if code is None:
            self.record_issue("unlabelled sequence (no emotion file, skipped)", seq_dir)
            return []
        if code == 0:
            self.record_issue("sequence labelled neutral (skipped)", seq_dir)
            return []
        label = self._class_index(code)
        if label is None:
            self.record_issue(f"{CKPLUS_EMOTION_NAMES[code]} sequence not in the "
                              f"{self.num_classes} classes (skipped)", seq_dir)
            return []
        if len(frames) < 2:
            self.record_issue("sequence with fewer than 2 frames (skipped)", seq_dir)
            return []
        num_peak = min(self.num_peak_frames, len(frames) - 1)
        if num_peak < self.num_peak_frames:
            self.record_issue(f"sequence shorter than {self.num_peak_frames + 1} frames "
                              f"(fewer peak frames)", seq_dir)
        neutral_frame, neutral_path = frames[0]
        neutral_landmarks = self._landmarks(root, subject, sequence, neutral_frame)
        samples = []
        for frame, path in frames[-num_peak:]:
            samples.append(dict(
                img_path=str(path.resolve()),
                neutral_path=str(neutral_path.resolve()),
                landmarks=self._landmarks(root, subject, sequence, frame),
                neutral_landmarks=neutral_landmarks,
                gt_label=label,
                subject=subject,
                sequence=sequence,
                frame=frame,
            ))
        return samples

    def _check_orphan_labels(self, images_root: Path, emotion_root: Path) -> None:
        for emotion_file in sorted(emotion_root.glob("*/*/*_emotion.txt")):
            seq = emotion_file.parent
            if not (images_root / seq.parent.name / seq.name).is_dir():
                self.record_issue("emotion file without a frame folder (ignored)", emotion_file)
