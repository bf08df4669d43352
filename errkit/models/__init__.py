"""ERR-Net and its parts: encoders, decoders, discriminators, residuals, heads, losses."""

from . import (classifiers, data_preprocessors, decoders, discriminators, encoders, heads,
               losses, residuals)

__all__ = ["classifiers", "data_preprocessors", "decoders", "discriminators", "encoders",
           "heads", "losses", "residuals"]
