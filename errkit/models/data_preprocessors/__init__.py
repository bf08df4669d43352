"""Data preprocessors: batching, normalisation and GPU batch augmentation."""

from .fer_data_preprocessor import FERDataPreprocessor

__all__ = ["FERDataPreprocessor"]
