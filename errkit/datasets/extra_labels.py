"""Further label sets of a dataset's faces, read from CSV tables (e.g. observer ratings).

A face dataset is usually labelled with the expression the performer was asked
to pose. Some datasets ship other label sets of the same faces as tables, such
as the category most observers chose when rating each photo. An
:class:`ExtraLabelTable` reads one such column; datasets store the result per
sample under ``extra_labels`` (``{name: class index}``, ``-1`` when the table
has no usable value), and :class:`~errkit.evaluation.ExpressionMetric`
reports the accuracy against each set beside the accuracy against
``gt_label``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Union

from .io import DataFileError

__all__ = ["ExtraLabelTable", "build_extra_label_tables"]

PathLike = Union[str, os.PathLike]


class ExtraLabelTable:
    """One label set from a CSV file: a key column and a label column.

    Args:
        file (str | os.PathLike): The CSV file (with a header row); relative
            paths are taken from ``root``.
        key (str): Column naming the image: its path relative to the
            dataset's root (``/``-separated) or its file name.
        column (str): Column holding the label.
        classes (Sequence[str]): The dataset's class names.
        label_map (Mapping[str, str], optional): Raw value -> class name;
            values mapped to a name outside ``classes`` (or missing from the
            map) give ``-1``. Defaults to None (values are class names).
        root (str | os.PathLike, optional): Folder of a relative ``file``.
            Defaults to None (the current folder).

    Raises:
        errkit.datasets.DataFileError: The file is missing or unreadable, or
            lacks one of the two columns (the message names the file and the
            columns it has).

    Examples:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> with open(os.path.join(folder, 'ratings.csv'), 'w') as f:
        ...     _ = f.write('file,rated_top\\n0111b01.jpg,1\\n0111c03.jpg,4\\n')
        >>> table = ExtraLabelTable('ratings.csv', key='file', column='rated_top',
        ...                         classes=('happy', 'sad'), root=folder,
        ...                         label_map={'1': 'happy', '2': 'sad', '4': 'disgusted'})
        >>> table.lookup('0111b01.jpg'), table.lookup('0111c03.jpg'), table.lookup('x.jpg')
        (0, -1, None)
    """

    def __init__(self, file: PathLike, key: str, column: str, classes: Sequence[str],
                 label_map: Optional[Mapping[str, str]] = None,
                 root: Optional[PathLike] = None) -> None:
        path = Path(file).expanduser()
        if root is not None and not path.is_absolute():
            path = Path(root).expanduser() / path
        self.path = path
        self.classes = tuple(str(c) for c in classes)
        self.label_map = {str(k): str(v) for k, v in (label_map or {}).items()} or None
        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                columns = list(reader.fieldnames or [])
                missing = [c for c in (key, column) if c not in columns]
                if missing:
                    raise DataFileError(f"{path}: no column(s) {missing}; the header has "
                                        f"{columns}")
                rows = [(str(row[key]).strip(), str(row[column]).strip()) for row in reader]
        except OSError as exc:
            raise DataFileError(f"{path}: cannot read the label table ({exc})") from exc
        self.values: Dict[str, int] = {}
        for name, raw in rows:
            self.values[name] = self._index(raw)

    def _index(self, raw: str) -> int:
        name = self.label_map.get(raw) if self.label_map is not None else raw
        return self.classes.index(name) if name in self.classes else -1

    def lookup(self, rel_path: str) -> Optional[int]:
        """The class index of one image.

        Args:
            rel_path (str): The image's path relative to the dataset root.

        Returns:
            int | None: The class index, ``-1`` when the table's value is not
            one of the classes, None when the table does not list the image
            (by relative path, then by file name).
        """
        if rel_path in self.values:
            return self.values[rel_path]
        return self.values.get(rel_path.rsplit("/", 1)[-1])


def build_extra_label_tables(specs: Optional[Mapping[str, Mapping]], classes: Sequence[str],
                             root: Optional[PathLike]) -> Dict[str, ExtraLabelTable]:
    """Build the tables of a dataset's ``extra_labels`` argument.

    Args:
        specs (Mapping[str, Mapping], optional): Label-set name ->
            :class:`ExtraLabelTable` arguments (``file``, ``key``, ``column``,
            optional ``label_map``), e.g.
            ``{'rated': dict(file='ratings.csv', key='file', column='rated_top')}``.
        classes (Sequence[str]): The dataset's class names.
        root (str | os.PathLike, optional): Folder of relative files.

    Returns:
        dict[str, ExtraLabelTable]: One table per name (empty without specs).

    Raises:
        ValueError: A spec is not a mapping or has unknown or missing keys.
    """
    tables: Dict[str, ExtraLabelTable] = {}
    allowed = {"file", "key", "column", "label_map"}
    for name, spec in (specs or {}).items():
        if not isinstance(spec, Mapping):
            raise ValueError(f"extra_labels['{name}'] must be a dict with file, key, column "
                             f"(and label_map), got {spec!r}")
        unknown = set(spec) - allowed
        missing = {"file", "key", "column"} - set(spec)
        if unknown or missing:
            raise ValueError(f"extra_labels['{name}']: unknown keys {sorted(unknown)}, missing "
                             f"keys {sorted(missing)} (allowed: {sorted(allowed)})")
        tables[str(name)] = ExtraLabelTable(classes=classes, root=root, **spec)
    return tables
