"""High-level APIs: inference on images, export, k-fold cross-validation, ablation studies.

Modules:

- :mod:`~errkit.apis.expression_remover`: :class:`ExpressionRemover`, with its
  results (:mod:`~errkit.apis.results`), its image coercion
  (:mod:`~errkit.apis.image_input`), the checked model loading
  (:mod:`~errkit.apis.inference_model`) and what the model's training data say
  about its answers (:mod:`~errkit.apis.training_domain`);
- :mod:`~errkit.apis.export`: TorchScript and ONNX export;
- :mod:`~errkit.apis.experiment`: one config trained and tested on one fold, in
  this process or a fresh one, which :mod:`~errkit.apis.kfold` (with
  :mod:`~errkit.apis.kfold_summary`) and :mod:`~errkit.apis.ablation` are made of,
  several at once through :mod:`~errkit.apis.run_pool`; an ablation study across
  folds (:mod:`~errkit.apis.cross_fold_ablation`) writes the table of
  :mod:`~errkit.apis.comparison_table`.
"""

from .ablation import AblationError, format_ablation_markdown, run_ablation
from .comparison_table import format_comparison_markdown, summarize_comparison
from .experiment import (ExperimentError, RunSpec, load_completed_run, read_run_result,
                         run_in_subprocess)
from .export import ExportError, ExportResult, export_model
from .expression_remover import ExpressionRemover
from .face_tracker import FaceTracker, TrackedFace
from .image_input import to_image_array
from .inference_model import (CheckpointMismatchError, class_names_from_config,
                              load_inference_model)
from .kfold import (KFoldError, derive_fold_config, run_fold, run_kfold, summarize_folds,
                    write_summary)
from .results import FaceResult, ImageResult
from .training_domain import OutOfDomainWarning
from .video_inference import predict_video
from .video_reader import VIDEO_EXTENSIONS, VideoError, VideoReader, is_video_file
from .video_result import FrameResult, VideoResult
from .video_writer import AtomicVideoWriter

__all__ = ["ExpressionRemover", "FaceResult", "ImageResult", "OutOfDomainWarning",
           "CheckpointMismatchError",
           "load_inference_model", "class_names_from_config", "to_image_array",
           "ExportError", "ExportResult", "export_model",
           "ExperimentError", "RunSpec", "run_in_subprocess", "read_run_result",
           "load_completed_run",
           "KFoldError", "derive_fold_config", "run_fold", "run_kfold", "summarize_folds",
           "write_summary", "AblationError", "run_ablation", "format_ablation_markdown",
           "summarize_comparison", "format_comparison_markdown",
           "predict_video", "VideoResult", "FrameResult", "VideoError", "VideoReader",
           "VIDEO_EXTENSIONS", "is_video_file", "FaceTracker", "TrackedFace",
           "AtomicVideoWriter"]
