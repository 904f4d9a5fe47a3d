import pytest
import torch
from conftest import SHARED, needs_shared

from fst.errors import ConfigError, FstError
from fst.vgg import BUNDLED_PATH, RELU_INDEX, VGG16Features, load_vgg16

SHARED_VGG = SHARED / "vgg16" / "vgg16_imagenet_features.pth"


def test_layer_indices_follow_torchvision():
    features = VGG16Features("relu5_3").features
    for name, index in RELU_INDEX.items():
        assert isinstance(features[index], torch.nn.ReLU), name
        assert isinstance(features[index - 1], torch.nn.Conv2d), name
    assert len(features) == 30  # torchvision's vgg16().features without the last max pool


def test_stops_at_deepest_layer_and_is_frozen():
    vgg = load_vgg16("bundled", "relu2_2")
    assert len(vgg.features) == RELU_INDEX["relu2_2"] + 1
    assert not vgg.training
    assert all(not p.requires_grad for p in vgg.parameters())
    out = vgg(torch.rand(1, 3, 32, 32), ("relu1_2",))
    assert list(out) == ["relu1_2"] and out["relu1_2"].shape == (1, 64, 32, 32)


@needs_shared
def test_bundled_matches_shared_fp32_within_fp16_tolerance():
    reference = torch.load(SHARED_VGG, weights_only=True)
    bundled = torch.load(BUNDLED_PATH, weights_only=True)
    assert sorted(bundled) == sorted(k for k in reference if int(k.split(".")[1]) <= 21)
    for key, tensor in bundled.items():
        assert tensor.dtype == torch.float16
        # fp16 rounding: relative error at most 2^-11 for normal numbers, absolute 2^-24 for subnormals
        err = (tensor.float() - reference[key]).abs()
        assert (err <= reference[key].abs() * 2**-11 + 2**-24).all(), key

    full = load_vgg16(str(SHARED_VGG), "relu4_3")
    small = load_vgg16("bundled", "relu4_3")
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
    a, b = full(image, layers), small(image, layers)
    for layer in layers:
        rel = (a[layer] - b[layer]).norm() / a[layer].norm()
        assert rel < 2e-3, (layer, rel)


def save(tmp_path, state):
    path = tmp_path / "w.pth"
    torch.save(state, path)
    return str(path)


def test_torchvision_format_file_with_classifier_loads(tmp_path):
    reference = VGG16Features("relu5_3").features.state_dict()
    state = {f"features.{k}": torch.randn_like(v) for k, v in reference.items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)
    vgg = load_vgg16(save(tmp_path, state), "relu5_3")
    assert torch.equal(vgg.features[28].weight, state["features.28.weight"])


def test_missing_and_misshaped_keys_are_listed(tmp_path):
    state = torch.load(BUNDLED_PATH, weights_only=True)
    del state["features.2.bias"]
    state["features.5.weight"] = torch.zeros(1, 2, 3, 3)
    path = save(tmp_path, state)
    with pytest.raises(ConfigError) as info:
        load_vgg16(path, "relu4_3")
    assert str(info.value) == (
        f"loss.vgg_weights: {path}: missing features.2.bias; features.5.weight has shape (1, 2, 3, 3), "
        f"expected (128, 64, 3, 3) (expected torchvision's vgg16 format)"
    )


def test_bundled_file_lacks_conv5_and_says_so(tmp_path):
    with pytest.raises(FstError, match="missing features.24.weight"):
        load_vgg16(str(BUNDLED_PATH), "relu5_1")


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_text("not a torch file")
    with pytest.raises(ConfigError) as info:  # config problems exit 2, in one line of ours
        load_vgg16(str(path), "relu2_2")
    assert str(info.value) == f"loss.vgg_weights: {path} is not a PyTorch state dict file: torch.load cannot read it (UnpicklingError)"
    with pytest.raises(FstError, match="loss.vgg_weights: file not found: nowhere.pth"):
        load_vgg16("nowhere.pth", "relu2_2")


def test_torchvision_offline_says_how_to_pass_a_local_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache
    monkeypatch.setattr("fst.vgg.TORCHVISION_URL", "http://127.0.0.1:9/vgg16-397923af.pth")  # refused at once
    with pytest.raises(FstError, match="set loss.vgg_weights to its local path"):
        load_vgg16("torchvision", "relu2_2")
