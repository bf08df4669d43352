"""Tests of errkit.models.encoders.TimmEncoder."""

import pytest
import timm
import torch
from mmengine.registry import DefaultScope

from errkit.models.encoders import TimmEncoder
from errkit.registry import ENCODERS

MODEL_NAMES = ["resnet18", "resnet10t", "mobilenetv3_small_050", "efficientnet_b0"]


@pytest.mark.parametrize("in_channels", [1, 3])
@pytest.mark.parametrize("model_name", MODEL_NAMES)
def test_feature_shapes(model_name, in_channels):
    enc = TimmEncoder(model_name=model_name, in_channels=in_channels)
    assert enc.reductions == [2, 4, 8, 16, 32]
    assert len(enc.channels) == 5
    feats = enc(torch.randn(2, in_channels, 64, 64))
    assert [f.shape for f in feats] == [
        torch.Size([2, c, 64 // r, 64 // r]) for c, r in zip(enc.channels, enc.reductions)]


@pytest.mark.parametrize("scope", [None, "errkit"])
def test_build_through_registry(scope):
    # the Runner builds with default_scope='errkit'; the registry must find encoders then too
    cfg = dict(type="TimmEncoder", model_name="resnet10t", in_channels=1)
    if scope is None:
        enc = ENCODERS.build(cfg)
    else:
        with DefaultScope.overwrite_default_scope(scope):
            enc = ENCODERS.build(cfg)
    assert isinstance(enc, TimmEncoder) and enc.in_channels == 1


def test_out_indices_and_first_reduction_four():
    enc = TimmEncoder("resnet10t", in_channels=1, out_indices=(1, 2, 3))
    assert enc.reductions == [4, 8, 16]
    assert len(enc(torch.randn(1, 1, 32, 32))) == 3
    convnext = TimmEncoder("convnext_atto", in_channels=3)
    assert convnext.reductions == [4, 8, 16, 32]


def test_drop_path_rate_is_passed():
    enc = TimmEncoder("resnet10t", drop_path_rate=0.1)
    rates = [m.drop_prob for m in enc.modules() if type(m).__name__ == "DropPath"]
    assert rates and max(rates) > 0


def test_unknown_model_lists_close_names():
    with pytest.raises(ValueError) as info:
        TimmEncoder("resnet19")
    msg = str(info.value)
    assert "resnet19" in msg and "resnet18" in msg


def test_wrong_input_channels():
    enc = TimmEncoder("resnet10t", in_channels=1)
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        enc(torch.randn(1, 3, 32, 32))


def test_missing_checkpoint_is_named(tmp_path):
    path = tmp_path / "nowhere.pth"
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        TimmEncoder("resnet10t", pretrained=str(path))


def _classifier_checkpoint(name, path, wrap=False):
    full = timm.create_model(name, pretrained=False, in_chans=3)
    state = full.state_dict()
    if wrap:
        torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, path)
    else:
        torch.save(state, path)
    return state


@pytest.mark.parametrize("wrap", [False, True])
def test_local_checkpoint_loads_every_tensor(tmp_path, wrap):
    path = tmp_path / "resnet10t.pth"
    state = _classifier_checkpoint("resnet10t", path, wrap=wrap)
    enc = TimmEncoder("resnet10t", in_channels=3, pretrained=str(path))
    assert enc.load_report == dict(missing=[], unexpected=[], mismatched=[])
    own = enc.model.state_dict()
    for key, value in own.items():
        assert torch.equal(value, state[key]), key
    assert not any(k.startswith("fc.") for k in own)


def test_checkpoint_adapts_first_conv_to_grey(tmp_path):
    path = tmp_path / "resnet18.pth"
    state = _classifier_checkpoint("resnet18", path)
    enc = TimmEncoder("resnet18", in_channels=1, pretrained=str(path))
    assert enc.load_report["missing"] == [] and enc.load_report["mismatched"] == []
    conv = enc.model.state_dict()["conv1.weight"]
    assert conv.shape[1] == 1
    torch.testing.assert_close(conv, state["conv1.weight"].sum(dim=1, keepdim=True))


def test_checkpoint_keys_of_flattened_feature_wrappers(tmp_path):
    # convnext's feature wrapper renames 'stages.0' to 'stages_0'
    path = tmp_path / "convnext.pth"
    state = _classifier_checkpoint("convnext_atto", path)
    enc = TimmEncoder("convnext_atto", in_channels=3, pretrained=str(path))
    assert enc.load_report["missing"] == []
    own = enc.model.state_dict()
    torch.testing.assert_close(own["stages_0.blocks.0.conv_dw.weight"],
                               state["stages.0.blocks.0.conv_dw.weight"])
    # the head's norm is not part of the encoder: reported, not silently dropped
    assert any(k.startswith("head.norm") for k in enc.load_report["unexpected"])


def test_checkpoint_reports_missing_and_mismatched(tmp_path):
    path = tmp_path / "partial.pth"
    state = _classifier_checkpoint("resnet10t", path)
    state.pop("layer1.0.conv1.weight")
    state["layer2.0.conv1.weight"] = torch.zeros(3, 3, 3, 3)
    state["extra.weight"] = torch.zeros(2)
    torch.save(state, path)
    enc = TimmEncoder("resnet10t", pretrained=str(path))
    report = enc.load_report
    assert "layer1.0.conv1.weight" in report["missing"]
    assert "layer2.0.conv1.weight" in report["missing"]
    assert report["unexpected"] == ["extra.weight"]
    assert len(report["mismatched"]) == 1 and "layer2.0.conv1.weight" in report["mismatched"][0]


def test_checkpoint_without_tensors_is_rejected(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"meta": {"epoch": 3}}, path)
    with pytest.raises(ValueError, match="bad.pth"):
        TimmEncoder("resnet10t", pretrained=str(path))
