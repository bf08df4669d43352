"""High-level APIs: k-fold cross-validation, ablation studies, inference on images, export."""

from .ablation import AblationError, format_ablation_markdown, run_ablation
from .expression_remover import (CheckpointMismatchError, ExpressionRemover, FaceResult,
                                 ImageResult, load_inference_model)
from .export import ExportError, ExportResult, export_model
from .kfold import (KFoldError, derive_fold_config, run_fold, run_kfold, summarize_folds,
                    write_summary)

__all__ = ["KFoldError", "derive_fold_config", "run_fold", "run_kfold", "summarize_folds",
           "write_summary", "AblationError", "run_ablation", "format_ablation_markdown",
           "CheckpointMismatchError", "ExpressionRemover", "FaceResult", "ImageResult",
           "load_inference_model", "ExportError", "ExportResult", "export_model"]
