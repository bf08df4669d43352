"""``errkit infer`` on videos: files per video, gaps reported, bad videos fail alone.

The clips are written from the synthetic sequences (see ``synthetic_clip``); dlib's
real detector finds the faces (skipped without dlib); the model is a tiny ERR-Net
with random weights (what these tests check does not depend on its answers).
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from errkit.cli import main as errkit_main
from errkit.cli.infer import collect_inputs, main

pytest.importorskip("dlib")


def test_collect_inputs_splits_images_and_videos(tmp_path):
    for name in ("b.png", "a.MP4", "c.webm", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    images, videos = collect_inputs([str(tmp_path), "x.mov", "y.jpg"])
    assert images == [str(tmp_path / "b.png"), "y.jpg"]
    assert videos == [str(tmp_path / "a.MP4"), str(tmp_path / "c.webm"), "x.mov"]


def test_infer_a_video_with_a_neutral_frame_and_a_gap(untrained_tiny_errnet, tmp_path,
                                                      synthetic_clip, capsys):
    config, checkpoint = untrained_tiny_errnet
    clip = synthetic_clip(tmp_path / "results.mp4", frames=10, blank=(6, 7))
    face = tmp_path / "results.png"
    Image.fromarray(np.full((40, 40), 90, np.uint8)).save(face)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="learned from generated neutral faces"):
        code = errkit_main(["infer", str(config), str(checkpoint), str(clip), str(face),
                            "--out", str(out), "--detector", "dlib", "--neutral-frame", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # the video's files do not overwrite results.json
    assert sorted(p.name for p in out.iterdir()) == [
        "results.json", "results.png", "results_1.csv", "results_1.json",
        "results_1_annotated.mp4", "results_1_probabilities.png"]
    assert "10 frame(s), 8 with a face, 2 without" in captured.out
    assert f"warning: {clip}: no face in 2 frame(s): 6-7" in captured.err
    summary = json.loads((out / "results.json").read_text())
    assert summary["num_videos"] == 1 and summary["num_failed_videos"] == 0
    assert summary["neutral_frame"] == 0 and summary["num_images"] == 1
    (video,) = summary["videos"]
    assert video["source"] == str(clip) and video["neutral_mode"] == "given"
    assert video["neutral"] == "frame 0" and video["gaps"] == 2 and video["error"] is None
    with open(out / "results_1.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and [r["face_found"] for r in rows].count("0") == 2


def test_unreadable_and_empty_videos_fail_alone(untrained_tiny_errnet, tmp_path,
                                                synthetic_clip, capsys):
    config, checkpoint = untrained_tiny_errnet
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF....AVI LIST" + bytes(200))
    good = synthetic_clip(tmp_path / "good.mp4", frames=4)
    out = tmp_path / "out"
    code = main([str(config), str(checkpoint), str(empty), str(broken), str(good), "--out",
                 str(out), "--detector", "dlib", "--no-figures"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"error: video {empty} is empty (0 bytes)\n" in err
    assert f"error: cannot read video {broken}: OpenCV cannot decode it" in err
    assert sorted(p.name for p in out.iterdir()) == ["good.csv", "good.json", "results.json"]
    summary = json.loads((out / "results.json").read_text())
    assert summary["num_failed_videos"] == 2
    assert [v["error"] is None for v in summary["videos"]] == [False, False, True]


def test_neutral_frame_needs_a_video_and_excludes_a_neutral_photo(untrained_tiny_errnet,
                                                                  tmp_path, capsys):
    config, checkpoint = untrained_tiny_errnet
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(image)
    with pytest.raises(SystemExit) as info:
        main([str(config), str(checkpoint), str(image), "--out", str(tmp_path / "out"),
              "--neutral-frame", "0"])
    assert info.value.code == 2
    assert "--neutral-frame names a frame of each video" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main([str(config), str(checkpoint), str(image), "--out", str(tmp_path / "out"),
              "--neutral-frame", "0", "--neutral", str(image)])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
