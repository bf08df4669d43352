"""The ``errkit`` command: ``errkit plugins``, ``errkit train``, ``errkit test`` and more.

Each subcommand runs the same code as the matching ``tools/*.py`` script.
"""

from __future__ import annotations

import importlib
import sys
from typing import List, Optional

from errkit._package_check import check_errkit_package

check_errkit_package()

__all__ = ["SUBCOMMANDS", "SUMMARIES", "main"]

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


#: Subcommand -> its one-line summary, shown by ``errkit --help``.
SUMMARIES = {
    "plugins": "list the installed plugins and the components each one registers",
    "train": "train a model from a config (a path or a name in the config folders)",
    "test": "evaluate a checkpoint on the test split of a config",
    "kfold": "k-fold cross-validation of a config, with a summary table",
    "ablation": "train and test several configs on one fold, in one table",
    "new-plugin": "write the skeleton of a residual plugin distribution",
    "infer": "recognise and remove expressions in image files",
    "export": "export the recognition path as TorchScript or ONNX",
}


def _usage() -> str:
    names = ", ".join(SUBCOMMANDS)
    return f"usage: errkit {{{names}}} [args...]\n       errkit COMMAND --help"


def _help() -> str:
    width = max(len(name) for name in SUBCOMMANDS) + 2
    commands = "\n".join(f"  {name:<{width}}{SUMMARIES[name]}" for name in SUBCOMMANDS)
    return ("usage: errkit [-h] [-V] COMMAND [ARGS...]\n\n"
            "Train, evaluate and serve ERR-Net, with plugins for every part.\n\n"
            f"commands:\n{commands}\n\n"
            "options:\n"
            "  -h, --help     show this message and exit\n"
            "  -V, --version  show the versions of errkit, Python, torch and mmengine\n\n"
            "'errkit COMMAND --help' shows the options of a command.")


def _version() -> str:
    import platform
    from importlib import metadata

    from errkit.version import PLUGIN_API_VERSION, __version__

    def installed(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (f"errkit {__version__} (plugin API {PLUGIN_API_VERSION}; Python "
            f"{platform.python_version()}, torch {installed('torch')}, "
            f"mmengine {installed('mmengine')})")


def main(argv: Optional[List[str]] = None) -> int:
    """Dispatch ``errkit COMMAND ...`` to the subcommand's ``main``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_help())
        return 0
    if argv[0] in ("-V", "--version"):
        print(_version())
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
