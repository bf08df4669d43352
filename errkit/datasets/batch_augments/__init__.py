"""GPU batch augmentations applied in the data preprocessor."""
