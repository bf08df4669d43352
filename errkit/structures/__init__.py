"""Data structures passed between datasets, models, metrics and visualizers."""

from .fer_data_sample import FERDataSample

__all__ = ["FERDataSample"]
