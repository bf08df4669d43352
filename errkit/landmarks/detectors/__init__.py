"""68-point facial landmark detectors."""

from .base_landmark_detector import (
    BaseLandmarkDetector,
    DetectorUnavailableError,
    build_landmark_detector,
)
from .dlib_detector import DlibLandmarkDetector
from .fan_detector import FANLandmarkDetector
from .precomputed_detector import PrecomputedLandmarks

__all__ = [
    "BaseLandmarkDetector",
    "DetectorUnavailableError",
    "DlibLandmarkDetector",
    "FANLandmarkDetector",
    "PrecomputedLandmarks",
    "build_landmark_detector",
]
