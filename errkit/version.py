"""errkit's version and the plugin API version it offers."""

__version__ = "0.1.0"

#: Version of the plugin API (hookspecs and the registries handed to plugins).
#: A plugin declares the range it needs in its module attribute
#: ``ERRKIT_PLUGIN_API`` (a PEP 440 specifier such as ``">=1,<2"``).
PLUGIN_API_VERSION = "1.0"
