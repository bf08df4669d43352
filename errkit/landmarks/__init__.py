"""68-point facial landmarks: detectors, alignment and index maps."""

from . import detectors
from .alignment import crop_resize_matrix, similarity_from_eyes, transform_points, warp_face
from .flip_index import FLIP_INDEX_68, flip_landmarks
from .mean_shape import MEAN_SHAPE_68, canonical_landmarks, eye_centres, to_eye_frame

__all__ = [
    "detectors",
    "FLIP_INDEX_68",
    "MEAN_SHAPE_68",
    "canonical_landmarks",
    "eye_centres",
    "to_eye_frame",
    "flip_landmarks",
    "crop_resize_matrix",
    "similarity_from_eyes",
    "transform_points",
    "warp_face",
]
