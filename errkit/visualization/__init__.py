"""Visualisation: residual grids (a fixed colour scale in intensity units, labels), annotated
video frames and class probabilities over time."""

from .face_annotation import annotate_frame
from .labelled_grid import COLUMN_HEADERS, RowLabel, labelled_residual_grid, scale_caption
from .probability_timeline import plot_probability_timeline
from .residual_grid import (RESIDUAL_SCALE, ResidualScale, check_residual_scale, residual_grid,
                            residual_limit, residual_panels, residual_row, signed_colormap,
                            to_uint8_image)

__all__ = ["RESIDUAL_SCALE", "ResidualScale", "check_residual_scale", "residual_limit",
           "residual_grid", "residual_panels", "residual_row", "signed_colormap",
           "to_uint8_image", "COLUMN_HEADERS", "RowLabel", "labelled_residual_grid",
           "scale_caption", "annotate_frame", "plot_probability_timeline"]
