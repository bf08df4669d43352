"""FAN (face-alignment) 68-point landmarks, loaded from local weight files.

The face-alignment package downloads its weights on first use, into torch
hub's cache (``torch.hub.get_dir()/checkpoints``). This detector never
downloads unless asked to: each weight file is looked up, in order, as

1. the constructor argument (config key) ``weights_path`` /
   ``face_detector_weights``;
2. the environment variable ``ERRKIT_FAN_WEIGHTS`` / ``ERRKIT_SFD_WEIGHTS``
   (``ERRKIT_DLIB_CNN_WEIGHTS`` for dlib's CNN face detector on CUDA);
3. face-alignment's own download location in torch hub's cache, under the file
   name face-alignment would download (e.g. ``2DFAN4-11f355bf06.pth.tar``).

A missing file raises :class:`DetectorUnavailableError` naming every missing
file, the places searched and the URL to fetch it from on a machine with
network access.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch

from errkit.landmarks.detectors.base_landmark_detector import (
    BaseLandmarkDetector,
    DetectorUnavailableError,
)
from errkit.registry import LANDMARK_DETECTORS
from errkit.utils.checkpoint import (CheckpointError, CheckpointRefusedError, safe_load,
                                     state_dict_from_checkpoint)

__all__ = ["FANLandmarkDetector", "FAN_WEIGHTS_ENV", "SFD_WEIGHTS_ENV", "DLIB_CNN_WEIGHTS_ENV"]

#: Environment variable naming the 2DFAN-4 weights file.
FAN_WEIGHTS_ENV = "ERRKIT_FAN_WEIGHTS"
#: Environment variable naming the S3FD face detector weights file.
SFD_WEIGHTS_ENV = "ERRKIT_SFD_WEIGHTS"
#: Environment variable naming dlib's CNN face detector file (used on CUDA).
DLIB_CNN_WEIGHTS_ENV = "ERRKIT_DLIB_CNN_WEIGHTS"
#: dlib CNN face detector download (face-alignment's own choice of URL).
DLIB_CNN_URL = "https://www.adrianbulat.com/downloads/dlib/mmod_human_face_detector.dat"

PathLike = Union[str, os.PathLike]


def _import_face_alignment():
    try:
        from face_alignment import api
        from face_alignment.detection.sfd import sfd_detector
    except ImportError as exc:
        raise DetectorUnavailableError(
            f"FANLandmarkDetector needs the face-alignment package ({exc}); "
            "install it with `pip install face-alignment`"
        ) from exc
    return api, sfd_detector


def _hub_path(url: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def _resolve(
    what: str, given: Optional[PathLike], arg: str, env: str, url: str
) -> Tuple[Optional[Path], Optional[str]]:
    """Find one weights file: ``(path, None)`` or ``(None, why it is missing)``."""
    if given is not None:
        path = Path(given).expanduser()
        if path.is_file():
            return path, None
        return None, f"{what}: the file {path} given as {arg}= does not exist"
    if os.environ.get(env):
        path = Path(os.environ[env]).expanduser()
        if path.is_file():
            return path, None
        return None, f"{what}: the file {path} named by ${env} does not exist"
    cached = _hub_path(url)
    if cached.is_file():
        return cached, None
    return None, (
        f"{what}: no {arg}= given, ${env} is unset and {cached} (face-alignment's "
        f"download location) does not exist; download {url} on a machine with "
        f"network access and pass its path as {arg}= (config key '{arg}'), set ${env}, "
        f"or copy it to {cached}"
    )


def _load_checkpoint(path: Path, what: str) -> Dict[str, torch.Tensor]:
    try:
        checkpoint = safe_load(str(path))
    except CheckpointRefusedError as exc:
        raise DetectorUnavailableError(f"{what}: {exc}") from None
    except CheckpointError as exc:
        raise DetectorUnavailableError(
            f"{what}: {path} is not a readable PyTorch checkpoint ({exc})") from None
    try:
        state = state_dict_from_checkpoint(checkpoint, str(path), keys=("state_dict",))
    except CheckpointError:
        state = None
    if state is None or not all(torch.is_tensor(v) for v in state.values()):
        raise DetectorUnavailableError(f"{what}: {path} does not hold a state dict of tensors")
    return state


def _load_into(module: torch.nn.Module, path: Path, what: str) -> None:
    state = _load_checkpoint(path, what)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise DetectorUnavailableError(
            f"{what}: {path} does not match the network ({str(exc).splitlines()[0]})"
        ) from exc


@LANDMARK_DETECTORS.register_module()
class FANLandmarkDetector(BaseLandmarkDetector):
    """68 landmarks from face-alignment's 2D FAN-4, with local weight files.

    Wraps :class:`face_alignment.FaceAlignment` (2D landmarks, no
    ``torch.compile``), feeding it weights read from local files instead of
    its first-use download. See the module docstring for where each file is
    looked up.

    Args:
        weights_path (str | os.PathLike, optional): The 2DFAN-4 weights
            (``2DFAN4-11f355bf06.pth.tar``). Defaults to ``None``
            (``$ERRKIT_FAN_WEIGHTS``, then torch hub's cache).
        face_detector (str): ``'dlib'`` (dlib's HOG detector on CPU, needs no
            file; dlib's CNN detector on CUDA) or ``'sfd'`` (S3FD). Defaults to
            ``'dlib'``.
        face_detector_weights (str | os.PathLike, optional): S3FD weights
            (``s3fd-619a316812.pth``), or dlib's ``mmod_human_face_detector.dat``
            on CUDA. Defaults to ``None`` (environment variable, then torch
            hub's cache).
        device (str): Torch device. Defaults to ``'cpu'``.
        flip_input (bool): Also run the mirrored face and average.
            Defaults to ``True``.
        allow_download (bool): Let face-alignment download missing files into
            torch hub's cache. Defaults to ``False``.

    Raises:
        DetectorUnavailableError: face-alignment is not installed, or a weights
            file is missing or is not the right checkpoint.
    """

    def __init__(
        self,
        weights_path: Optional[PathLike] = None,
        face_detector: str = "dlib",
        face_detector_weights: Optional[PathLike] = None,
        device: str = "cpu",
        flip_input: bool = True,
        allow_download: bool = False,
    ) -> None:
        if face_detector not in ("dlib", "sfd"):
            raise ValueError(f"face_detector must be 'dlib' or 'sfd', got {face_detector!r}")
        api, sfd_detector = _import_face_alignment()
        fan_url = api.models_urls["2DFAN-4"]
        wanted = [("FAN weights (2DFAN-4)", weights_path, "weights_path", FAN_WEIGHTS_ENV, fan_url)]
        if face_detector == "sfd":
            wanted.append(
                ("S3FD face detector weights", face_detector_weights, "face_detector_weights",
                 SFD_WEIGHTS_ENV, sfd_detector.models_urls["s3fd"])
            )
        elif "cuda" in str(device):
            wanted.append(
                ("dlib CNN face detector (used on CUDA)", face_detector_weights,
                 "face_detector_weights", DLIB_CNN_WEIGHTS_ENV, DLIB_CNN_URL)
            )
        found, missing = [], []
        for what, given, arg, env, url in wanted:
            path, why = _resolve(what, given, arg, env, url)
            found.append(path)
            if why is not None and not (allow_download and given is None):
                missing.append(why)
        if missing:
            raise DetectorUnavailableError(
                "FANLandmarkDetector cannot load its weights (nothing is downloaded):\n- "
                + "\n- ".join(missing)
            )
        if allow_download:
            found = [
                path if path is not None else self._download(what, url)
                for path, (what, _, _, _, url) in zip(found, wanted)
            ]
        self.weights_path = str(found[0])
        self.face_detector = face_detector
        self.face_detector_weights = str(found[1]) if len(found) > 1 else None
        self.device = str(device)
        self.flip_input = bool(flip_input)
        self._model = self._build(api)

    @staticmethod
    def _download(what: str, url: str) -> Path:
        from face_alignment.utils import load_file_from_url

        try:
            return Path(load_file_from_url(url))
        except OSError as exc:  # URLError is an OSError
            raise DetectorUnavailableError(
                f"{what}: downloading {url} into {_hub_path(url).parent} failed ({exc}); "
                "fetch the file elsewhere and pass its path instead"
            ) from exc

    def _build(self, api):
        fan_path = Path(self.weights_path)

        class _LocalFaceAlignment(api.FaceAlignment):
            def _load_native(self, network_name, network_size, device, dtype):
                net = api.FAN(network_size)
                _load_into(net, fan_path, "FAN weights (2DFAN-4)")
                return net.to(device, dtype=dtype).eval()

        kwargs = {}
        if self.face_detector_weights is not None:
            kwargs["path_to_detector"] = self.face_detector_weights
            # S3FD loads its file itself; check it first to name it on failure.
            if self.face_detector == "sfd":
                from face_alignment.detection.sfd.net_s3fd import s3fd

                _load_into(s3fd(), Path(self.face_detector_weights), "S3FD face detector weights")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the dlib detector's deprecation notice
                return _LocalFaceAlignment(
                    api.LandmarksType.TWO_D,
                    device=self.device,
                    flip_input=self.flip_input,
                    face_detector=self.face_detector,
                    face_detector_kwargs=kwargs,
                    compile=False,
                )
        except ImportError as exc:
            raise DetectorUnavailableError(
                f"FANLandmarkDetector with face_detector='{self.face_detector}' needs {exc.name} "
                f"({exc}); for 'dlib' install it with `pip install errkit[dlib]`"
            ) from exc

    def _detect(self, image: np.ndarray) -> List[np.ndarray]:
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No faces were detected."
            faces = self._model.get_landmarks_from_image(image)
        return [np.asarray(f, dtype=np.float32)[:, :2] for f in faces or []]
