"""Picture grids: how training samples, benchmarks and sweeps are shown to a person."""

from __future__ import annotations

from PIL import Image, ImageDraw

LABEL_HEIGHT = 28  # two lines of PIL's default font


def image_grid(rows: list[list[Image.Image]], gap: int = 4) -> Image.Image:
    """The rows stacked top to bottom, each row's images left to right, `gap` white pixels around every image.
    Images may differ in size: a row is as tall as its tallest image, the grid as wide as its widest row."""
    heights = [max(image.height for image in row) for row in rows]
    width = max(sum(image.width for image in row) + gap * (len(row) + 1) for row in rows)
    grid = Image.new("RGB", (width, sum(heights) + gap * (len(rows) + 1)), "white")
    top = gap
    for row, height in zip(rows, heights):
        left = gap
        for image in row:
            grid.paste(image.convert("RGB"), (left, top))
            left += image.width + gap
        top += height + gap
    return grid


def labelled(image: Image.Image, text: str) -> Image.Image:
    """The image with a white strip below it holding up to two lines of `text`."""
    cell = Image.new("RGB", (image.width, image.height + LABEL_HEIGHT), "white")
    cell.paste(image.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(cell)
    for i, line in enumerate(text.split("\n")[:2]):
        draw.text((4, image.height + 2 + 12 * i), line, fill="black")
    return cell
