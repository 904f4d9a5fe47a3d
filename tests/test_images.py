import numpy as np
from PIL import Image

from fst.data import to_tensor
from fst.images import from_array, resize_long_side, to_array


def test_array_image_round_trip_is_exact_and_matches_the_tensor_conversion():
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    array = to_array(image)
    assert array.shape == (1, 3, 5, 7) and array.dtype == np.float32
    assert array[0, 1, 2, 3] == np.float32(pixels[2, 3, 1]) / 255
    np.testing.assert_array_equal(array[0], to_tensor(image).numpy())  # what training feeds the network
    assert np.array_equal(np.asarray(from_array(array[0])), pixels)


def test_from_array_rounds_to_the_nearest_level_and_clips():
    array = np.float32([[[0.5 / 255, 1.49 / 255, -0.2, 1.7]]]).repeat(3, axis=0)  # (3, 1, 4)
    assert np.asarray(from_array(array))[0, :, 0].tolist() == [0, 1, 0, 255]


def test_resize_long_side_keeps_the_aspect():
    assert resize_long_side(Image.new("RGB", (300, 200)), 150).size == (150, 100)
    assert resize_long_side(Image.new("RGB", (20, 1000)), 100).size == (2, 100)


def test_split_alpha_and_finish_carry_transparency():
    from fst.images import finish, split_alpha

    image = Image.new("LA", (4, 3), (128, 77))
    photo, alpha = split_alpha(image)
    assert photo.mode == "RGB" and photo.getpixel((0, 0)) == (128, 128, 128) and alpha.getpixel((0, 0)) == 77
    assert split_alpha(Image.new("RGB", (4, 3)))[1] is None
    stylized = finish(photo, Image.new("RGB", (4, 3), (0, 0, 0)), alpha, keep_colors=False, strength=0.25)
    assert stylized.mode == "RGBA" and stylized.getpixel((1, 1)) == (96, 96, 96, 77)  # 0.75 * 128 + 0.25 * 0
