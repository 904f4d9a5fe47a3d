import io
from itertools import islice

import pytest
import torch
from PIL import Image

from fst.data import (
    BadFileLog,
    PhotoDataset,
    PositionSampler,
    collate,
    spread_photos,
    to_image,
    to_tensor,
)
from fst.images import load_rgb
from fst.photos import find_images


def gradient(width=40, height=30):
    image = Image.new("RGB", (width, height))
    image.putdata([(x * 6 % 256, y * 8 % 256, 128) for y in range(height) for x in range(width)])
    return image


@pytest.fixture
def messy_folder(tmp_path):
    """Readable images of every awkward kind, in nested folders, plus planted bad files."""
    root = tmp_path / "photos"
    (root / "a" / "b").mkdir(parents=True)
    gradient().save(root / "rgb.jpg")
    gradient().convert("L").save(root / "a" / "gray.png")
    gradient().convert("CMYK").save(root / "a" / "cmyk.jpg")
    gradient().convert("P").save(root / "a" / "b" / "palette.bmp")
    gradient().convert("RGBA").save(root / "a" / "b" / "alpha.webp")
    Image.new("I;16", (40, 30), 65535).save(root / "sixteen.png")
    (root / "notes.txt").write_text("not an image, ignored by extension")
    (root / "text.jpg").write_text("not an image at all")
    (root / "empty.png").write_bytes(b"")
    data = io.BytesIO()
    gradient(200, 200).save(data, "JPEG")
    (root / "a" / "truncated.jpg").write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    return root


def test_find_images_recurses_and_filters_by_extension(messy_folder):
    names = [p.relative_to(messy_folder).as_posix() for p in find_images(messy_folder)]
    assert names == [
        "a/b/alpha.webp", "a/b/palette.bmp", "a/cmyk.jpg", "a/gray.png", "a/truncated.jpg",
        "empty.png", "rgb.jpg", "sixteen.png", "text.jpg",
    ]  # fmt: skip


def test_modes_become_8bit_rgb(messy_folder):
    for name in ["a/gray.png", "a/cmyk.jpg", "a/b/palette.bmp", "a/b/alpha.webp", "sixteen.png"]:
        image = load_rgb(messy_folder / name)
        assert image.mode == "RGB" and image.size == (40, 30), name
    assert load_rgb(messy_folder / "sixteen.png").getpixel((0, 0)) == (255, 255, 255)  # scaled, not clipped to 255
    half = Image.new("I;16", (4, 4), 32768)
    half.save(messy_folder / "half.png")
    assert load_rgb(messy_folder / "half.png").getpixel((0, 0)) == (128, 128, 128)


def test_alpha_is_composited_on_white(tmp_path):
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    assert load_rgb(tmp_path / "clear.png").getpixel((3, 3)) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    image = gradient(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_rgb(tmp_path / "rotated.jpg").size == (30, 40)


def test_bad_files_are_replaced_and_reported(messy_folder):
    paths = find_images(messy_folder)
    dataset = PhotoDataset(paths, image_size=16)
    bad_index = [p.name for p in paths].index("truncated.jpg")
    image, bad = dataset[(bad_index, 0)]
    assert image.shape == (3, 16, 16)
    assert len(bad) == 2  # truncated.jpg, empty.png, then rgb.jpg loads
    assert "truncated.jpg" in bad[0] and "empty.png" in bad[1]
    log = BadFileLog()
    seen = [report for i in range(len(paths)) for report in log.new(dataset[(i, i)][1])]
    assert sorted(r.split(" (")[0].rsplit("/", 1)[-1] for r in seen) == ["empty.png", "text.jpg", "truncated.jpg"]
    assert log.new(bad) == []  # each file reported once


def test_crops_are_a_function_of_the_seed(messy_folder):
    dataset = PhotoDataset(find_images(messy_folder), image_size=20)
    a, b, c = dataset[(6, 1234)][0], dataset[(6, 1234)][0], dataset[(6, 99)][0]
    assert torch.equal(a, b) and a.shape == (3, 20, 20)
    assert any(not torch.equal(a, dataset[(6, seed)][0]) for seed in range(10))
    batch, bad = collate([(a, []), (c, ["x"])])
    assert batch.shape == (2, 3, 20, 20) and bad == ["x"]


def test_sampler_resumes_mid_stream_and_permutes_each_epoch():
    stream = list(islice(PositionSampler(size=5, seed=7), 20))
    assert list(islice(PositionSampler(size=5, seed=7, start=13), 7)) == stream[13:]
    epochs = [tuple(i for i, _ in stream[e * 5 : e * 5 + 5]) for e in range(4)]
    assert all(sorted(order) == [0, 1, 2, 3, 4] for order in epochs)
    assert len(set(epochs)) > 1  # reshuffled, not one fixed order
    assert len({seed for _, seed in stream}) == 20
    assert stream != list(islice(PositionSampler(size=5, seed=8), 20))


def test_ranks_split_the_stream_between_them():
    single = list(islice(PositionSampler(size=6, seed=1), 12))
    rank0 = list(islice(PositionSampler(size=6, seed=1, rank=0, world_size=2), 6))
    rank1 = list(islice(PositionSampler(size=6, seed=1, rank=1, world_size=2), 6))
    assert rank0 == single[0::2] and rank1 == single[1::2]


def test_tensor_image_round_trip():
    image = gradient()
    tensor = to_tensor(image)
    assert tensor.shape == (3, 30, 40) and tensor.dtype == torch.float32
    assert tensor[0, 0, 1].item() == pytest.approx(6 / 255)
    assert list(to_image(tensor).getdata()) == list(image.getdata())


def test_a_strip_too_narrow_to_crop_is_skipped_and_named_not_resized(tmp_path):
    """A 474-byte 1x100000 PNG would become 256 x 25,600,000 pixels (about 20 GB) before its crop."""
    strip, good = tmp_path / "a_strip.png", tmp_path / "b_good.png"
    Image.new("RGB", (1, 100000), "red").save(strip)
    Image.new("RGB", (80, 60), "blue").save(good)
    image, bad = PhotoDataset([strip, good], 32)[(0, 0)]
    assert image.shape == (3, 32, 32) and image[2].min() == 1.0  # the blue photo
    assert bad == [f"{strip} (1x100000: more than 20:1, too narrow for square crops)"]
    assert [photo.size for photo in spread_photos([strip, good], 2)] == [(80, 60)]
    Image.new("RGB", (400, 20), "red").save(strip)  # 20:1 is still a photo
    assert PhotoDataset([strip, good], 32)[(0, 0)][1] == []


def test_a_folder_whose_only_photo_is_a_decompression_bomb_is_one_config_error(tmp_path):
    from fst.data import preview_photos
    from fst.errors import ConfigError

    Image.new("1", (20000, 20000)).save(tmp_path / "bomb.png")  # 400 megapixels in a few kilobytes
    with pytest.raises(ConfigError, match="data.root: none of the 1 image files under .* can be read \\(for example "
                                          "bomb.png: Image size \\(400000000 pixels\\) exceeds limit"):  # fmt: skip
        preview_photos(find_images(tmp_path), 32)
