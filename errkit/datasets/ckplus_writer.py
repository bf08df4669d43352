"""Deprecated: the CK+ layout writer moved to :mod:`errkit.synthetic.ckplus_writer`."""
import warnings

from errkit.synthetic.ckplus_writer import (EMOTION_DIR, EMOTION_FORMAT, IMAGES_DIR,  # noqa: F401
                                            LANDMARK_FORMAT, LANDMARKS_DIR, NUM_LANDMARKS,
                                            __all__, emotion_path, format_emotion,
                                            format_landmarks, format_sequence, frame_path,
                                            frame_stem, landmarks_path, write_ckplus_sequence)

warnings.warn(f"Importing from {__name__} is deprecated, please import from "
              "errkit.synthetic.ckplus_writer instead.", FutureWarning, stacklevel=2)
