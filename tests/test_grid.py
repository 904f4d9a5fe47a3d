from PIL import Image

from fst.grid import LABEL_HEIGHT, image_grid, labelled


def test_rows_of_different_sizes_are_laid_out_with_gaps_on_white():
    red, blue, green = Image.new("RGB", (5, 4), "red"), Image.new("RGB", (3, 6), "blue"), Image.new("RGB", (2, 2), "lime")
    grid = image_grid([[red, blue], [green]], gap=1)
    assert grid.size == (1 + 5 + 1 + 3 + 1, 1 + 6 + 1 + 2 + 1)  # widest row; each row as tall as its tallest image
    assert grid.getpixel((1, 1)) == (255, 0, 0) and grid.getpixel((5, 4)) == (255, 0, 0)
    assert grid.getpixel((7, 1)) == (0, 0, 255) and grid.getpixel((9, 6)) == (0, 0, 255)
    assert grid.getpixel((1, 8)) == (0, 255, 0) and grid.getpixel((2, 9)) == (0, 255, 0)
    assert grid.getpixel((0, 0)) == grid.getpixel((6, 3)) == grid.getpixel((3, 8)) == (255, 255, 255)
    assert grid.getpixel((1, 5)) == (255, 255, 255)  # below the shorter image of a row


def test_a_label_adds_a_strip_of_text_below_the_image():
    cell = labelled(Image.new("RGB", (80, 10), "red"), "style 0.07\nsecond line")
    assert cell.size == (80, 10 + LABEL_HEIGHT)
    assert cell.getpixel((40, 5)) == (255, 0, 0)
    strip = cell.crop((0, 10, 80, 10 + LABEL_HEIGHT)).convert("L")
    darkest, lightest = strip.getextrema()
    assert darkest < 64 and lightest == 255  # dark text on white
