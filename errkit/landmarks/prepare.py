"""Deprecated: :func:`prepare_dataset` moved to :mod:`errkit.datasets.prepare`."""
import warnings

from errkit.datasets.prepare import __all__, prepare_dataset, sidecar_paths  # noqa: F401

warnings.warn(f"Importing from {__name__} is deprecated, please import from "
              "errkit.datasets.prepare instead.", FutureWarning, stacklevel=2)
