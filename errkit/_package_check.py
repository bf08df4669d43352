"""Detect an ``errkit`` folder that hides the errkit package.

With errkit installed in editable mode (``pip install -e``, as ``make venv``
does), the package is found through a finder that comes after the folders of
``sys.path``. A folder named ``errkit`` without errkit's ``__init__.py`` in the
current folder (say, the checkout itself, run from its parent) or on
``PYTHONPATH`` then becomes ``errkit``: an empty namespace package, while
``errkit.cli`` and the other submodules still come from the real install. The
first use of ``errkit.hookimpl`` (by a plugin) would fail with an error that
blames the plugin. :func:`check_errkit_package` names the folder instead.
"""

from __future__ import annotations

import os
import sys

__all__ = ["check_errkit_package"]

_HERE = os.path.dirname(os.path.realpath(__file__))


def _advice(folder: str) -> str:
    if os.path.isfile(os.path.join(folder, "errkit", "__init__.py")):  # a checkout's root
        return (f"it looks like an errkit checkout: install it with `pip install -e {folder}`, "
                "or run Python from another folder")
    return "run Python from another folder, or rename that folder"


def check_errkit_package() -> None:
    """Raise when ``import errkit`` found something other than this package.

    Raises:
        ImportError: ``sys.modules['errkit']`` is not the package this module
            belongs to (typically a bare ``errkit`` folder in the current folder
            or on ``PYTHONPATH``); the message names the folder and what to do.
    """
    package = sys.modules.get("errkit")
    if package is None:
        return
    init = getattr(package, "__file__", None)
    if init is not None and os.path.dirname(os.path.realpath(init)) == _HERE:
        return
    folders = list(getattr(package, "__path__", None) or []) or [str(init)]
    folder = os.path.abspath(folders[0])
    raise ImportError(
        f"`import errkit` found the folder {folder}, not the errkit package (installed at "
        f"{_HERE}): a folder named 'errkit' in the current folder or on PYTHONPATH hides the "
        f"installed errkit; {_advice(folder)}")
