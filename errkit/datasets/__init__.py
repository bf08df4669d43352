"""Facial-expression datasets, splits, transforms and batch augmentations.

:func:`write_ckplus_sequence` (the CK+ layout writer) lives in
:mod:`errkit.synthetic.ckplus_writer`, below the datasets, and is re-exported here.
"""

from errkit.synthetic.ckplus_writer import write_ckplus_sequence

from . import batch_augments, transforms
from .base_fer_dataset import BaseFERDataset
from .cached_face_dataset import CachedFaceDataset
from .ckplus_dataset import CKPlusDataset
from .io import (DataFileError, ImageTooLargeError, read_emotion_file, read_image,
                 read_landmarks_file)
from .extra_labels import ExtraLabelTable
from .kfold import select_fold_indices, subject_kfold
from .mmi_dataset import MMIDataset
from .pattern_folder_dataset import PatternFolderDataset
from .synthetic_ckplus_dataset import SyntheticCKPlusDataset
from .training_data import describe_training_data, leaf_datasets

__all__ = ["batch_augments", "transforms",
           "BaseFERDataset", "CachedFaceDataset", "ExtraLabelTable", "CKPlusDataset", "MMIDataset",
           "PatternFolderDataset", "SyntheticCKPlusDataset",
           "DataFileError", "ImageTooLargeError", "read_emotion_file", "read_image",
           "read_landmarks_file",
           "select_fold_indices", "subject_kfold", "write_ckplus_sequence",
           "describe_training_data", "leaf_datasets"]
