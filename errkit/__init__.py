"""errkit: train, evaluate and serve ERR-Net (Expression Removal and Recognition
Network with residual image) and its variants, with plugins for every part."""

from errkit.hookspecs import hookimpl
from errkit.version import PLUGIN_API_VERSION, __version__

__all__ = ["__version__", "PLUGIN_API_VERSION", "hookimpl"]
