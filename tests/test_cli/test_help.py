"""``--help`` of every command is plain text (no reStructuredText) and says the defaults."""

from __future__ import annotations

import re

import pytest

from errkit.benchmark.runner import parse_args as benchmark_args
from errkit.cli import SUBCOMMANDS, main
from errkit.utils.help_text import plain_text

#: What reStructuredText markup looks like in a terminal.
MARKUP = re.compile(r"``|:(func|class|mod|meth|attr|data|doc):`|`_|\*\*|::$", re.M)


def _help(call, capsys) -> str:
    with pytest.raises(SystemExit) as info:
        call()
    assert info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_command_help_has_no_markup(command, capsys):
    text = _help(lambda: main([command, "--help"]), capsys)
    assert f"errkit {command}" in text
    assert not MARKUP.search(text), MARKUP.search(text).group(0)


def test_infer_help_describes_its_outputs_in_plain_words(capsys):
    text = _help(lambda: main(["infer", "--help"]), capsys)
    assert "writes OUT/<name>.png" in text and "OUT/results.json" in text
    assert "last_checkpoint" in text  # the checkpoint argument takes a run too


def test_benchmark_help_shows_every_default(capsys):
    text = _help(lambda: benchmark_args(["--help"]), capsys)
    assert not MARKUP.search(text)
    options = re.findall(r"^  (--[\w-]+)", text, re.M)
    flags = {"--amp", "--channels-last", "--compile", "--help"}
    described = re.split(r"\n  (?=--)", text.split("options:", 1)[1])
    for option, block in zip(options, described[1:]):
        if option not in flags:
            assert "default" in block, f"{option} does not say its default"


def test_plain_text_keeps_words_and_drops_marks():
    assert plain_text(":class:`~errkit.apis.ExpressionRemover` and ``x`` **now**") == (
        "ExpressionRemover and x now")
    assert plain_text(":doc:`the quick start <quickstart>`") == "the quick start"
