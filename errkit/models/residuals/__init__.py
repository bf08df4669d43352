"""Residual branches: what the residual between a face and its neutral tells."""

from .base_residual import BUILD_ARGUMENTS, BaseResidual
from .detected_landmark_residual import DetectedLandmarkResidual, normalise_shape
from .landmark_residual import LandmarkResidual, inter_ocular_distance, landmark_displacement
from .pixel_residual import PixelResidual
from .residual_context import (INFERENCE_FIELDS, OPTIONAL_INFERENCE_FIELDS, TRAINING_FIELDS,
                               ResidualContext)

__all__ = ["BaseResidual", "BUILD_ARGUMENTS", "INFERENCE_FIELDS", "OPTIONAL_INFERENCE_FIELDS",
           "TRAINING_FIELDS",
           "ResidualContext", "PixelResidual", "LandmarkResidual", "DetectedLandmarkResidual",
           "normalise_shape", "inter_ocular_distance",
           "landmark_displacement"]
