"""High-level APIs: k-fold cross-validation, inference on images, export."""

from .expression_remover import (CheckpointMismatchError, ExpressionRemover, FaceResult,
                                 ImageResult, load_inference_model)
from .export import ExportError, ExportResult, export_model
from .kfold import (KFoldError, derive_fold_config, run_fold, run_kfold, summarize_folds,
                    write_summary)

__all__ = ["KFoldError", "derive_fold_config", "run_fold", "run_kfold", "summarize_folds",
           "write_summary",
           "CheckpointMismatchError", "ExpressionRemover", "FaceResult", "ImageResult",
           "load_inference_model", "ExportError", "ExportResult", "export_model"]
