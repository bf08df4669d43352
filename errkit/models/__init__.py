"""ERR-Net and its parts: encoders, decoders, discriminators, residuals, heads, losses."""

from . import (classifiers, data_preprocessors, decoders, discriminators, encoders, heads,
               losses, residuals)

from .errnet import ERRNet
from .errnet_generator import ERRNetGenerator
from .residual_recognizer import ResidualRecognizer

__all__ = ["ERRNet", "ERRNetGenerator", "ResidualRecognizer", "classifiers", "data_preprocessors", "decoders", "discriminators", "encoders",
           "heads", "losses", "residuals"]
