import pytest
import torch

from fst.config import LossConfig
from fst.data import load_rgb, resize_long_side, to_tensor
from fst.losses import load_style_image, perceptual_loss
from fst.optimize import optimize_image

from conftest import DEMO_PHOTOS, STARRY_NIGHT

CONFIG = LossConfig(style_layers={"relu1_2": 1.0, "relu2_2": 1.0}, style_size=64)


@pytest.fixture(scope="module")
def loss_fn():
    return perceptual_loss(CONFIG, load_style_image(str(STARRY_NIGHT), CONFIG.style_size), torch.device("cpu"))


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_optimization_lowers_the_training_loss(loss_fn, optimizer):
    photo = to_tensor(resize_long_side(load_rgb(DEMO_PHOTOS / "chelsea.jpg"), 40)).unsqueeze(0)
    start = loss_fn(photo, photo)
    seen = []
    image, final = optimize_image(photo, loss_fn, 15, optimizer, on_iteration=lambda i, terms, now: seen.append(i))
    assert seen == list(range(1, 16))
    assert image.shape == photo.shape and 0 <= image.min() and image.max() <= 1
    assert start["content"].item() == 0 and final["content"] > 0  # it starts from the photo and moves away
    assert final["total"] < 0.8 * start["total"].item()
    assert final["total"] == pytest.approx(loss_fn(image, photo)["total"].item(), rel=1e-5)
