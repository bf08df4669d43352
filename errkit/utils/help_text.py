"""Command-line help from docstrings: reStructuredText markup removed, defaults shown.

errkit's commands take their ``--help`` description from their module
docstring, which Sphinx renders. :func:`plain_text` turns its markup into what
a terminal shows; :class:`HelpFormatter` keeps the paragraphs as written and
appends each option's default where it is not already said.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["plain_text", "HelpFormatter"]

_ROLE = re.compile(r":[\w:.-]+:`(~?)([^`<]*?)\s*(?:<([^`>]*)>)?`")
_LINK = re.compile(r"`([^`<]+?)\s*<([^`>]+)>`__?")


def _role(match: re.Match) -> str:
    tilde, text, target = match.groups()
    if target:  # :doc:`the title <page>`
        return text
    return text.rsplit(".", 1)[-1] if tilde else text


def plain_text(text: str) -> str:
    """A docstring's reStructuredText as plain text for a terminal.

    Roles (``:func:`~errkit.config.load_config```) become their name, inline
    literals and emphasis lose their marks, links become ``text (url)`` and a
    literal block's ``::`` becomes ``:``.

    Args:
        text (str): The docstring.

    Returns:
        str: The text without markup.

    Examples:
        >>> plain_text("Writes ``OUT/<name>.png`` with :func:`~errkit.apis.export_model`::")
        'Writes OUT/<name>.png with export_model:'
        >>> plain_text("See `mmengine <https://mmengine.readthedocs.io>`_ and **this**.")
        'See mmengine (https://mmengine.readthedocs.io) and this.'
    """
    text = _ROLE.sub(_role, text)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = re.sub(r"``(.+?)``", r"\1", text, flags=re.S)
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text, flags=re.S)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<=\S)::$", ":", text, flags=re.M)
    text = re.sub(r"^\s*::\s*$\n?", "", text, flags=re.M)
    return text.strip("\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter,
                    argparse.ArgumentDefaultsHelpFormatter):
    """Paragraphs kept as written; ``(default: X)`` added to options that have one.

    The default is not added where the help already says it (``default:``),
    nor for a flag (``store_true``) or an option without a default (None).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.default in (None, False, argparse.SUPPRESS)
                or isinstance(action.default, list) and not action.default):
            return text
        return super()._get_help_string(action)
