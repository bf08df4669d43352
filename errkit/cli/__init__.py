"""The ``errkit`` command: ``errkit plugins``, ``errkit train``, ``errkit test`` and more.

Each subcommand runs the same code as the matching ``tools/*.py`` script.
"""

from __future__ import annotations

import importlib
import sys
from typing import List, Optional

__all__ = ["SUBCOMMANDS", "main"]

#: Subcommand -> module whose ``main(argv)`` runs it.
SUBCOMMANDS = {
    "plugins": "errkit.cli.plugins",
    "train": "errkit.cli.train",
    "test": "errkit.cli.test",
    "kfold": "errkit.cli.kfold",
    "ablation": "errkit.cli.ablation",
    "new-plugin": "errkit.cli.new_plugin",
    "infer": "errkit.cli.infer",
    "export": "errkit.cli.export",
}


def _usage() -> str:
    names = ", ".join(SUBCOMMANDS)
    return f"usage: errkit {{{names}}} [args...]\n       errkit COMMAND --help"


def main(argv: Optional[List[str]] = None) -> int:
    """Dispatch ``errkit COMMAND ...`` to the subcommand's ``main``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from errkit.version import PLUGIN_API_VERSION, __version__

        print(f"errkit {__version__} (plugin API {PLUGIN_API_VERSION})")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in SUBCOMMANDS:
        import difflib

        close = difflib.get_close_matches(command, list(SUBCOMMANDS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        print(f"errkit: unknown command '{command}'.{hint}\n{_usage()}", file=sys.stderr)
        return 2
    result = importlib.import_module(SUBCOMMANDS[command]).main(rest)
    return result if isinstance(result, int) else 0
