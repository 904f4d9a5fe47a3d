"""The measures of what the eye sees (fst.looks), on pictures whose answer is known by construction."""

import numpy as np
import pytest

from fst.looks import blur, grow, halo, luminance, stroke_size, structure, subject_structure


def square(size: int = 128) -> np.ndarray:
    """A bright square on a dark ground: four strong straight edges."""
    image = np.full((size, size), 0.2)
    image[32:96, 32:96] = 0.8
    return image


def test_luminance_and_blur_by_hand():
    assert luminance(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8)).tolist() == [
        pytest.approx([0.299, 0.587, 0.114])]  # fmt: skip
    flat = np.full((20, 30), 0.4)
    np.testing.assert_allclose(blur(flat, 2.0), flat)  # a blur keeps a flat field
    dot = np.zeros((21, 21))
    dot[10, 10] = 1
    assert blur(dot, 1.5).sum() == pytest.approx(1)  # and the total of a point well inside
    assert grow(dot > 0, 2).sum() == 25  # two steps, 8-connected: a 5x5 square


def test_structure_is_one_for_the_photo_and_falls_as_its_edges_go():
    photo = square()
    assert structure(photo, photo) == pytest.approx(1)
    assert structure(photo, 0.5 * photo + 0.3) == pytest.approx(1)  # contrast and brightness do not matter
    assert structure(photo, np.full_like(photo, 0.5)) == 0.0  # nothing drawn
    moved = np.roll(photo, (20, 20), axis=(0, 1))  # the subject somewhere else
    assert structure(photo, moved) < 0.3
    noise = np.random.default_rng(0).random(photo.shape)
    assert structure(photo, photo + 0.2 * noise) > structure(photo, photo + 0.6 * noise) > 0.2


def test_subject_structure_leaves_strokes_over_a_flat_ground_out():
    photo = square()
    photo[40:88, 40:88] += 0.1 * np.sin(2 * np.pi * np.arange(48) / 12)[None, :]  # the subject's own detail
    assert subject_structure(photo, photo) == pytest.approx(1)
    painted = photo + 0.2 * np.sin(2 * np.pi * np.arange(128) / 12)[:, None]  # strokes over the ground
    painted[28:100, 28:100] = photo[28:100, 28:100]  # but not over the subject
    assert structure(photo, painted) < 0.6  # which structure counts against the picture
    assert subject_structure(photo, painted) > 0.9  # strokes only where the ground meets the subject
    assert subject_structure(photo, np.full_like(photo, 0.5)) == 0.0
    assert subject_structure(photo, np.roll(photo, (20, 20), axis=(0, 1))) < 0.5


def test_halo_is_one_for_the_photo_and_grows_with_a_ghost_beside_its_edges():
    photo = square()
    assert halo(photo, photo) == pytest.approx(1)
    ghost = photo.copy()
    ghost[26:102, 26:102] += 0.15  # a pale band 6 pixels wide around the square, as a halo
    ghost[32:96, 32:96] -= 0.15
    smeared = blur(photo, 4.0)  # a blurred, smeared edge
    assert halo(photo, ghost) > 1.5 and halo(photo, smeared) > 1.5


def test_stroke_size_reads_the_period_of_stripes():
    for period in (8, 16, 32):
        stripes = 0.5 + 0.4 * np.sin(2 * np.pi * np.arange(256) / period)[None, :].repeat(256, axis=0)
        assert stroke_size(stripes) == pytest.approx(period, rel=0.1)
