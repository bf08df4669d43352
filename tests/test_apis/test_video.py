"""Video inference: reading, face tracking, the per-frame CSV, annotated video, plot and summary.

The clips are written by the tests from the synthetic sequences (neutral face to the
peak), as mp4 files through OpenCV. Faces are found by dlib's real detector (the
tests that need one are skipped without dlib); the model is a tiny ERR-Net with
random weights, except in the test of what the probabilities do over a clip, whose
model was trained on the synthetic faces (``recognising_tiny_errnet``).
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from errkit.apis import (ExpressionRemover, FaceTracker, VideoError, VideoReader, VideoResult,
                         is_video_file)
from errkit.apis.video_reader import read_frame
from errkit.apis.video_result import csv_header
from errkit.utils.output_paths import OutputPathError


def _read_csv(path: Path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _frame_count(path: Path) -> int:
    """Frames decoded one by one (not the container's stated count)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


@pytest.fixture(scope="module")
def remover(untrained_tiny_errnet):
    pytest.importorskip("dlib")
    config, checkpoint = untrained_tiny_errnet
    return ExpressionRemover(str(config), str(checkpoint), detector="dlib")


def test_the_reader_refuses_missing_empty_and_undecodable_files(tmp_path, synthetic_clip):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    (tmp_path / "folder.mp4").mkdir()
    for path, message in ((tmp_path / "missing.mp4", "does not exist"),
                          (empty, r"is empty \(0 bytes\)"),
                          (garbage, "cannot read video"),
                          (tmp_path / "folder.mp4", "is a folder")):
        with pytest.raises(VideoError, match=message) as info:
            VideoReader(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    clip = synthetic_clip(tmp_path / "clip.mp4", frames=6)
    with VideoReader(clip) as video:
        assert (video.width, video.height, video.fps) == (96, 96, 10.0)
        frames = list(video)
    assert [f.index for f in frames] == list(range(6))
    assert frames[3].time_s == pytest.approx(0.3) and frames[0].image.shape == (96, 96, 3)
    np.testing.assert_array_equal(read_frame(clip, 3), frames[3].image)
    with pytest.raises(VideoError, match="has no frame 6: it holds 6 frames"):
        read_frame(clip, 6)
    assert is_video_file("a/B.MKV") and not is_video_file("clip.mp4.png")


def test_a_container_without_frames_is_refused_and_a_truncated_one_noted(remover, tmp_path):
    path = tmp_path / "no_frames.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 32))
    writer.release()
    assert path.stat().st_size > 0  # a header, no frame
    with pytest.raises(VideoError, match=r"no_frames.avi holds no frames"):
        VideoReader(path)
    full = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(20):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[:full.stat().st_size // 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = remover.predict_video(cut, tmp_path / "out", progress=False, plot=False)
    assert 0 < result.num_frames < 20 and result.num_gaps == result.num_frames
    assert f"the file states 20 frames, {result.num_frames} could be decoded" in result.notes
    _, rows = _read_csv(tmp_path / "out" / "cut.csv")
    assert len(rows) == result.num_frames


def test_the_tracker_follows_its_face_not_the_largest_one():
    pytest.importorskip("dlib")
    from errkit.landmarks.detectors import build_landmark_detector
    from errkit.synthetic import SyntheticFaceConfig, render_identity

    def face(size, person):
        config = SyntheticFaceConfig(num_identities=10, frames_per_sequence=2, image_size=size)
        return next(render_identity(config, person))[2][0]

    alone = np.zeros((128, 240), np.uint8)
    alone[16:112, 140:236] = face(96, 9)
    both = alone.copy()
    both[:, :128] = face(128, 0)  # a larger face enters on the left
    detector = build_landmark_detector("DlibLandmarkDetector")
    assert len(detector.detect(both)) == 2
    largest_left = detector.detect(both)[0].min(axis=0)[0] < 128
    assert largest_left  # a detector run on each frame would switch to the left face
    tracker = FaceTracker(detector)
    first = tracker.update(alone)
    assert first.detected and first.box[0] > 128
    second = tracker.update(both)
    assert not second.detected and second.box[0] > 128  # followed in its window
    assert abs(second.box - first.box).max() < 3
    assert tracker.update(np.zeros((128, 240), np.uint8)) is None and not tracker.following
    again = tracker.update(both)
    assert again.detected and again.box[0] < 128  # lost, then the largest face is taken


def test_predict_video_writes_rows_video_plot_and_summary_with_counted_gaps(remover, tmp_path,
                                                                          synthetic_clip,
                                                                          capsys):
    clip = synthetic_clip(tmp_path / "smile.mp4", expression="happy", frames=12,
                          blank=(4, 5, 6))
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a synthetic-only model meets a video
        result = remover.predict_video(clip, out, progress=True)
    assert "12/12" in capsys.readouterr().err  # the progress bar
    assert isinstance(result, VideoResult) and result.num_frames == 12
    assert result.num_gaps == 3 and result.gap_runs == [(4, 6)]
    assert result.neutral_mode == "generated" and result.detector == "DlibLandmarkDetector"
    assert sorted(p.name for p in out.iterdir()) == [
        "smile.csv", "smile.json", "smile_annotated.mp4", "smile_probabilities.png"]
    header, rows = _read_csv(out / "smile.csv")
    assert header == csv_header(remover.classes)
    assert header[:9] == ["frame", "time_s", "face_found", "x0", "y0", "x1", "y1", "label",
                          "score"]
    assert header[9:] == [f"p_{c}" for c in remover.classes] and len(rows) == 12
    assert [int(r[0]) for r in rows] == list(range(12))
    assert [float(r[1]) for r in rows] == pytest.approx([i / 10 for i in range(12)])
    assert [r[2] for r in rows] == ["1"] * 4 + ["0"] * 3 + ["1"] * 5
    for row in rows:
        if row[2] == "1":
            probs = [float(v) for v in row[9:]]
            assert sum(probs) == pytest.approx(1.0, abs=1e-4)
            assert row[7] == remover.classes[int(np.argmax(probs))]
            x0, y0, x1, y1 = (float(v) for v in row[3:7])
            assert 0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96
        else:
            assert row[3:] == [""] * (len(header) - 3)
    assert _frame_count(out / "smile_annotated.mp4") == 12
    annotated = cv2.VideoCapture(str(out / "smile_annotated.mp4"))
    ok, first = annotated.read()
    assert ok and first.shape == (96, 96, 3)
    with open(out / "smile_probabilities.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "smile.json").read_text())
    assert summary["frames"] == 12 and summary["gaps"] == 3 and summary["gap_runs"] == [[4, 6]]
    assert summary["frames_with_face"] == 9 and sum(summary["label_counts"].values()) == 9
    assert summary["files"]["csv"] == str(out / "smile.csv") and summary["model"] == "ERRNet"
    np.testing.assert_allclose(np.nansum(result.probabilities, axis=1),
                               [1] * 4 + [0] * 3 + [1] * 5, atol=1e-4)


def test_a_video_without_a_face_is_all_gaps_and_still_written(remover, tmp_path,
                                                              synthetic_clip):
    clip = synthetic_clip(tmp_path / "nobody.mp4", frames=5, blank=range(5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = remover.predict_video(clip, tmp_path / "out", progress=False)
    assert result.num_gaps == 5 and result.gap_runs == [(0, 4)]
    assert "no face was found in any frame" in result.notes
    _, rows = _read_csv(tmp_path / "out" / "nobody.csv")
    assert [r[2] for r in rows] == ["0"] * 5
    assert _frame_count(tmp_path / "out" / "nobody_annotated.mp4") == 5
    assert (tmp_path / "out" / "nobody_probabilities.png").stat().st_size > 0


def test_given_neutral_from_a_frame_of_the_video(remover, tmp_path, synthetic_clip):
    clip = synthetic_clip(tmp_path / "clip.mp4", frames=8, blank=(2,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generated = remover.predict_video(clip, tmp_path / "generated", progress=False)
    with pytest.warns(UserWarning, match="learned from generated neutral faces"):
        given = remover.predict_video(clip, tmp_path / "given", neutral_frame=0, progress=False)
    assert given.neutral_mode == "given" and given.neutral == "frame 0"
    assert json.loads((tmp_path / "given" / "clip.json").read_text())["neutral_mode"] == "given"
    assert given.num_gaps == generated.num_gaps == 1
    found = ~np.isnan(given.probabilities[:, 0])
    assert not np.allclose(given.probabilities[found], generated.probabilities[found])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"frame 2 of .*clip.mp4: no face found"):
            remover.predict_video(clip, tmp_path / "blank", neutral_frame=2, progress=False)
        with pytest.raises(VideoError, match="has no frame 8"):
            remover.predict_video(clip, tmp_path / "beyond", neutral_frame=8, progress=False)
        with pytest.raises(ValueError, match="not both"):
            remover.predict_video(clip, tmp_path / "both", neutral_frame=0, neutral=clip)
    for folder in ("blank", "beyond", "both"):
        assert not (tmp_path / folder).exists()


def test_without_a_detector_every_frame_is_the_face(untrained_tiny_errnet, tmp_path,
                                                    synthetic_clip):
    config, checkpoint = untrained_tiny_errnet
    remover = ExpressionRemover(str(config), str(checkpoint), detector=None)
    clip = synthetic_clip(tmp_path / "clip.mp4", frames=4, blank=(1,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = remover.predict_video(clip, tmp_path / "out", progress=False, annotate=False,
                                       plot=False)
    assert result.num_gaps == 0 and result.detector is None
    assert [f.box.tolist() for f in result.frames] == [[0, 0, 96, 96]] * 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clip.csv", "clip.json"]


def test_an_unwritable_output_folder_fails_before_reading(remover, tmp_path, synthetic_clip):
    clip = synthetic_clip(tmp_path / "clip.mp4", frames=3)
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        remover.predict_video(clip, tmp_path / "taken", progress=False)


@pytest.mark.slow
def test_the_probability_of_the_sequence_class_rises_over_the_clip(recognising_tiny_errnet,
                                                                  tmp_path, synthetic_clip):
    """From the neutral face to the peak of a surprise sequence, p(surprise) rises.

    The model is tiny and trained for a minute; the person in the clip is one of
    its training people (a check of the video pipeline, not of generalisation).
    """
    pytest.importorskip("dlib")
    config, work_dir = recognising_tiny_errnet
    remover = ExpressionRemover(str(config), str(work_dir), detector="dlib")
    clip = synthetic_clip(tmp_path / "surprise.mp4", expression="surprise", frames=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        generated = remover.predict_video(clip, tmp_path / "generated", progress=False)
        given = remover.predict_video(clip, tmp_path / "given", neutral_frame=0, progress=False)
    column = generated.classes.index("surprise")
    for result in (generated, given):
        assert result.num_gaps == 0
    p = generated.probabilities[:, column]
    assert p[-5:].mean() > p[:5].mean() + 0.3, p.round(2).tolist()
    assert np.corrcoef(np.arange(len(p)), p)[0, 1] > 0.6, p.round(2).tolist()
    # The model learned from generated neutral faces: with the clip's own first frame
    # as the neutral, the residual is another input to it, and the rise is smaller.
    q = given.probabilities[:, column]
    assert q[-5:].mean() > q[:5].mean() + 0.05, q.round(2).tolist()
    labels = [f.label for f in generated.frames[-5:]]
    assert labels.count("surprise") >= 4, labels
    _, rows = _read_csv(tmp_path / "generated" / "surprise.csv")
    csv_column = csv_header(remover.classes).index("p_surprise")
    np.testing.assert_allclose([float(r[csv_column]) for r in rows], p, atol=1e-5)
