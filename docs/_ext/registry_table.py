"""The ``errkit-registry-table`` directive: every registry and its built-in names."""

from docutils import nodes
from docutils.parsers.rst import Directive


class RegistryTable(Directive):
    has_content = False

    def run(self):
        from errkit.plugin_manager import load_plugins
        from errkit.registry import ALL_REGISTRIES

        load_plugins(ALL_REGISTRIES)
        table = nodes.table()
        group = nodes.tgroup(cols=3)
        table += group
        for width in (22, 18, 60):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        body = nodes.tbody()
        group += body

        def row(cells, parent):
            tr = nodes.row()
            for text in cells:
                entry = nodes.entry()
                entry += nodes.paragraph(text=text)
                tr += entry
            parent += tr

        row(["attribute", "registry", "built-in components"], head)
        for attr, registry in ALL_REGISTRIES.items():
            names = sorted(registry.module_dict)
            row([attr, registry.name, ", ".join(names) or "(none)"], body)
        return [table]


def setup(app):
    app.add_directive("errkit-registry-table", RegistryTable)
    return {"parallel_read_safe": True, "version": "1"}
