"""Visualizers and residual grids."""
