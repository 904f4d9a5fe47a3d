"""Photos from a folder tree as training batches, with a data order that survives a resume exactly.

Randomness (the epoch's shuffle, each crop and flip) is a pure function of the seed and the sample's position in
the run, never of a worker's RNG state: resuming at step N only has to start the sampler at position
N * batch_size, whatever the number of workers.
"""

from __future__ import annotations

import random
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from fst.errors import ConfigError, FstError
from fst.images import from_array, load_rgb, resize_short_side, to_array

if TYPE_CHECKING:  # fst.config imports this module
    from fst.config import DataConfig


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> float32 (3, H, W) in [0, 1]: fst.images.to_array as a tensor."""
    return torch.from_numpy(to_array(image)[0])


def to_image(tensor: torch.Tensor) -> Image.Image:
    """float (3, H, W) in [0, 1] -> PIL RGB, rounding to the nearest 8-bit value (fst.images.from_array)."""
    return from_array(tensor.detach().float().cpu().numpy())


MAX_ASPECT = 20  # a training crop of a longer strip would first resize it to more than 20 crops' worth of pixels


def load_croppable(path: Path) -> Image.Image:
    """load_rgb for square crops: an image more than MAX_ASPECT times as long as it is wide raises ValueError, as
    an unreadable one does, since resizing its short side to the crop size makes an enormous image (a 1x100000
    PNG of 474 bytes becomes 256x25,600,000 pixels, about 20 GB, at image_size 256)."""
    image = load_rgb(path)
    if max(image.size) > MAX_ASPECT * min(image.size):
        raise ValueError(f"{image.width}x{image.height}: more than {MAX_ASPECT}:1, too narrow for square crops")
    return image


def spread_photos(paths: list[Path], count: int) -> list[Image.Image]:
    """Up to `count` readable photos, evenly spread over `paths` (unreadable ones are passed over)."""
    step = max(1, len(paths) // count)
    photos = []
    for path in paths[::step] + [p for i, p in enumerate(paths) if i % step]:
        try:
            photos.append(load_croppable(path))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        if len(photos) == count:
            break
    return photos


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """Short side resized to `size`, then the central size x size square (for fixed sample photos)."""
    image = resize_short_side(image, size)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return image.crop((left, top, left + size, top + size))


def preview_photos(paths: list[Path], size: int, count: int = 4) -> torch.Tensor:
    """A few photos spread over the data set, center-cropped: the same ones in every sample grid."""
    photos = spread_photos(paths, count)
    if not photos:
        try:
            load_croppable(paths[0])
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise ConfigError(
                f"data.root: none of the {len(paths)} image files under {paths[0].parent} can be read "
                f"(for example {paths[0].name}: {e})"
            ) from None
    return torch.stack([to_tensor(center_crop(p, size)) for p in photos])


class PhotoDataset(Dataset):
    """Square training crops: short side resized to `image_size` (or, with max_scale > 1, to a random size up to
    max_scale times it: details at more scales), a random crop, a random horizontal flip.

    Items are indexed by (image index, augmentation seed) pairs from PositionSampler. A file that cannot be decoded
    is replaced by the next readable one in the list and reported with the item, so the main process can warn once
    per file and count them: a run never dies on a bad file.
    """

    def __init__(self, paths: list[Path], image_size: int, max_scale: float = 1.0) -> None:
        self.paths = paths
        self.image_size = image_size
        self.max_scale = max_scale

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, list[str]]:
        index, seed = item
        bad: list[str] = []
        for offset in range(len(self.paths)):
            path = self.paths[(index + offset) % len(self.paths)]
            try:
                image = load_croppable(path)
                break
            except (OSError, ValueError, Image.DecompressionBombError) as e:
                bad.append(f"{path} ({e})")
        else:
            raise FstError(f"none of the {len(self.paths)} images could be read; the last error: {bad[-1]}")
        rng = random.Random(seed)
        side = self.image_size
        if self.max_scale > 1:
            side = round(side * rng.uniform(1, self.max_scale))
        image = resize_short_side(image, side)
        left = rng.randint(0, image.width - self.image_size)
        top = rng.randint(0, image.height - self.image_size)
        image = image.crop((left, top, left + self.image_size, top + self.image_size))
        if rng.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return to_tensor(image), bad


def collate(items: list[tuple[torch.Tensor, list[str]]]) -> tuple[torch.Tensor, list[str]]:
    return torch.stack([image for image, _ in items]), [b for _, bad in items for b in bad]


class PositionSampler(Sampler):
    """An endless stream of (image index, augmentation seed), from sample position `start` of the whole run.

    Position p belongs to epoch p // n, which is a fresh permutation drawn from (seed, epoch); the augmentation
    seed is drawn from (seed, p). `rank` and `world_size` give each of several processes every world_size-th
    position (start + rank, start + rank + world_size, ...), so together they see exactly the samples one
    process would, and a resumed run continues from the same `start` with any number of processes.
    """

    def __init__(self, size: int, seed: int, start: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.size = size
        self.seed = seed
        self.start = start
        self.rank = rank
        self.world_size = world_size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch, order = -1, None
        position = self.start + self.rank
        while True:
            if position // self.size != epoch:
                epoch = position // self.size
                order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
            yield int(order[position % self.size]), self.seed * 2**40 + position
            position += self.world_size


class BadFileLog:
    """Remembers unreadable files so each is reported once and counted in the end-of-run summary."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def new(self, reports: list[str]) -> list[str]:
        """The reports not seen before (a bad file comes back every epoch)."""
        fresh = [r for r in dict.fromkeys(reports) if r not in self.seen]
        self.seen.update(fresh)
        return fresh


def _ignore_stop_signals(_: int) -> None:
    # Ctrl-C, `kill -- -PGID` and service managers signal every process in the group; a data worker that died
    # of it would crash the main process mid-step. Only the main process decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def photo_loader(paths: list[Path], cfg: DataConfig, sampler: PositionSampler, pin_memory: bool) -> DataLoader:
    """Batches of (photos, unreadable file names) in the sampler's order, cfg.workers processes decoding ahead
    (4 batches each), pinned for a GPU's asynchronous copies."""
    return DataLoader(
        PhotoDataset(paths, cfg.image_size, cfg.max_scale),
        batch_size=cfg.batch_size,
        sampler=sampler,
        num_workers=cfg.workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        worker_init_fn=_ignore_stop_signals if cfg.workers else None,
        persistent_workers=cfg.workers > 0,
        prefetch_factor=4 if cfg.workers else None,
    )
