"""Reading and writing media: image files, folders and globs, animations, and the pipeline that overlaps a video's
decoding, stylizing and encoding (the video files themselves: fst.video).

Every output is written to a temp file and renamed into place, so an interrupted run never leaves half a file,
and nothing is ever written over one of the inputs.
"""

from __future__ import annotations

import collections
import glob
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PIL import Image

from fst.errors import FstError
from fst.files import atomic_write, check_writable, hidden
from fst.images import IMAGE_EXTENSIONS, flatten, open_image

T = TypeVar("T")
U = TypeVar("U")

VIDEO_EXTENSIONS = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
ALPHA_FORMATS = {".png", ".webp", ".tif", ".tiff"}
ANIMATION_FORMATS = {".gif", ".png", ".webp"}  # GIF, APNG, animated WebP


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path

    @property
    def is_video(self) -> bool:
        return self.source.suffix.lower() in VIDEO_EXTENSIONS


def _media_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in MEDIA_EXTENSIONS and p.is_file() and not hidden(p, folder)
    )


def plan_jobs(inputs: list[str], output: str, also_read: tuple[str, ...] = ()) -> list[Job]:
    """Pair every input with its output path; `also_read`: files the run reads besides its inputs (a painting),
    which no output may write over either, --overwrite or not.

    One input file and an output with a file suffix: that file. Otherwise `output` is a folder: files keep their
    names, folders are mirrored (recursively), glob patterns keep the path below the pattern's fixed part.
    """
    out = Path(output)
    jobs: list[Job] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            found = _media_under(path)
            if not found:
                raise FstError(f"no images or videos under {path}")
            jobs += [Job(f, out / f.relative_to(path)) for f in found]
        elif path.is_file():
            single = len(inputs) == 1 and out.suffix != "" and not out.is_dir()
            jobs.append(Job(path, out if single else out / path.name))
        elif glob.has_magic(name):
            matches = [Path(m) for m in sorted(glob.glob(name, recursive=True)) if Path(m).is_file()]
            matches = [m for m in matches if m.suffix.lower() in MEDIA_EXTENSIONS]
            if not matches:
                raise FstError(f"no images or videos match {name}")
            base = Path(name.split("*")[0].split("?")[0].split("[")[0])
            base = base if name.endswith("/") or base.is_dir() else base.parent
            jobs += [Job(m, out / m.relative_to(base)) for m in matches]
        else:
            raise FstError(f"input not found: {name}")
    _check_jobs(jobs, out, [Path(name) for name in also_read])
    return jobs


def _check_jobs(jobs: list[Job], out: Path, also_read: list[Path]) -> None:
    """Every problem with the outputs, found before the first input is stylized."""
    if len(jobs) > 1 and out.suffix and not out.is_dir():
        raise FstError(f"--output {out} looks like a file, but there are {len(jobs)} inputs: give a folder")
    for folder in sorted({job.target.parent for job in jobs}):
        check_writable(folder, f"--output {out}")
    sources = {path.resolve() for path in [job.source for job in jobs] + also_read}
    targets: set[Path] = set()
    for job in jobs:
        target = job.target.resolve()
        if target in sources:
            raise FstError(f"refusing to write over the input {job.target}: choose another --output")
        if target in targets:
            raise FstError(f"two inputs would both be written to {job.target}: stylize them into separate folders")
        targets.add(target)
        wanted = VIDEO_EXTENSIONS if job.is_video else IMAGE_EXTENSIONS
        if job.target.suffix.lower() not in wanted:
            kind = "video" if job.is_video else "image"
            raise FstError(
                f"--output {job.target}: {job.target.suffix or 'no suffix'} is not a {kind} type; "
                f"use one of {', '.join(sorted(wanted))}"
            )


def read_image(path: Path) -> Image.Image:
    """The image at `path`, or a one-line FstError naming it when it cannot be read."""
    try:
        return open_image(path)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise FstError(f"cannot read {path} ({e})") from None


def save_image(image: Image.Image, path: Path, replace: bool = True) -> None:
    """Atomic write; alpha is kept where the format holds it (png, webp, tif), else composited onto white.
    A failed write (disk full, the folder gone) is a one-line FstError; so is, with replace=False, a file at
    `path`, even one that appeared during the write (fst.files.atomic_write)."""
    if image.mode == "RGBA" and path.suffix.lower() not in ALPHA_FORMATS:
        image = flatten(image)
    try:
        with atomic_write(path, replace) as tmp:
            if path.suffix.lower() in (".jpg", ".jpeg"):
                image.save(tmp, quality=95)
            else:
                image.save(tmp)
    except OSError as e:
        raise FstError(f"cannot write {path} ({e.strerror or e})") from None


def frame_count(path: Path) -> int:
    """Frames in an image file: more than 1 for an animated GIF, APNG or WebP. A camera's MPO JPEG holds the photo
    and a preview (or a second view) of it: one picture, not an animation."""
    with Image.open(path) as image:
        return 1 if image.format == "MPO" else getattr(image, "n_frames", 1)


def transform_animation(
    source: Path,
    target: Path,
    transform: Callable[[Image.Image], Image.Image],
    on_frame: Callable[[], None],
    replace: bool = True,
) -> int:
    """Every frame of an animated image through `transform`, written as an animation of the same frame count,
    frame durations and loop count (GIF, APNG or WebP, by the target's suffix). Returns the number of frames.
    replace=False: as save_image."""
    from PIL import ImageSequence

    frames, durations = [], []
    try:
        with Image.open(source) as animation:
            loop = animation.info.get("loop", 0)
            for frame in ImageSequence.Iterator(animation):
                durations.append(frame.info.get("duration", animation.info.get("duration", 100)))
                frames.append(transform(flatten(frame.convert("RGBA"))).convert("RGB"))
                on_frame()
    except (OSError, ValueError, EOFError) as e:  # a truncated or damaged frame: nothing is written
        raise FstError(f"cannot read frame {len(frames) + 1} of {source} ({e})") from None
    try:
        with atomic_write(target, replace) as tmp:
            # default_image=False: an APNG's first frame is part of the animation, not a separate still.
            extra = {"default_image": False} if target.suffix.lower() == ".png" else {}
            frames[0].save(
                tmp, save_all=True, append_images=frames[1:], duration=durations, loop=loop, disposal=1, **extra
            )
    except OSError as e:
        raise FstError(f"cannot write {target} ({e.strerror or e})") from None
    return len(frames)


_DONE = object()


def in_order(items: Iterable[T], transform: Callable[[T], U], workers: int = 1) -> Iterator[U]:
    """transform(item) for every item, in order, with up to `workers` of them running at once in threads of their
    own (1: each in turn, in this thread)."""
    if workers == 1:
        yield from map(transform, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        running: collections.deque = collections.deque()
        for item in items:
            running.append(pool.submit(transform, item))
            if len(running) == workers:
                yield running.popleft().result()
        while running:
            yield running.popleft().result()


def pipeline(items: Iterable[T], transform: Callable[[T], U], consume: Callable[[U], None], depth=4, workers=1) -> None:
    """consume(transform(item)) for every item in order, `items` drawn in one thread, `transform` run in this one
    (`workers` at once: in_order) and `consume` in a third, so a video's decoding and encoding overlap its stylizing;
    at most `depth` items wait between stages. An exception in any stage stops all three and is raised here."""
    stop = threading.Event()
    errors: list[BaseException] = []
    inbox: queue.Queue = queue.Queue(depth)
    outbox: queue.Queue = queue.Queue(depth)

    def put(box: queue.Queue, item: object) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def take(box: queue.Queue) -> object:
        while True:
            try:
                return box.get(timeout=0.05)
            except queue.Empty:
                if stop.is_set():
                    return _DONE

    def produce() -> None:
        try:
            for item in items:
                if not put(inbox, item):
                    return
            put(inbox, _DONE)
        except BaseException as e:  # raised in the caller's thread below
            errors.append(e)
            stop.set()

    def drain() -> None:
        try:
            while (item := take(outbox)) is not _DONE:
                consume(item)
        except BaseException as e:
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=produce, daemon=True), threading.Thread(target=drain, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        for result in in_order(iter(lambda: take(inbox), _DONE), transform, workers):
            if not put(outbox, result):
                break
        put(outbox, _DONE)
    except BaseException:
        stop.set()
        raise
    finally:
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
