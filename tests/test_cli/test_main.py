"""``errkit`` itself: the command list with a line on each, ``--version``, unknown commands."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from errkit.cli import SUBCOMMANDS, SUMMARIES, main
from errkit.version import PLUGIN_API_VERSION, __version__
from tests.helpers import REPO_ROOT


@pytest.mark.parametrize("flag", [[], ["-h"], ["--help"]])
def test_help_lists_every_command_with_a_one_line_summary(flag, capsys):
    assert main(flag) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: errkit [-h] [-V] COMMAND [ARGS...]")
    assert set(SUMMARIES) == set(SUBCOMMANDS)
    lines = out.splitlines()
    for name, summary in SUMMARIES.items():
        assert sum(bool(re.fullmatch(rf"  {re.escape(name)} +{re.escape(summary)}", ln))
                   for ln in lines) == 1, name
        assert 20 < len(summary) < 80
        importlib.import_module(SUBCOMMANDS[name])  # each listed command exists
    assert "-V, --version" in out and "'errkit COMMAND --help'" in out
    assert all(len(ln) <= 100 for ln in lines)


def test_version_names_errkit_plugin_api_and_the_main_libraries(capsys):
    import mmengine
    import torch

    for flag in ("-V", "--version"):
        assert main([flag]) == 0
        out = capsys.readouterr().out.strip()
        assert out.startswith(f"errkit {__version__} (plugin API {PLUGIN_API_VERSION}; ")
        assert f"torch {torch.__version__.split('+')[0]}" in out
        assert f"mmengine {mmengine.__version__}" in out and "\n" not in out


def test_unknown_command_suggests_the_close_one(capsys):
    assert main(["tarin"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'tarin'. Did you mean 'train'?" in err


@pytest.mark.slow
def test_console_script_help_and_version():
    script = Path(sys.executable).with_name("errkit")
    assert script.is_file(), f"no errkit console script beside {sys.executable} (pip install -e .)"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    for flag, expected in (("--help", "  infer       recognise and remove expressions"),
                           ("--version", f"errkit {__version__} (plugin API")):
        result = subprocess.run([str(script), flag], capture_output=True, text=True, env=env,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
