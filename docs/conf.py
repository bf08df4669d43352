"""Sphinx configuration of errkit's documentation."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))
os.environ.setdefault("ERRKIT_DISABLE_PLUGIN_AUTOLOAD", "1")

from errkit.version import __version__  # noqa: E402

# The API pages document the deprecated aliases of moved modules too.
warnings.filterwarnings("ignore", message="Importing from errkit", category=FutureWarning)

project = "errkit"
author = "errkit developers"
copyright = "2026, errkit developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "registry_table",
]
templates_path = ["_templates"]
exclude_patterns = ["_build"]

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "description"
autodoc_mock_imports = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# mmengine's and torch's own classes are not documented here; do not warn on them.
nitpicky = False
suppress_warnings = ["autosummary.import_cycle"]

html_theme = "furo"
html_title = f"errkit {version}"
