"""The pages render what they mean: code excerpts that stand alone, tables without bullets."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.rst"))
_INCLUDE = re.compile(r"^\.\. literalinclude:: (\S+)\n((?:[ \t]+:[\w-]+:.*\n)*)", re.M)


def _excerpts():
    """``(page, file, options)`` of every literalinclude of a Python module's top level."""
    for page in PAGES:
        for match in _INCLUDE.finditer(page.read_text()):
            options = dict(re.findall(r":([\w-]+):[ \t]*(.*)", match.group(2)))
            path = (page.parent / match.group(1)).resolve()
            if path.suffix == ".py" and "pyobject" not in options:
                yield pytest.param(page, path, options,
                                   id=f"{page.relative_to(DOCS)}:{path.name}")


def _cut(text: str, options: dict) -> str:
    """The lines literalinclude shows (start-at / start-after / end-before / end-at)."""
    lines = text.splitlines(keepends=True)
    start, end = 0, len(lines)
    for key, after in (("start-at", False), ("start-after", True)):
        if key in options:
            start = next(i for i, ln in enumerate(lines) if options[key] in ln) + after
    for key, at in (("end-before", False), ("end-at", True)):
        if key in options:
            end = next(i for i, ln in enumerate(lines) if i >= start and options[key] in ln) + at
    return "".join(lines[start:end])


@pytest.mark.parametrize("page, path, options", list(_excerpts()))
def test_python_excerpts_import_what_they_use(page, path, options):
    """A reader who copies an excerpt gets code whose every name is defined or imported."""
    tree = ast.parse(_cut(path.read_text(), options))
    bound, loaded = set(dir(builtins)) | {"__file__", "__name__"}, set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    assert not loaded - bound, f"{page.name} shows {path.name} without {sorted(loaded - bound)}"


def _cell_bullets(page: Path) -> list:
    """Bullet lists that docutils makes inside the table cells of a page."""
    from docutils import nodes
    from docutils.core import publish_doctree

    text = page.read_text()
    # Sphinx-only directives and roles are unknown to plain docutils: silenced, tables kept.
    doctree = publish_doctree(text, settings_overrides={"report_level": 5, "halt_level": 5})
    found = []
    for table in doctree.findall(nodes.table):
        for entry in table.findall(nodes.entry):
            for _ in entry.findall(nodes.bullet_list):
                found.append(entry.astext() or "(empty bullet)")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_no_table_cell_renders_as_a_bullet_list(page):
    """A cell written ``- -`` in a list-table becomes an empty bullet, not a dash."""
    assert _cell_bullets(page) == []


def test_readme_keeps_its_two_commands_first_and_names_every_tool():
    text = (REPO / "README.md").read_text()
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [ln.split("#")[0].strip() for ln in first_block.splitlines() if ln.strip()]
    assert commands == ["make demo", "make test"]
    for tool in sorted((REPO / "tools").glob("*.py")):
        if tool.stem in ("train", "test", "kfold", "ablation", "infer", "benchmark"):
            assert f"tools/{tool.name}" in text or f"errkit {tool.stem}" in text, tool.name


def test_the_benchmark_and_make_venv_are_documented():
    pages = {p.relative_to(DOCS).as_posix(): p.read_text() for p in PAGES}
    assert "tutorials/benchmark" in pages["index.rst"]
    assert "python tools/benchmark.py" in pages["tutorials/benchmark.rst"]
    install = pages["installation.rst"]
    assert "make venv" in install and "errkit-lbp-residual" in install
