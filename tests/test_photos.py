from pathlib import Path

import pytest
from PIL import Image

from fst.errors import FstError
from fst.photos import find_images, split_holdout


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "readme.txt").write_text("x")
    with pytest.raises(
        FstError, match=r"no images under .* \(looked for .bmp, .gif, .jpeg, .jpg, .png, .tif, .tiff, .webp at any depth\)"
    ):
        find_images(tmp_path)


def test_holdout_is_the_last_photos_in_sorted_order():
    paths = [Path(f"{name}.jpg") for name in "abcde"]
    assert split_holdout(paths, 2) == (paths[:3], paths[3:])
    assert split_holdout(paths, 0) == (paths, [])
    with pytest.raises(FstError, match=r"^data.holdout = 5 leaves no training photos \(5 found\)$"):
        split_holdout(paths, 5)


def test_hidden_files_such_as_the_temp_files_of_a_killed_write_are_not_photos(tmp_path):
    for name in ("a.jpg", ".a.4242.tmp.jpg", ".cache/b.jpg", "sub/c.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == ["a.jpg", "sub/c.jpg"]
