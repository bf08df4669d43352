"""Every hook and every registry is documented; the public API does not lose names."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from errkit import hookspecs
from errkit.registry import ALL_REGISTRIES
from tests.helpers import PUBLIC_MODULES, REPO_ROOT

SNAPSHOT = Path(__file__).with_name("api_surface.txt")


def _hooks():
    return [name for name, obj in inspect.getmembers(hookspecs, inspect.isfunction)
            if name.startswith("errkit_")]


def test_every_hook_has_a_full_contract():
    hooks = _hooks()
    assert hooks, "no hookspecs found"
    for name in hooks:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "Who implements it" in doc, f"{name}: docstring lacks who implements it"
        params = [p for p in inspect.signature(getattr(hookspecs, name)).parameters]
        if params:
            assert "Args:" in doc, f"{name}: docstring lacks Args"
        assert "Returns:" in doc, f"{name}: docstring lacks Returns"


def test_every_hook_is_rendered_in_the_plugin_page():
    page = (REPO_ROOT / "docs" / "plugins.rst").read_text()
    for name in _hooks():
        assert name in page, f"docs/plugins.rst does not render hook {name}"


def test_every_registry_is_documented():
    module = importlib.import_module("errkit.registry")
    names = {id(obj): name for name, obj in vars(module).items() if name.isupper()}
    for registry in ALL_REGISTRIES.values():
        assert f"``{names[id(registry)]}``" in module.__doc__, \
            f"errkit.registry docstring lacks {names[id(registry)]}"
    page = (REPO_ROOT / "docs" / "registries.rst").read_text()
    assert ".. errkit-registry-table::" in page  # renders ALL_REGISTRIES with their names


def current_surface():
    lines = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in sorted(getattr(module, "__all__", [])):
            lines.append(f"{module_name}.{name}")
    for attr, registry in sorted(ALL_REGISTRIES.items()):
        for name in sorted(registry.all_names()):
            lines.append(f"registry:{attr}:{name}")
    return lines


def test_public_api_keeps_every_name():
    """Removing a public name or a registered component must be a deliberate change:
    update tests/test_docs/api_surface.txt (``python -m tests.test_docs.test_docs_coverage``)."""
    expected = [ln for ln in SNAPSHOT.read_text().splitlines() if ln and not ln.startswith("#")]
    missing = sorted(set(expected) - set(current_surface()))
    assert not missing, f"public names removed: {missing}"


if __name__ == "__main__":
    SNAPSHOT.write_text("# errkit's public API: module.name and registry:kind:name, one a line\n"
                        + "\n".join(current_surface()) + "\n")
    print(f"wrote {SNAPSHOT}")
