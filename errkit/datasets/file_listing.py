"""Listing dataset folders without tripping over broken links, loops or odd folders.

The datasets list their files through :func:`scan_folder` and
:func:`walk_files`. Entries that cannot be read as what their name promises are
never fatal and never silent: they are handed to the dataset's
``record_issue`` under one of the kinds below, and end up in its load report.

- :data:`DANGLING_SYMLINK`: a symbolic link whose target does not exist;
- :data:`SYMLINK_LOOP`: a link that resolves to itself through other links;
- :data:`REPEATED_FOLDER`: a link to a folder already listed (a link to a parent
  folder, or a second link to the same folder), skipped so that no folder is
  listed twice and no walk goes round in circles;
- :data:`FOLDER_NAMED_LIKE_FILE`: a folder whose name ends like a data file
  (``S005_001_00000001.png/``), never read as a file (a folder dataset
  searches it as a folder);
- :data:`UNREADABLE_ENTRY`: a folder or entry the operating system refuses to read.

Links to folders are followed (each folder once), links to files are read as
the files they point to.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any, Callable, List, NamedTuple, Optional, Set, Tuple

__all__ = ["DANGLING_SYMLINK", "SYMLINK_LOOP", "REPEATED_FOLDER", "FOLDER_NAMED_LIKE_FILE",
           "UNREADABLE_ENTRY", "FolderEntry", "folder_key", "scan_folder", "enter_folder",
           "claim_folders", "walk_files", "why_not_a_file"]

DANGLING_SYMLINK = "dangling symlink (ignored)"
SYMLINK_LOOP = "symlink loop (ignored)"
REPEATED_FOLDER = "link to a folder already listed: a loop or a duplicate (skipped)"
FOLDER_NAMED_LIKE_FILE = "folder named like a data file (not read as one)"
UNREADABLE_ENTRY = "unreadable folder or entry (ignored)"

#: ``record_issue(kind, example)`` of :class:`~errkit.datasets.BaseFERDataset`.
RecordIssue = Callable[[str, Any], None]
#: ``(st_dev, st_ino)``: identifies a folder whatever the path that reaches it.
FolderKey = Tuple[int, int]


class FolderEntry(NamedTuple):
    """One readable entry of a folder, links resolved.

    ``path`` is the entry's path (through the link, not its target), ``is_dir``
    is True for a folder and False for a regular file, ``is_link`` tells a
    symbolic link, and ``key`` is ``(st_dev, st_ino)`` of the file or folder.
    """

    path: Path
    is_dir: bool
    is_link: bool
    key: FolderKey


def folder_key(path: Path) -> FolderKey:
    """``(st_dev, st_ino)`` of ``path`` (links followed)."""
    st = os.stat(path)
    return st.st_dev, st.st_ino


def scan_folder(folder: Path, record_issue: RecordIssue,
                file_suffixes: Tuple[str, ...] = ()) -> List[FolderEntry]:
    """The regular files and folders directly in ``folder``, sorted by name.

    Hidden entries (names starting with ``.``) are left out. Dangling links,
    link loops, entries that cannot be read, and (when ``file_suffixes`` is
    given) folders whose name ends with one of them are recorded.

    Args:
        folder (Path): The folder to list.
        record_issue (Callable[[str, Any], None]): Called with the kind and the
            path of every entry that is left out or suspicious.
        file_suffixes (tuple[str, ...]): Lower-case suffixes of the data files
            (``('.png', '.jpg')``): a folder named with one is recorded as
            :data:`FOLDER_NAMED_LIKE_FILE` (and still returned). Defaults to ``()``.

    Returns:
        list[FolderEntry]: Regular files and folders; other kinds of entries
        (sockets, devices) are left out.
    """
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        record_issue(UNREADABLE_ENTRY, folder)
        return []
    out = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_link = entry.is_symlink()
            st = os.stat(path)
        except FileNotFoundError:
            record_issue(DANGLING_SYMLINK if os.path.islink(path) else UNREADABLE_ENTRY, path)
            continue
        except OSError as exc:
            record_issue(SYMLINK_LOOP if exc.errno == errno.ELOOP else UNREADABLE_ENTRY, path)
            continue
        if stat.S_ISDIR(st.st_mode):
            if file_suffixes and path.name.lower().endswith(file_suffixes):
                record_issue(FOLDER_NAMED_LIKE_FILE, path)
            out.append(FolderEntry(path, True, is_link, (st.st_dev, st.st_ino)))
        elif stat.S_ISREG(st.st_mode):
            out.append(FolderEntry(path, False, is_link, (st.st_dev, st.st_ino)))
    return out


def enter_folder(entry: FolderEntry, seen: Set[FolderKey], record_issue: RecordIssue) -> bool:
    """Whether to descend into a listed folder; a folder reached twice is recorded once.

    Args:
        entry (FolderEntry): A folder from :func:`scan_folder`.
        seen (set[tuple[int, int]]): Keys of the folders entered so far (updated).
        record_issue (Callable[[str, Any], None]): Records :data:`REPEATED_FOLDER`.

    Returns:
        bool: True the first time a folder is reached.
    """
    if entry.key in seen:
        record_issue(REPEATED_FOLDER, entry.path)
        return False
    seen.add(entry.key)
    return True


def claim_folders(entries: List[FolderEntry], seen: Set[FolderKey],
                  record_issue: RecordIssue) -> List[FolderEntry]:
    """The folders of ``entries`` reached for the first time, real ones claimed first.

    A link to a folder that is also listed directly is the one recorded as
    :data:`REPEATED_FOLDER`, wherever it comes in the listing.

    Args:
        entries (list[FolderEntry]): Folders (from :func:`scan_folder`).
        seen (set[tuple[int, int]]): Keys of the folders claimed so far (updated).
        record_issue (Callable[[str, Any], None]): Records :data:`REPEATED_FOLDER`.

    Returns:
        list[FolderEntry]: The claimed folders, in the order of ``entries``.
    """
    claimed = set()
    for links in (False, True):
        for index, entry in enumerate(entries):
            if entry.is_link == links and enter_folder(entry, seen, record_issue):
                claimed.add(index)
    return [entry for index, entry in enumerate(entries) if index in claimed]


def walk_files(root: Path, record_issue: RecordIssue, suffixes: Tuple[str, ...],
               seen: Optional[Set[FolderKey]] = None) -> List[str]:
    """Every regular file under ``root`` whose name ends with one of ``suffixes``.

    Real folders are walked before linked ones, so a link to a folder that is
    also reached directly is the entry recorded as :data:`REPEATED_FOLDER`.

    Args:
        root (Path): The folder to walk.
        record_issue (Callable[[str, Any], None]): Receives every entry left out
            (see the module documentation).
        suffixes (tuple[str, ...]): Lower-case file suffixes with their dot.
        seen (set[tuple[int, int]], optional): Folders already walked (updated).
            Defaults to None (a new set holding ``root``).

    Returns:
        list[str]: Paths relative to ``root``, ``/``-separated, sorted.
    """
    seen = {folder_key(root)} if seen is None else seen
    files: List[str] = []
    pending = [root]
    links: List[FolderEntry] = []
    while pending or links:
        if pending:
            folder = pending.pop()
        else:
            link = links.pop(0)
            if not enter_folder(link, seen, record_issue):
                continue
            folder = link.path
        for entry in scan_folder(folder, record_issue, suffixes):
            if not entry.is_dir:
                if entry.path.name.lower().endswith(suffixes):
                    files.append(entry.path.relative_to(root).as_posix())
            elif entry.is_link:
                links.append(entry)
            elif enter_folder(entry, seen, record_issue):
                pending.append(entry.path)
    return sorted(files)


def why_not_a_file(path: Path) -> str:
    """Why a listed path cannot be read as a file, in a word or three.

    Args:
        path (Path): A path that :meth:`pathlib.Path.is_file` rejected.

    Returns:
        str: ``'missing'``, ``'a dangling symlink'``, ``'a symlink loop'``,
        ``'a folder'``, ``'not a regular file'`` or ``'not readable'``.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "a dangling symlink" if os.path.islink(path) else "missing"
    except OSError as exc:
        return "a symlink loop" if exc.errno == errno.ELOOP else "not readable"
    return "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
