"""What the commands that write one output per input (fst-infer, fst-optimize) share: the bound on --size, an
existing output kept, a long image's progress, the closing line; and the webcam's one output, its recording, checked
before it opens."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from fst.architectures import MIN_SIDE
from fst.errors import UsageError
from fst.files import check_writable
from fst.media import VIDEO_EXTENSIONS, Job

MAX_SIZE = 10000  # a 10000x6667 photo is 67 megapixels: tiles keep it near 3 GB, a typo of 100000 would need 20 GB


def check_size(size: int | None) -> None:
    """--size, the long side to resize to: from MIN_SIDE to MAX_SIZE pixels, or not given."""
    if size is not None and not MIN_SIDE <= size <= MAX_SIZE:
        raise UsageError(f"--size {size}: expected {MIN_SIDE} to {MAX_SIZE} pixels")


class TileBar:
    """The progress of one image stylized in tiles (fst.tiling's on_tile), shown from its first tile and cleared at
    the end; an image stylized whole shows nothing."""

    def __init__(self, name: str) -> None:
        self.name, self.bar = name, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, unit="tile", desc=self.name, dynamic_ncols=True, leave=False)
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> TileBar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()


def keep_existing(job: Job, overwrite: bool) -> bool:
    """True, and said, when the job's output exists and may not be replaced."""
    if job.target.exists() and not overwrite:
        tqdm.write(f"kept existing {job.target} (use --overwrite to replace it)")
        return True
    return False


def report(total: int, failed: int, kept: int, output: str) -> int:
    """The closing line; the exit code is 1 when any input failed."""
    done = total - failed - kept
    print(f"wrote {done} file{'s' * (done != 1)}" + (f", {failed} failed" if failed else "") + f" -> {output}")
    return 1 if failed else 0


def check_recording(output: str, overwrite: bool) -> Path:
    """The webcam's --output, checked before the camera opens: a video file that may be written."""
    target = Path(output)
    if target.is_dir():
        raise UsageError(f"--output {output} is a folder: the webcam records to one video file")
    if target.suffix.lower() not in VIDEO_EXTENSIONS:
        kinds = ", ".join(sorted(VIDEO_EXTENSIONS))
        raise UsageError(f"--output {output}: the webcam records a video; use one of {kinds}")
    if target.exists() and not overwrite:
        raise UsageError(f"--output {output} exists: use --overwrite to replace it, or another name")
    check_writable(target.parent, f"--output {output}")
    return target
