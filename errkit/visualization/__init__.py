"""Visualisation: residual grids, on a fixed colour scale in intensity units, with labels."""

from .labelled_grid import COLUMN_HEADERS, RowLabel, labelled_residual_grid, scale_caption
from .residual_grid import (RESIDUAL_SCALE, ResidualScale, check_residual_scale, residual_grid,
                            residual_limit, residual_panels, residual_row, signed_colormap,
                            to_uint8_image)

__all__ = ["RESIDUAL_SCALE", "ResidualScale", "check_residual_scale", "residual_limit",
           "residual_grid", "residual_panels", "residual_row", "signed_colormap",
           "to_uint8_image", "COLUMN_HEADERS", "RowLabel", "labelled_residual_grid",
           "scale_caption"]
