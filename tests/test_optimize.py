import pytest
import torch
from conftest import DEMO_PHOTOS, STARRY_NIGHT

from fst.config import LossConfig
from fst.data import to_tensor
from fst.errors import FstError
from fst.images import load_rgb, resize_long_side
from fst.losses import load_style_image, perceptual_loss
from fst.optimize import lbfgs_history, level_iterations, optimize_image, optimize_pyramid, pyramid_sizes

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


def test_pyramid_levels_halve_down_to_256_above_512_pixels():
    assert pyramid_sizes(2048) == [256, 512, 1024, 2048]
    assert pyramid_sizes(1500) == [375, 750, 1500]
    assert pyramid_sizes(600) == [300, 600]
    assert pyramid_sizes(512) == [512] and pyramid_sizes(100) == [100]
    assert level_iterations(300, 4) == [160, 80, 40, 20]
    assert level_iterations(60, 3) == [35, 17, 8]  # 60 x 4/7 = 34.3 and the leftover, 60 x 2/7, 60 x 1/7
    assert level_iterations(4, 4) == [1, 1, 1, 1] and level_iterations(5, 4) == [2, 1, 1, 1]
    with pytest.raises(FstError, match="--iters 2: a pyramid of 3 levels needs at least 3"):
        level_iterations(2, 3)


def test_lbfgs_remembers_fewer_steps_for_large_images():
    assert lbfgs_history(3 * 256 * 171) == 50
    assert lbfgs_history(3 * 2048 * 1365) == 16  # 2**30 / (8 x 8,386,560) = 16.0
    assert lbfgs_history(3 * 6000 * 4000) == 5


def test_the_pyramid_runs_each_level_from_the_last_one_upsampled(loss_fn, monkeypatch):
    monkeypatch.setattr("fst.optimize.PYRAMID_SMALLEST", 32)
    monkeypatch.setattr("fst.optimize.PYRAMID_ABOVE", 64)
    photo = to_tensor(resize_long_side(load_rgb(DEMO_PHOTOS / "chelsea.jpg"), 128)).unsqueeze(0)  # 128 x 85
    seen = []
    image, final = optimize_pyramid(photo, loss_fn, 30, on_iteration=lambda i, t, now: seen.append((i, now.shape[-2:])))
    assert [i for i, _ in seen] == list(range(1, 31))
    assert [tuple(shape) for _, shape in seen] == [(21, 32)] * 18 + [(42, 64)] * 8 + [(85, 128)] * 4  # 85/4, 85/2
    assert image.shape == photo.shape
    assert final["total"] == pytest.approx(loss_fn(image, photo)["total"].item(), rel=1e-5)
    assert final["total"] < 0.8 * loss_fn(photo, photo)["total"].item()


def test_optimization_starts_from_init_and_is_judged_against_the_photo(loss_fn):
    photo = to_tensor(resize_long_side(load_rgb(DEMO_PHOTOS / "chelsea.jpg"), 40)).unsqueeze(0)
    init = torch.full_like(photo, 0.5)
    image, final = optimize_image(photo, loss_fn, 1, "adam", lr=1e-9, init=init)
    assert torch.allclose(image, init, atol=1e-6)
    assert final["content"] == pytest.approx(loss_fn(init, photo)["content"].item(), rel=1e-5) and final["content"] > 0


def test_optimization_weights_the_content_term_by_the_photo_s_edges_as_training_does():
    config = LossConfig(style_layers={"relu1_2": 1.0}, style_size=64, content_edges=0.8)
    edges = perceptual_loss(config, load_style_image(str(STARRY_NIGHT), 64), torch.device("cpu"))
    photo = to_tensor(resize_long_side(load_rgb(DEMO_PHOTOS / "chelsea.jpg"), 40)).unsqueeze(0)
    init = torch.full_like(photo, 0.5)
    _, final = optimize_image(photo, edges, 1, "adam", lr=1e-9, init=init)
    weighted = edges(init, photo)["content"].item()
    assert final["content"] == pytest.approx(weighted, rel=1e-5)
    assert abs(weighted - edges.against(init, edges.content_target(photo))["content"].item()) > 1e-3 * weighted


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -1.0, 0.0])
def test_a_learning_rate_that_is_not_a_positive_number_is_refused(loss_fn, lr):
    photo = torch.rand(1, 3, 16, 16)
    with pytest.raises(FstError, match=f"--lr {lr:g}: expected a number > 0"):
        optimize_image(photo, loss_fn, 1, "adam", lr)


def test_the_best_image_reached_is_returned_not_a_last_step_that_made_it_worse(loss_fn):
    """Adam at lr 5 throws every pixel to 0 or 1 after the first step: the photo itself, evaluated in the first
    iteration, stays the best, and is what comes back."""
    photo = to_tensor(resize_long_side(load_rgb(DEMO_PHOTOS / "chelsea.jpg"), 40)).unsqueeze(0)
    seen = []
    image, final = optimize_image(photo, loss_fn, 4, "adam", 5.0, lambda i, terms, now: seen.append(terms["total"]))
    assert seen[0] == min(seen) < seen[-1]
    assert final["total"] == pytest.approx(seen[0], rel=1e-5) and torch.equal(image, photo)
