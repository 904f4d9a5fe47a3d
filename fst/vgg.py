"""The frozen VGG16 loss network: torchvision's `features` layout, defined here, weights from three sources.

Weights use torchvision's state-dict names (`features.N.weight`), so torchvision's own vgg16-397923af.pth,
the bundled fp16 file and any file in that format all load into the same module.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from fst.architectures import VGG_LAYERS
from fst.errors import ConfigError
from fst.files import load_torch_file

# Index of each ReLU in torchvision's vgg16().features; the conv before it sits at index - 1.
RELU_INDEX = dict(zip(VGG_LAYERS, (1, 3, 6, 8, 11, 13, 15, 18, 20, 22, 25, 27, 29)))
CONV_CHANNELS = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)

BUNDLED_PATH = Path(__file__).parent / "assets" / "vgg16_features_0-21_fp16.pth"
TORCHVISION_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """VGG16 convolutions up to `last_layer`, taking RGB images in [0, 1] and returning named activations.

    Layers past the deepest one any loss needs are never built, so no time is spent on them.
    """

    def __init__(self, last_layer: str = "relu4_3") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for spec in CONV_CHANNELS:
            if spec == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, spec, 3, padding=1), nn.ReLU()]
                channels = spec
        self.features = nn.Sequential(*layers[: RELU_INDEX[last_layer] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.names = {index: name for name, index in RELU_INDEX.items() if index < len(self.features)}

    def forward(self, images: torch.Tensor, layers: tuple[str, ...] | list[str]) -> dict[str, torch.Tensor]:
        """Activations at `layers`; stops after the deepest of them (a content pass stops at relu2_2)."""
        last = max(RELU_INDEX[name] for name in layers)
        x = (images - self.mean) / self.std
        out = {}
        for index, module in enumerate(self.features[: last + 1]):
            x = module(x)
            if index in self.names and self.names[index] in layers:
                out[self.names[index]] = x
        return out


def load_vgg16(weights: str, last_layer: str) -> VGG16Features:
    """A frozen, eval-mode VGG16Features with weights from 'bundled', 'torchvision' or a file path."""
    model = VGG16Features(last_layer)
    state = _read_weights(weights)
    expected = model.features.state_dict()
    problems = []
    for key, tensor in expected.items():
        name = f"features.{key}"
        if name not in state:
            problems.append(f"missing {name}")
        elif state[name].shape != tensor.shape:
            problems.append(f"{name} has shape {tuple(state[name].shape)}, expected {tuple(tensor.shape)}")
    if problems:
        raise ConfigError(
            f"loss.vgg_weights: {weights}: {'; '.join(problems)} (expected torchvision's vgg16 format)"
        )
    model.features.load_state_dict({k: state[f"features.{k}"].float() for k in expected})
    model.eval()
    model.requires_grad_(False)
    return model


def _read_weights(weights: str) -> dict[str, torch.Tensor]:
    if weights == "bundled":
        return torch.load(BUNDLED_PATH, map_location="cpu", weights_only=True)
    if weights == "torchvision":
        try:
            return torch.hub.load_state_dict_from_url(TORCHVISION_URL, map_location="cpu", check_hash=True)
        except (OSError, RuntimeError) as e:
            raise ConfigError(
                f"loss.vgg_weights: could not fetch torchvision's VGG16 weights from {TORCHVISION_URL} ({e}); "
                f"download that file "
                f"on a machine with internet access and set loss.vgg_weights to its local path"
            ) from None
    path = Path(weights)
    if not path.is_file():
        raise ConfigError(f"loss.vgg_weights: file not found: {weights} (expected 'bundled', 'torchvision' or a path)")
    state = load_torch_file(path, f"loss.vgg_weights: {weights} is not a PyTorch state dict file", ConfigError)
    if not isinstance(state, dict):
        raise ConfigError(f"loss.vgg_weights: {weights} holds a {type(state).__name__}, expected a state dict")
    return state
