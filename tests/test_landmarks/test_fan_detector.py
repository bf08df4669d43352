"""FANLandmarkDetector offline: no test downloads anything."""

import urllib.error

import numpy as np
import pytest
import torch

pytest.importorskip("face_alignment")

from errkit.landmarks.detectors import DetectorUnavailableError, FANLandmarkDetector  # noqa: E402
from errkit.landmarks.detectors.fan_detector import FAN_WEIGHTS_ENV, SFD_WEIGHTS_ENV  # noqa: E402

FAN_FILE = "2DFAN4-11f355bf06.pth.tar"
SFD_FILE = "s3fd-619a316812.pth"


@pytest.fixture(autouse=True)
def offline_hub(tmp_path, monkeypatch):
    """An empty torch hub cache, no environment overrides and no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(FAN_WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(SFD_WEIGHTS_ENV, raising=False)

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError(f"no network in tests ({url})")

    monkeypatch.setattr("face_alignment.utils.download_url_to_file", no_network)
    monkeypatch.setattr("torch.hub.download_url_to_file", no_network)
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def test_missing_fan_weights_names_file_places_and_remedies(offline_hub):
    with pytest.raises(DetectorUnavailableError) as info:
        FANLandmarkDetector()
    msg = str(info.value)
    assert FAN_FILE in msg and str(offline_hub / FAN_FILE) in msg
    assert "weights_path" in msg and FAN_WEIGHTS_ENV in msg and "https://" in msg
    assert SFD_FILE not in msg  # the dlib face detector needs no file on the CPU


def test_sfd_lists_every_missing_file(offline_hub):
    with pytest.raises(DetectorUnavailableError) as info:
        FANLandmarkDetector(face_detector="sfd")
    msg = str(info.value)
    assert FAN_FILE in msg and SFD_FILE in msg
    assert "face_detector_weights" in msg and SFD_WEIGHTS_ENV in msg


def test_dlib_cnn_file_needed_on_cuda(offline_hub):
    with pytest.raises(DetectorUnavailableError, match="mmod_human_face_detector.dat"):
        FANLandmarkDetector(device="cuda")


def test_given_path_that_does_not_exist(tmp_path):
    missing = tmp_path / "fan.pth"
    with pytest.raises(DetectorUnavailableError, match="given as weights_path") as info:
        FANLandmarkDetector(weights_path=missing)
    assert str(missing) in str(info.value)


def test_invalid_checkpoint_named_via_argument_env_and_hub_cache(tmp_path, monkeypatch,
                                                                 offline_hub):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(DetectorUnavailableError, match="not a readable PyTorch checkpoint") as i:
        FANLandmarkDetector(weights_path=junk)
    assert str(junk) in str(i.value)
    monkeypatch.setenv(FAN_WEIGHTS_ENV, str(junk))
    with pytest.raises(DetectorUnavailableError, match="junk.pth"):
        FANLandmarkDetector()
    monkeypatch.delenv(FAN_WEIGHTS_ENV)
    offline_hub.mkdir(parents=True)
    (offline_hub / FAN_FILE).write_bytes(b"broken download")
    with pytest.raises(DetectorUnavailableError) as info:
        FANLandmarkDetector()
    assert str(offline_hub / FAN_FILE) in str(info.value)


def test_checkpoint_of_another_network(tmp_path):
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(DetectorUnavailableError, match="does not match the network") as info:
        FANLandmarkDetector(weights_path=other)
    assert str(other) in str(info.value)
    torch.save([1, 2, 3], other)
    with pytest.raises(DetectorUnavailableError, match="state dict"):
        FANLandmarkDetector(weights_path=other)


def test_invalid_sfd_file_is_named(tmp_path):
    fan = tmp_path / "fan.pth"
    fan.write_bytes(b"")  # never read: the face detector file is checked first
    sfd = tmp_path / "sfd.pth"
    torch.save({"x": torch.zeros(1)}, sfd)
    with pytest.raises(DetectorUnavailableError, match="S3FD") as info:
        FANLandmarkDetector(weights_path=fan, face_detector="sfd", face_detector_weights=sfd)
    assert str(sfd) in str(info.value)


def test_allow_download_without_network_is_explained(offline_hub):
    with pytest.raises(DetectorUnavailableError, match="downloading .* failed"):
        FANLandmarkDetector(allow_download=True)


def test_bad_face_detector_name():
    with pytest.raises(ValueError, match="face_detector"):
        FANLandmarkDetector(face_detector="retina")


@pytest.mark.slow
def test_local_weights_load_and_run(tmp_path, yale_dir):
    """A FAN-shaped checkpoint (random weights) loads from a path; detect runs end to end."""
    pytest.importorskip("dlib")
    import cv2
    from face_alignment.models import FAN

    torch.manual_seed(0)
    weights = tmp_path / FAN_FILE
    torch.save(FAN(4).state_dict(), weights)
    detector = FANLandmarkDetector(weights_path=weights, flip_input=False)
    assert detector.weights_path == str(weights)
    img = cv2.imread(str(yale_dir / "01_normal.png"), cv2.IMREAD_GRAYSCALE)
    faces = detector.detect(img)
    assert len(faces) == 1
    assert faces[0].shape == (68, 2) and faces[0].dtype == np.float32
    assert np.isfinite(faces[0]).all()
    assert detector.detect(np.zeros((80, 80), np.uint8)) == []
