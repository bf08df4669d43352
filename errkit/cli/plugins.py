"""``errkit plugins``: list the discovered plugins and what each registered."""

from __future__ import annotations

import argparse
import json
from typing import List, Optional

from errkit.cli.common import fail
from errkit.plugin_manager import PluginError, disable_plugins, load_plugins
from errkit.registry import ALL_REGISTRIES
from errkit.utils.help_text import HelpFormatter, plain_text
from errkit.version import PLUGIN_API_VERSION

__all__ = ["parse_args", "format_plugins", "main"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the flags of ``errkit plugins``."""
    parser = argparse.ArgumentParser(prog="errkit plugins", description=plain_text(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this plugin; repeatable")
    return parser.parse_args(argv)


def format_plugins(plugins) -> str:
    """Render :class:`~errkit.plugin_manager.PluginInfo` records as text.

    A component that a plugin registered over another plugin's (``force=True``)
    shows on both: ``overrides`` under the plugin that replaced it, and
    ``(replaced by ...)`` after the name in the list of the one replaced.
    """
    lines = [f"errkit plugin API {PLUGIN_API_VERSION}"]
    for info in plugins:
        head = f"{info.distribution} {info.version}  [{info.name} = {info.value}]"
        if info.status != "loaded":
            head += f"  ({info.status}: {info.reason})"
        lines.append("")
        lines.append(head)
        for registry, names in sorted(info.components.items()):
            gone = info.overridden.get(registry, {})
            shown = [f"{n} (replaced by {gone[n]})" if n in gone else n for n in names]
            lines.append(f"  {registry} ({len(names)}): {', '.join(shown)}")
        for registry, names in sorted(info.overrides.items()):
            replaced = ", ".join(f"{n} (was {owner}'s)" for n, owner in sorted(names.items()))
            lines.append(f"  overrides in {registry}: {replaced}")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``errkit plugins``."""
    args = parse_args(argv)
    disable_plugins(args.disable_plugin)
    try:
        plugins = load_plugins(ALL_REGISTRIES)
    except PluginError as exc:
        fail(str(exc))
    if args.json:
        print(json.dumps([dict(name=p.name, value=p.value, distribution=p.distribution,
                               version=p.version, status=p.status, reason=p.reason,
                               api=p.api, components=p.components, overrides=p.overrides,
                               overridden=p.overridden) for p in plugins], indent=2))
    else:
        print(format_plugins(plugins))
    return 0
