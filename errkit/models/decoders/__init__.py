"""Residual-image decoders (generators) and the segmented latent code."""

from .segment_latent import SegmentLatent
from .unet_residual_decoder import UNetResidualDecoder

__all__ = ["SegmentLatent", "UNetResidualDecoder"]
