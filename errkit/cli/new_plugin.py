"""``errkit new-plugin NAME``: write the skeleton of a residual plugin distribution.

The skeleton is a complete pip package: ``pyproject.toml`` with the ``errkit``
entry point, a package with the hook implementations (``plugin.py``) and a
:class:`~errkit.models.residuals.BaseResidual` subclass whose docstring states the
contract, a config that adds the residual to errkit's synthetic ERR-Net, tests that
assert errkit discovers it, and a README. Install it with ``pip install -e DIR``.
"""

from __future__ import annotations

import argparse
import importlib.util
import keyword
import os
import re
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Dict, List, Optional

from errkit.cli.plugin_template import TEMPLATES
from errkit.utils.help_text import HelpFormatter, plain_text

__all__ = ["SkeletonNames", "skeleton_names", "check_names_are_free", "render_skeleton",
           "write_skeleton", "parse_args", "main"]

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")


@dataclass
class SkeletonNames:
    """The names a skeleton uses, all derived from the distribution name.

    Attributes:
        dist (str): Distribution name, normalised (``errkit-flow-residual``).
        module (str): Top-level package (``errkit_flow_residual``).
        entry_point (str): Entry-point name (``flow_residual``).
        class_name (str): Residual class (``FlowResidual``).
        residual_module (str): The class's module (``flow_residual``).
        config_name (str): The config file (``errnet_flow_synthetic.py``).
        plugin_api (str): ``ERRKIT_PLUGIN_API`` for the running errkit (``>=1,<2``).
        errkit_requirement (str): The dependency on errkit (``errkit>=0.1``).
    """

    dist: str
    module: str
    entry_point: str
    class_name: str
    residual_module: str
    config_name: str
    plugin_api: str
    errkit_requirement: str


def _snake(class_name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


def skeleton_names(name: str, class_name: Optional[str] = None) -> SkeletonNames:
    """Derive every name of the skeleton from ``name``.

    Args:
        name (str): Distribution name, e.g. ``errkit-flow-residual`` or ``flow``.
        class_name (str, optional): The residual class. Defaults to the name's
            words without ``errkit`` / ``residual``, capitalised, plus
            ``Residual`` (``FlowResidual``).

    Returns:
        SkeletonNames: The names.

    Raises:
        ValueError: ``name`` or ``class_name`` is not usable; the message says why.

    Examples:
        >>> n = skeleton_names('errkit-flow-residual')
        >>> n.module, n.entry_point, n.class_name, n.config_name
        ('errkit_flow_residual', 'flow_residual', 'FlowResidual', 'errnet_flow_synthetic.py')
    """
    from errkit.version import PLUGIN_API_VERSION, __version__

    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"invalid plugin name {name!r}: use letters, digits and single '-', "
                         "'_' or '.' between them, starting with a letter "
                         "(e.g. errkit-flow-residual)")
    dist = re.sub(r"[-_.]+", "-", name).lower()
    if dist == "errkit":
        raise ValueError("the plugin name cannot be 'errkit' (errkit's own distribution)")
    module = dist.replace("-", "_")
    if keyword.iskeyword(module):
        raise ValueError(f"invalid plugin name {name!r}: {module!r} is a Python keyword")
    _check_module_is_free(name, module)
    short = dist[len("errkit-"):] if dist.startswith("errkit-") else dist
    words = short.split("-")
    if class_name is None:
        stem = [w for w in words if w != "residual"]
        if not stem:
            raise ValueError(f"cannot derive a class name from {name!r}: pass --class-name")
        class_name = "".join(w[:1].upper() + w[1:] for w in stem) + "Residual"
    if not class_name.isidentifier() or keyword.iskeyword(class_name) or \
            not class_name[:1].isupper():
        raise ValueError(f"invalid class name {class_name!r}: use a CamelCase Python identifier")
    residual_module = _snake(class_name)
    config_stem = residual_module[:-len("_residual")] if residual_module.endswith(
        "_residual") and residual_module != "_residual" else residual_module
    major = int(PLUGIN_API_VERSION.split(".")[0])
    errkit_minor = ".".join(__version__.split(".")[:2])
    return SkeletonNames(
        dist=dist, module=module, entry_point=short.replace("-", "_"), class_name=class_name,
        residual_module=residual_module, config_name=f"errnet_{config_stem}_synthetic.py",
        plugin_api=f">={major},<{major + 1}", errkit_requirement=f"errkit>={errkit_minor}")


def _stdlib_module_names() -> frozenset:
    names = getattr(sys, "stdlib_module_names", None)  # Python >= 3.10
    if names is None:
        import sysconfig

        stdlib = sysconfig.get_paths()["stdlib"]
        names = {n.split(".")[0] for n in os.listdir(stdlib)} | set(sys.builtin_module_names)
    return frozenset(names)


def _check_module_is_free(name: str, module: str) -> None:
    """Refuse a top-level package that would shadow, or be shadowed by, another."""
    hint = f"choose another name (e.g. errkit-{name.lower()})" if not module.startswith(
        "errkit_") else "choose another name"
    if module in _stdlib_module_names():
        raise ValueError(f"invalid plugin name {name!r}: its package {module!r} would shadow "
                         f"the standard-library module {module!r}; {hint}")
    owners = metadata.packages_distributions().get(module) if hasattr(
        metadata, "packages_distributions") else None
    if owners:
        raise ValueError(f"invalid plugin name {name!r}: the package {module!r} already comes "
                         f"from the installed distribution {', '.join(sorted(set(owners)))}; "
                         f"{hint}")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a half-imported module of that name: taken as well
        spec = sys.modules.get(module) and getattr(sys.modules[module], "__spec__", None)
        if spec is None:
            raise ValueError(f"invalid plugin name {name!r}: a module {module!r} is already "
                             f"imported; {hint}") from None
    if spec is not None:
        where = spec.origin or ", ".join(spec.submodule_search_locations or []) or "?"
        raise ValueError(f"invalid plugin name {name!r}: a module {module!r} is already "
                         f"importable ({where}); {hint}")


def check_names_are_free(names: SkeletonNames) -> None:
    """Refuse a skeleton whose class, entry point or config would clash once installed.

    The residual class must not be a name that any errkit registry already holds
    (built-in or from an installed plugin: two components of one name break
    every command), the entry point must not be another plugin's, and the
    config must not shadow a config of errkit or of a plugin.

    Args:
        names (SkeletonNames): From :func:`skeleton_names`.

    Raises:
        ValueError: One line naming the clash and what to choose instead.
    """
    from errkit.plugin_manager import get_config_paths, load_plugins
    from errkit.registry import ALL_REGISTRIES

    try:
        load_plugins(ALL_REGISTRIES)
    except Exception:  # a broken plugin is every command's error; built-ins still count
        pass
    for key, registry in ALL_REGISTRIES.items():
        registry.import_from_location()
        component = registry.module_dict.get(names.class_name)
        if component is not None:
            raise ValueError(
                f"the class name {names.class_name} is already registered in errkit's {key} "
                f"registry ({getattr(component, '__module__', '?')}); choose another plugin "
                f"name or pass --class-name (e.g. --class-name My{names.class_name})")
    for entry_point in metadata.entry_points(group="errkit"):
        if entry_point.name == names.entry_point:
            raise ValueError(f"the entry point name {names.entry_point!r} is already used by "
                             f"{entry_point.value} (an installed errkit plugin); choose "
                             "another plugin name")
    for folder in get_config_paths():
        if os.path.isfile(os.path.join(folder, names.config_name)):
            raise ValueError(f"the config {names.config_name} would shadow "
                             f"{os.path.join(folder, names.config_name)}; choose another "
                             "plugin name or --class-name")


def render_skeleton(names: SkeletonNames) -> Dict[str, str]:
    """The skeleton's files.

    Args:
        names (SkeletonNames): From :func:`skeleton_names`.

    Returns:
        dict[str, str]: Relative path (``/``-separated) -> file text.
    """
    values = asdict(names)
    return {path_template.replace("$module", names.module)
            .replace("$residual_module", names.residual_module)
            .replace("$config_name", names.config_name): template.substitute(values)
            for path_template, template in TEMPLATES.items()}


def write_skeleton(names: SkeletonNames, folder: str) -> List[str]:
    """Write the skeleton into ``folder``, which must not exist yet.

    Args:
        names (SkeletonNames): From :func:`skeleton_names`.
        folder (str): The distribution's folder to create.

    Returns:
        list[str]: The files written.

    Raises:
        FileExistsError: ``folder`` exists (nothing is written).
    """
    if os.path.lexists(folder):
        raise FileExistsError(f"{folder} already exists; errkit new-plugin never overwrites "
                              "files: choose another name or --dir, or remove the folder")
    files = render_skeleton(names)
    os.makedirs(folder)
    written = []
    for rel, text in sorted(files.items()):
        path = os.path.join(folder, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
        written.append(path)
    return written


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the flags of ``errkit new-plugin``."""
    parser = argparse.ArgumentParser(prog="errkit new-plugin", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("name", help="distribution name, e.g. errkit-flow-residual")
    parser.add_argument("--dir", default=".", help="folder in which the distribution's folder "
                        "(named NAME) is created (default: the current folder)")
    parser.add_argument("--class-name", help="the residual class (default: from NAME, e.g. "
                        "FlowResidual)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``errkit new-plugin``."""
    from errkit.cli.common import fail

    args = parse_args(argv)
    try:
        names = skeleton_names(args.name, args.class_name)
        check_names_are_free(names)
    except ValueError as exc:
        fail(str(exc))
    folder = os.path.join(args.dir, names.dist)
    try:
        written = write_skeleton(names, folder)
    except FileExistsError as exc:
        fail(str(exc))
    print(f"Wrote the errkit plugin {names.dist} ({names.class_name} in the residuals registry):")
    for path in written:
        print(f"  {path}")
    print(f"\nNext:\n  pip install -e {folder}\n  errkit plugins\n  pytest {folder}/tests\n"
          f"  errkit train {names.config_name} --smoke   # a few iterations on a small "
          "subset: the whole path runs\n"
          f"  errkit train {names.config_name}           # the real training")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
