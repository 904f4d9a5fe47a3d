import copy
import math

import pytest
import torch

from fst.config import LossConfig
from fst.losses import (
    PerceptualLoss,
    content_loss,
    edge_weights,
    gram_matrix,
    load_style_image,
    move,
    perceptual_loss,
    random_motion,
    style_loss,
    temporal_loss,
    total_variation,
)
from fst.vgg import load_vgg16


def test_gram_matrix_by_hand():
    # one image, 2 channels, 1x2 pixels: channel a = (1, 2), channel b = (3, 4)
    features = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    # a.a = 5, a.b = 11, b.b = 25, divided by C*H*W = 4
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4
    assert torch.equal(gram_matrix(features), expected)


def test_content_loss_by_hand():
    target = torch.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 2.0]])  # energies 9 and 4
    output = torch.tensor([[1.0, 3.0, 0.0], [0.0, 1.0, 2.0]])  # squared distances 5 and 1
    assert content_loss(output, target).item() == pytest.approx((5 / 9 + 1 / 4) / 2, rel=1e-6)


def test_weighted_content_loss_by_hand():
    target = torch.tensor([[[[1.0, 2.0], [2.0, 0.0]]]])  # energy 9
    output = torch.tensor([[[[1.0, 3.0], [0.0, 0.0]]]])  # squared distances 0, 1, 4, 0
    weights = torch.tensor([[[[0.5, 0.5], [1.5, 1.5]]]])  # mean 1
    assert content_loss(output, target, weights).item() == pytest.approx((0.5 * 1 + 1.5 * 4) / 9, rel=1e-6)
    assert content_loss(output, target, torch.ones_like(weights)).item() == content_loss(output, target).item()


def test_edge_weights_by_hand():
    """A grey step between columns 3 and 4 of 8: central differences of 0.5 on both, area-averaged to 4 columns
    (0, 0.25, 0.25, 0), blurred over 3 with the border repeated (1/12, 1/6, 1/6, 1/12: mean 1/8), over the mean."""
    photo = torch.zeros(1, 3, 8, 8)
    photo[..., 4:] = 1.0
    eps = 1e-3
    edge, flat = (1 / 6 + eps) / (1 / 8 + eps), (1 / 12 + eps) / (1 / 8 + eps)
    expected = torch.tensor([flat, edge, edge, flat]).expand(1, 1, 4, 4)
    assert torch.allclose(edge_weights(photo, (4, 4), 1.0), expected, atol=1e-6)
    assert torch.allclose(edge_weights(photo, (4, 4), 0.25), 0.75 + 0.25 * expected, atol=1e-6)


def test_edge_weights_of_a_flat_photo_are_one_and_any_photo_averages_one():
    assert torch.allclose(edge_weights(torch.full((1, 3, 16, 16), 0.4), (8, 8), 0.9), torch.ones(1, 1, 8, 8))
    photos = torch.rand(2, 3, 40, 24, generator=torch.Generator().manual_seed(0))
    weights = edge_weights(photos, (20, 12), 0.7)
    assert weights.shape == (2, 1, 20, 12)
    assert torch.allclose(weights.mean((2, 3)), torch.ones(2, 1), atol=1e-5)


def test_content_edges_weight_the_content_term_by_the_photo_s_edges():
    vgg = load_vgg16("bundled", "relu2_2")
    generator = torch.Generator().manual_seed(0)
    style, photo, output = (torch.rand(1, 3, 32, 32, generator=generator) for _ in range(3))
    config = LossConfig(style_layers={"relu1_2": 1.0}, content_edges=0.6)
    loss = PerceptualLoss(vgg, config, style)
    target = loss.content_target(photo)
    weighted = loss(output, photo)["content"].item()
    assert torch.equal(loss.content_weights(photo, target), edge_weights(photo, (16, 16), 0.6))
    by_hand = loss.against(output, target, None, edge_weights(photo, (16, 16), 0.6))["content"].item()
    assert weighted == pytest.approx(by_hand)
    plain = PerceptualLoss(vgg, LossConfig(style_layers={"relu1_2": 1.0}), style)(output, photo)["content"].item()
    assert plain == pytest.approx(content_loss(vgg(output, ("relu2_2",))["relu2_2"], target).item(), rel=1e-5)
    assert abs(weighted - plain) > 1e-3 * plain


def test_style_loss_by_hand():
    target = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])  # energy 5
    output = torch.tensor([[[2.0, 0.0], [0.0, 2.0]], [[1.0, 1.0], [1.0, 2.0]]])  # distances 1 and 2
    assert style_loss(output, target).item() == pytest.approx((1 + 2) / (2 * 5), rel=1e-6)


def test_total_variation_by_hand():
    image = torch.tensor([[[[0.0, 1.0], [0.5, 0.5]]]])
    # down: |0.5-0| , |0.5-1| -> mean 0.5; across: |1-0|, |0.5-0.5| -> mean 0.5
    assert total_variation(image).item() == 1.0


def test_terms_do_not_depend_on_activation_scale():
    """Scaling conv1_1 scales every later activation alike; the normalized terms must not move."""
    config = LossConfig(style_layers={"relu1_2": 1.0, "relu2_2": 0.5}, tv_weight=0.3)
    vgg = load_vgg16("bundled", "relu2_2")
    scaled = copy.deepcopy(vgg)
    with torch.no_grad():
        scaled.features[0].weight.mul_(7.0)
        scaled.features[0].bias.mul_(7.0)
    generator = torch.Generator().manual_seed(0)
    style, photo, output = (torch.rand(2, 3, 32, 32, generator=generator) for _ in range(3))
    a = PerceptualLoss(vgg, config, style[:1])(output, photo)
    b = PerceptualLoss(scaled, config, style[:1])(output, photo)
    assert scaled(photo, ("relu2_2",))["relu2_2"].norm() > 6 * vgg(photo, ("relu2_2",))["relu2_2"].norm()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-3, atol=0)  # float32 rounding only


def test_total_is_the_weighted_sum_and_identity_has_zero_content():
    config = LossConfig(style_layers={"relu1_2": 1.0}, content_weight=2.0, style_weight=3.0, tv_weight=5.0)
    loss = PerceptualLoss(load_vgg16("bundled", "relu2_2"), config, torch.rand(1, 3, 32, 32))
    photo = torch.rand(2, 3, 24, 24)
    terms = loss(photo, photo)
    assert terms["content"].item() == 0.0
    expected = 2 * terms["content"] + 3 * terms["style"] + 5 * terms["tv"]
    torch.testing.assert_close(terms["total"], expected)
    assert loss(photo.flip(-1), photo)["content"] > 0.1


IDENTITY = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])


def test_a_motion_of_whole_pixels_moves_the_image_exactly():
    image = torch.rand(1, 3, 16, 20, generator=torch.Generator().manual_seed(0))
    shift = IDENTITY.clone()
    shift[0, 0, 2] = 2 * 3 / 20  # 3 pixels of a 20-pixel-wide image, in normalized coordinates
    moved = move(image, shift)
    assert torch.allclose(moved[..., :-3], image[..., 3:], atol=1e-6)  # the camera moved right: content left
    assert moved[..., -3:].abs().max() == 0  # beyond the photo
    assert torch.allclose(move(image, IDENTITY), image, atol=1e-6)


def test_random_motions_stay_within_their_bounds():
    torch.manual_seed(0)
    motion = random_motion(1000, size=256)
    scale = 1 / torch.linalg.det(motion[:, :, :2]).sqrt()
    angle = torch.atan2(motion[:, 1, 0], motion[:, 0, 0])
    assert angle.abs().max() <= math.radians(1.0) and angle.abs().max() > math.radians(0.95)
    assert (scale - 1).abs().max() <= 0.02 + 1e-6 and (scale - 1).abs().max() > 0.019
    shift_pixels = motion[:, :, 2] * 256 / 2
    assert shift_pixels.abs().max() <= 2.0 + 1e-5 and shift_pixels.abs().max() > 1.95


def test_temporal_loss_by_hand():
    """A network that works pixel by pixel commutes with any motion: 0. Noise of 0.1 on a 0/1 checkerboard
    (contrast 0.25) passed through unchanged: 0.1^2 / 0.25 = 0.04."""
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2
    image = checker.float().expand(2, 3, 16, 16).clone()
    pixelwise = torch.nn.Conv2d(3, 3, 1)
    torch.manual_seed(0)
    motion = random_motion(2, size=16)
    with torch.no_grad():
        assert temporal_loss(pixelwise(move(image, motion)), move(pixelwise(image), motion), motion) < 1e-10
    motions = IDENTITY.expand(2, 2, 3)
    assert temporal_loss(image + 0.1, move(image, motions), motions).item() == pytest.approx(0.04, rel=1e-5)


def test_a_style_image_that_cannot_be_used_is_one_config_error(tmp_path):
    """A decompression bomb and a 3x100000 strip (its short side would be 0 pixels) are refused, naming the file."""
    from PIL import Image

    from fst.errors import ConfigError

    narrow = tmp_path / "narrow.png"
    Image.new("RGB", (3, 100000), "red").save(narrow)
    with pytest.raises(ConfigError, match=f"style_image: {narrow} is 3x100000, too narrow: its short side would be"):
        load_style_image(str(narrow), 512)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 megapixels in a few kilobytes
    with pytest.raises(ConfigError, match=f"style_image: cannot read {bomb} \\(Image size \\(400000000 pixels\\)"):
        load_style_image(str(bomb), 512)


def test_several_style_images_score_each_output_against_its_own():
    config = LossConfig(style_layers={"relu1_2": 1.0, "relu2_2": 1.0}, content_layer="relu2_2")
    torch.manual_seed(0)
    styles = [torch.rand(1, 3, 48, 48), torch.rand(1, 3, 40, 56)]
    both = perceptual_loss(config, styles, torch.device("cpu"))
    outputs, photos = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    mixed = both(outputs, photos, torch.tensor([1, 0]))
    alone = [perceptual_loss(config, styles[s], torch.device("cpu"))(outputs[i : i + 1], photos[i : i + 1])
             for i, s in enumerate([1, 0])]  # fmt: skip
    for term in ("style", "content", "total"):
        assert mixed[term].item() == pytest.approx((alone[0][term].item() + alone[1][term].item()) / 2, rel=1e-5)
    weighted = perceptual_loss(config, styles, torch.device("cpu"), style_weights=[5.0, 2.0])
    terms = weighted(outputs, photos, torch.tensor([1, 0]))  # image 0 is style 1's (weight 2), image 1 style 0's
    styled = (2.0 * alone[0]["style"].item() + 5.0 * alone[1]["style"].item()) / 2
    expected = terms["content"].item() + styled + terms["tv"].item()
    assert terms["total"].item() == pytest.approx(expected, rel=1e-5) and terms["style"] == mixed["style"]
