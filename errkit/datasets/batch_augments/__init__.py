"""GPU batch augmentations applied in the data preprocessor."""

from .paired_augmentation import PairedAugmentation, build_kornia_augmentation
from .photometric_jitter import PhotometricJitter

__all__ = ["PairedAugmentation", "PhotometricJitter", "build_kornia_augmentation"]
