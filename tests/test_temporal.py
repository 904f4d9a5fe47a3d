import math

import numpy as np
import pytest

from fst.temporal import TemporalFilter, gray, warp


def texture(height: int = 64, width: int = 80, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture (uint8) with enough structure everywhere for optical flow to lock on."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (height // 4, width // 4, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def shifted(image: np.ndarray, dx: int) -> np.ndarray:
    """The scene moved right by dx pixels; the columns that enter from the left repeat the edge."""
    out = np.roll(image, dx, axis=1)
    out[:, :dx] = image[:, :1]
    return out


def test_warp_along_a_known_flow_undoes_the_shift_exactly():
    image = texture().astype(np.float32)
    moved = shifted(image, 3)
    flow = np.zeros((*image.shape[:2], 2), np.float32)
    flow[..., 0] = -3.0  # every pixel of the moved frame was 3 pixels to the left before
    warped, inside = warp(image, flow)
    assert np.array_equal(warped[:, 3:], moved[:, 3:])
    assert inside[:, :3].max() == 0 and inside[:, 3:].min() == 1


def test_filter_recovers_a_known_shift_and_keeps_an_equivariant_output_unchanged():
    photo = texture()
    stylized = 255.0 - photo.astype(np.float32)  # any per-pixel picture moves with the scene
    stabilizer = TemporalFilter()
    first = stabilizer(photo, stylized)
    assert np.array_equal(first, stylized)  # the first frame is taken as it is
    flow = stabilizer.flow.calc(gray(shifted(photo, 4)), gray(photo), None)
    assert np.abs(flow[8:-8, 12:-8, 0] + 4).mean() < 0.05 and np.abs(flow[8:-8, 12:-8, 1]).mean() < 0.05
    second = stabilizer(shifted(photo, 4), shifted(stylized, 4))
    # The warped previous output equals the new one up to the flow's sub-pixel error: blending changes nothing.
    assert np.abs(second - shifted(stylized, 4))[8:-8, 12:-8].mean() < 0.5


def test_on_a_still_scene_the_output_is_a_moving_average_of_the_network_outputs():
    photo = texture()
    stabilizer = TemporalFilter(blend=0.6, stroke_sensitivity=0.0)
    assert stabilizer(photo, np.full(photo.shape, 100.0, np.float32)).mean() == 100.0
    second = stabilizer(photo, np.full(photo.shape, 200.0, np.float32))
    np.testing.assert_allclose(second, 200 + 0.6 * (100 - 200), atol=1e-3)  # 140
    third = stabilizer(photo, np.full(photo.shape, 200.0, np.float32))
    np.testing.assert_allclose(third, 200 + 0.6 * (140 - 200), atol=1e-3)  # 164


def test_strokes_that_disagree_are_replaced_rather_than_averaged():
    """The blend weight falls with the stylized frames' disagreement: exp(-20 (100/255)^2) = 0.046 of 0.8."""
    photo = texture()
    stabilizer = TemporalFilter(blend=0.8, stroke_sensitivity=20.0)
    stabilizer(photo, np.full(photo.shape, 100.0, np.float32))
    second = stabilizer(photo, np.full(photo.shape, 200.0, np.float32))
    weight = 0.8 * math.exp(-20 * (100 / 255) ** 2)
    np.testing.assert_allclose(second, 200 - 100 * weight, atol=1e-3)  # 196.3: the new stroke wins


def test_a_cut_or_a_new_size_starts_afresh():
    stabilizer = TemporalFilter()
    stabilizer(texture(seed=1) // 4, np.zeros((64, 80, 3), np.float32))  # a dark scene
    other = np.full((64, 80, 3), 200.0, np.float32)
    after_cut = stabilizer(192 + texture(seed=2) // 4, other)  # a bright one: no pixel matches, nothing blends
    assert np.abs(after_cut - other).max() < 0.01
    new_size = np.full((32, 40, 3), 50.0, np.float32)
    assert np.array_equal(stabilizer(texture(32, 40), new_size), new_size)
    stabilizer.reset()
    assert np.array_equal(stabilizer(texture(32, 40), other[:32, :40]), other[:32, :40])


def test_noise_in_the_network_output_shrinks_by_the_moving_average_factor():
    """Independent noise of deviation s: frame-to-frame differences of per-frame output have deviation s*sqrt(2);
    after a moving average of weight b on a still scene, (1 - b) * sqrt(s^2 + s^2 (1-b)/(1+b)) = 0.4 * 1.118 s
    for b = 0.6."""
    photo = texture()
    rng = np.random.default_rng(0)
    outputs = [128 + 10 * rng.standard_normal(photo.shape).astype(np.float32) for _ in range(60)]
    stabilizer = TemporalFilter(blend=0.6, stroke_sensitivity=0.0)
    stable = [stabilizer(photo, out) for out in outputs]
    raw_step = np.std(outputs[-1] - outputs[-2])
    stable_step = np.mean([np.std(stable[i] - stable[i - 1]) for i in range(30, 60)])
    assert raw_step == pytest.approx(10 * np.sqrt(2), rel=0.02)
    assert stable_step == pytest.approx(10 * 0.4 * np.sqrt(1 + 0.4 / 1.6), rel=0.03)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="blend 1.0"):
        TemporalFilter(blend=1.0)
    with pytest.raises(ValueError, match="differ in size"):
        TemporalFilter()(texture(), np.zeros((10, 10, 3), np.float32))


def test_the_filter_computes_its_formula():
    """output = stylized + blend * visible * agree * (warped - stylized), written out here with numpy's channel
    means: the filter's OpenCV arithmetic must give the same frames."""
    rng = np.random.default_rng(1)
    photos = [shifted(texture(seed=2), dx) for dx in (0, 2, 4)]
    outputs = [rng.uniform(0, 255, photos[0].shape).astype(np.float32) for _ in photos]
    stabilizer = TemporalFilter(blend=0.7, sensitivity=40.0, stroke_sensitivity=3.0)
    previous_photo, previous_output = photos[0], stabilizer(photos[0], outputs[0])
    for photo, stylized in zip(photos[1:], outputs[1:]):
        flow = stabilizer.flow.calc(gray(photo), gray(previous_photo), None)
        warped, inside = warp(previous_output, flow)
        warped_photo, _ = warp(previous_photo.astype(np.float32), flow)
        visible = np.exp(-40.0 * np.square((photo - warped_photo) / 255.0).mean(axis=2))
        agree = np.exp(-3.0 * np.square((stylized - warped) / 255.0).mean(axis=2))
        expected = stylized + (0.7 * inside * visible * agree)[..., None] * (warped - stylized)
        result = stabilizer(photo, stylized)
        inner = (slice(2, -2), slice(6, -2))  # at the edges a flow that differs by 1e-5 decides what is inside
        assert np.abs(result - expected)[inner].max() < 1e-3 and np.abs(result - stylized)[inner].mean() > 10
        previous_photo, previous_output = photo, result
