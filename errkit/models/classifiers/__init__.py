"""Whole-image classifiers used as baselines."""

from .timm_classifier import TimmClassifier

__all__ = ["TimmClassifier"]
