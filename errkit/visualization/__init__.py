"""Visualisation: residual grids."""

from .residual_grid import residual_grid, residual_row, signed_colormap, to_uint8_image

__all__ = ["residual_grid", "residual_row", "signed_colormap", "to_uint8_image"]
