"""dlib's HOG face detector with its 68-point shape predictor (fully offline)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from errkit.landmarks.detectors.base_landmark_detector import (
    BaseLandmarkDetector,
    DetectorUnavailableError,
)
from errkit.registry import LANDMARK_DETECTORS

__all__ = ["DlibLandmarkDetector", "default_predictor_path"]

#: File name of dlib's 68-point shape predictor.
PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"
_INSTALL_HINT = "install it with `pip install errkit[dlib]` (dlib-bin + face_recognition_models)"


def default_predictor_path() -> Optional[Path]:
    """Where ``face_recognition_models`` keeps the 68-point shape predictor.

    The package is located without importing it (its ``__init__`` needs
    setuptools' ``pkg_resources``).

    Returns:
        Path | None: The expected path of the predictor file, or ``None`` when
        the package is not installed.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models" / PREDICTOR_FILE


@LANDMARK_DETECTORS.register_module()
class DlibLandmarkDetector(BaseLandmarkDetector):
    """68 landmarks from dlib's frontal face detector and shape predictor.

    Needs the ``dlib`` extra (``pip install errkit[dlib]``): the ``dlib``
    module (``dlib-bin`` wheel) and the predictor file shipped by
    ``face_recognition_models``. Runs on the CPU with no download.

    Args:
        predictor_path (str | os.PathLike, optional): A
            ``shape_predictor_68_face_landmarks.dat`` file. Defaults to
            ``None``: the file of the ``face_recognition_models`` package.
        upsample (int): Times the image is upsampled before face detection
            (finds smaller faces, slower). Defaults to 1.

    Raises:
        DetectorUnavailableError: ``dlib`` or the predictor file is missing.

    Examples:
        >>> detector = DlibLandmarkDetector()  # doctest: +SKIP
        >>> detector.detect(grey_image)[0].shape  # doctest: +SKIP
        (68, 2)
    """

    def __init__(
        self, predictor_path: Optional[Union[str, os.PathLike]] = None, upsample: int = 1
    ) -> None:
        if int(upsample) < 0:
            raise ValueError(f"upsample must be >= 0, got {upsample}")
        try:
            dlib = importlib.import_module("dlib")
        except ImportError as exc:
            raise DetectorUnavailableError(
                f"DlibLandmarkDetector needs the `dlib` module ({exc}); {_INSTALL_HINT}"
            ) from exc
        if predictor_path is None:
            path = default_predictor_path()
            if path is None:
                raise DetectorUnavailableError(
                    "DlibLandmarkDetector found no predictor_path and the package "
                    f"face_recognition_models (which holds {PREDICTOR_FILE}) is not "
                    f"installed; {_INSTALL_HINT}, or pass predictor_path="
                )
        else:
            path = Path(predictor_path).expanduser()
        if not path.is_file():
            raise DetectorUnavailableError(
                f"DlibLandmarkDetector: the shape predictor file {path} does not exist; "
                f"{_INSTALL_HINT}, or pass predictor_path= pointing to {PREDICTOR_FILE}"
            )
        try:
            predictor = dlib.shape_predictor(str(path))
        except RuntimeError as exc:
            raise DetectorUnavailableError(
                f"DlibLandmarkDetector: {path} is not a dlib shape predictor: {exc}"
            ) from exc
        self.predictor_path = str(path)
        self.upsample = int(upsample)
        self._face_detector = dlib.get_frontal_face_detector()
        self._predictor = predictor

    def _detect(self, image: np.ndarray) -> List[np.ndarray]:
        faces = []
        for rect in self._face_detector(image, self.upsample):
            shape = self._predictor(image, rect)
            faces.append(
                np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
            )
        return faces
