"""High-level APIs: k-fold cross-validation, inference on images."""

from .kfold import (KFoldError, derive_fold_config, run_fold, run_kfold, summarize_folds,
                    write_summary)

__all__ = ["KFoldError", "derive_fold_config", "run_fold", "run_kfold", "summarize_folds",
           "write_summary"]
