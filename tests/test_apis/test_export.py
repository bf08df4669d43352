"""Export of the recognition path to TorchScript and ONNX, checked against the eager model."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Union

import pytest
import torch

from errkit.apis.export import ExportError, export_model, export_wrapper
from errkit.apis.expression_remover import load_inference_model
from tests.helpers import LANDMARK_RESIDUAL, PIXEL_RESIDUAL, errnet_fields, write_tiny_config

OUTPUTS = ["probs", "activations", "neutral", "residual"]


def _tiny(folder: Path, base: str = "errnet_synthetic.py",
          model: Union[dict, str, None] = None) -> tuple:
    """A tiny leaf config over a real one (default: an ERR-Net with a pixel and a landmark
    residual branch) and a random mmengine-style checkpoint."""
    config = write_tiny_config(folder, base, model=model or errnet_fields(
        residuals=(PIXEL_RESIDUAL, LANDMARK_RESIDUAL)))
    torch.manual_seed(0)
    model, _, _ = load_inference_model(str(config))
    for param in model.parameters():  # make the zero-initialised regressor matter too
        param.data.add_(0.01 * torch.randn_like(param))
    ckpt = folder / "epoch_1.pth"
    torch.save(dict(meta=dict(dataset_meta=dict(classes=list("abcdefg"))),
                    state_dict=model.state_dict()), ckpt)
    return config, ckpt


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _tiny(tmp_path_factory.mktemp("export"))


@pytest.fixture(scope="module")
def eager(tiny):
    model, _, _ = load_inference_model(str(tiny[0]), str(tiny[1]))

    def run(img):
        out = model.infer(img)
        return [out[name] for name in OUTPUTS]

    return run


def test_torchscript_matches_eager(tiny, eager, tmp_path):
    config, ckpt = tiny
    out_file = tmp_path / "errnet.pt"
    result = export_model(str(config), str(ckpt), str(out_file), format="torchscript")
    assert result.output_names == OUTPUTS and result.verified_with == "torch.jit.load"
    assert max(result.max_abs_diff.values()) <= 1e-4
    assert result.input_shape == (2, 1, 64, 64)
    # an independent check, at a batch size the trace never saw
    extra = {"errkit_meta.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = torch.jit.load(str(out_file), _extra_files=extra)
    meta = json.loads(extra["errkit_meta.json"])
    assert meta["classes"] == list("abcdefg") and meta["img_size"] == 64
    assert meta["input"]["shape"] == ["batch", 1, 64, 64] and meta["outputs"] == OUTPUTS
    img = torch.rand(5, 1, 64, 64) * 2 - 1
    got = loaded(img)
    assert not any(t.requires_grad for t in got)
    for name, want, have in zip(OUTPUTS, eager(img), got):
        assert have.shape == want.shape, name
        torch.testing.assert_close(have, want, atol=1e-4, rtol=0, msg=name)
    assert abs(float(got[0].sum()) - 5.0) < 1e-4


def test_wrapper_reproduces_infer_and_holds_no_discriminator(tiny, eager):
    model, _, _ = load_inference_model(str(tiny[0]), str(tiny[1]))
    wrapper = export_wrapper(model)
    assert not any(k.startswith("discriminator") for k in wrapper.state_dict())
    assert all(torch.is_tensor(v) for v in wrapper.state_dict().values())
    img = torch.rand(3, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        got = wrapper(img)
    for want, have in zip(eager(img), got):
        torch.testing.assert_close(have, want, atol=1e-6, rtol=0)


def test_classifier_export_has_probs_only(tmp_path):
    config, ckpt = _tiny(tmp_path, "baselines/timm_classifier_synthetic.py",
                         dict(model_name="resnet10t"))
    result = export_model(str(config), str(ckpt), str(tmp_path / "cls.pt"), batch_size=3,
                          dynamic_batch=False)
    assert result.output_names == ["probs"] and result.input_shape == (3, 1, 64, 64)
    assert result.max_abs_diff["probs"] <= 1e-4


def test_export_errors(tiny, tmp_path):
    with pytest.raises(ExportError, match="format must be one of"):
        export_model(str(tiny[0]), str(tiny[1]), str(tmp_path / "x.bin"), format="tflite")


@pytest.mark.slow
def test_onnx_matches_eager(tiny, eager, tmp_path):
    onnx = pytest.importorskip("onnx")
    config, ckpt = tiny
    out_file = tmp_path / "errnet.onnx"
    result = export_model(str(config), str(ckpt), str(out_file), format="onnx")
    assert result.exporter.startswith("torch.onnx")
    assert max(result.max_abs_diff.values()) <= 1e-4
    proto = onnx.load(str(out_file))
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["errkit_meta"])["classes"] == list("abcdefg")
    assert [o.name for o in proto.graph.output] == OUTPUTS
    img = torch.rand(3, 1, 64, 64) * 2 - 1
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime is not None:
        session = onnxruntime.InferenceSession(str(out_file), providers=["CPUExecutionProvider"])
        got = session.run(None, {"img": img.numpy()})
        assert result.verified_with == "onnxruntime"
    else:  # onnx's own reference implementation runs the graph
        from onnx.reference import ReferenceEvaluator

        got = ReferenceEvaluator(proto).run(None, {"img": img.numpy()})
        assert result.verified_with == "onnx.reference"
    for name, want, have in zip(OUTPUTS, eager(img), got):
        torch.testing.assert_close(torch.from_numpy(have), want, atol=1e-4, rtol=0, msg=name)


def test_export_cli(tiny, tmp_path, capsys):
    from errkit.cli.export import main

    out_file = tmp_path / "cli.pt"
    assert main([str(tiny[0]), str(tiny[1]), str(out_file), "--static-batch"]) == 0
    assert out_file.is_file() and "checked with torch.jit.load" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path / "missing_config.py"), str(tiny[1]), str(out_file)])
    assert info.value.code == 2
    assert "missing_config.py" in capsys.readouterr().err


def test_export_takes_a_work_dir(tiny, tmp_path, capsys):
    from errkit.cli.export import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "last_checkpoint").write_text(str(tiny[1]))
    out_file = tmp_path / "from_run.pt"
    assert main([str(tiny[0]), str(run), str(out_file), "--static-batch", "--no-verify"]) == 0
    extra = {"errkit_meta.json": ""}
    torch.jit.load(str(out_file), _extra_files=extra)
    meta = json.loads(extra["errkit_meta.json"])
    assert meta["checkpoint"] == str(tiny[1])
    assert meta["training_data"] is None  # a checkpoint written without errkit's runner
    assert meta["notes"] == ["the classes have no 'neutral': a neutral face is forced into one "
                             "of the expressions"]


LANDMARK_MODEL = (
    "model = dict(encoder=dict(model_name='resnet10t'), latent=dict(segment_dim=4),\n"
    "             decoder=dict(base_channels=8),\n"
    "             discriminator=dict(base_channels=8, num_layers=2),\n"
    "             residuals=[dict(type='PixelResidual', feat_channels=8, num_stages=2),\n"
    "                        dict(type='DetectedLandmarkResidual', hidden_channels=16,\n"
    "                             embed_channels=16, out_channels=16)])\n")


@pytest.mark.parametrize("fmt", ["torchscript", pytest.param("onnx", marks=pytest.mark.slow)])
def test_models_that_read_the_faces_landmarks_export_them_as_a_second_input(tmp_path, fmt):
    from errkit.landmarks.mean_shape import canonical_landmarks

    config, ckpt = _tiny(tmp_path, model=LANDMARK_MODEL)
    out_file = tmp_path / ("errnet.pt" if fmt == "torchscript" else "errnet.onnx")
    result = export_model(str(config), str(ckpt), str(out_file), format=fmt)
    assert max(result.max_abs_diff.values()) <= 1e-4 and result.output_names == OUTPUTS
    assert result.meta["landmarks"]["shape"] == ["batch", 68, 2]
    model, _, _ = load_inference_model(str(config), str(ckpt))
    img = torch.rand(3, 1, 64, 64) * 2 - 1
    smile = torch.as_tensor(canonical_landmarks(64), dtype=torch.float32).repeat(3, 1, 1)
    smile[:, 48:68, 1] -= 3.0  # the mouth's points move: the landmark branch must see it
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = torch.jit.load(str(out_file))
    else:  # onnx's own reference implementation runs the graph (onnxruntime is optional)
        onnx = pytest.importorskip("onnx")
        from onnx.reference import ReferenceEvaluator

        proto = onnx.load(str(out_file))
        assert [i.name for i in proto.graph.input] == ["img", "landmarks"]
        evaluator = ReferenceEvaluator(proto)

        def run(x, pts):
            return [torch.as_tensor(t) for t in evaluator.run(None, {"img": x.numpy(),
                                                                      "landmarks": pts.numpy()})]
    neutral = torch.as_tensor(canonical_landmarks(64), dtype=torch.float32).repeat(3, 1, 1)
    got_smile, got_neutral = run(img, smile)[0], run(img, neutral)[0]
    want = model.infer(img, landmarks=smile)["probs"]
    torch.testing.assert_close(got_smile, want, atol=1e-4, rtol=0)
    assert float((got_smile - got_neutral).abs().max()) > 1e-4  # the points are used


def test_export_refuses_a_branch_that_needs_an_input_a_graph_cannot_take(tmp_path, monkeypatch):
    from errkit.models.residuals.detected_landmark_residual import DetectedLandmarkResidual

    config, ckpt = _tiny(tmp_path, model=LANDMARK_MODEL)
    monkeypatch.setattr(DetectedLandmarkResidual, "needs_at_inference",
                        ("landmarks", "neutral"))
    with pytest.raises(ExportError, match="DetectedLandmarkResidual needs 'neutral'"):
        export_model(str(config), str(ckpt), str(tmp_path / "x.pt"))
    assert not (tmp_path / "x.pt").exists()
