"""Atomic file writes, the check that a place can be written before any work is done for it, and reading PyTorch
files with one-line errors."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from fst.errors import FstError


@contextmanager
def atomic_write(path: Path, replace: bool = True) -> Iterator[Path]:
    """Yield a temp path beside `path` (same suffix, so writers can infer the format); rename it over `path` when
    the block succeeds, delete it when it fails. An existing file at `path` is replaced only by a complete one.

    replace=False never replaces a file: the finished file is linked into place, which fails where one already
    exists, however recently it appeared (another process writing the same output), and says so in one line.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(temp_name(path))
    try:
        yield tmp
        if replace:
            tmp.replace(path)
        else:
            try:
                os.link(tmp, path)
            except OSError as e:  # FileExistsError, or a file system without hard links: checked, then renamed
                if isinstance(e, FileExistsError) or path.exists():
                    message = f"{path} appeared while it was being written: kept it (--overwrite replaces it)"
                    raise FstError(message) from None
                tmp.replace(path)
    finally:
        # Where the temp file could not be created (a read-only disk), removing it fails too: the first error is
        # the one to report.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


NAME_MAX = 255  # bytes in one file name, on every common file system


def cache_folder() -> Path:
    """fst's own cache folder, $XDG_CACHE_HOME/fst (~/.cache/fst): runtime timings, paintings' models."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fst"


def temp_name(path: Path) -> str:
    """`.NAME.PID.tmp.SUFFIX` beside `path`; where that would pass NAME_MAX (a name of 240 bytes or more), the
    name's digest stands in for it."""
    name = f".{path.stem}.{os.getpid()}.tmp{path.suffix}"
    if len(os.fsencode(name)) > NAME_MAX:
        name = f".{hashlib.sha256(os.fsencode(path.name)).hexdigest()[:16]}.{os.getpid()}.tmp{path.suffix}"
    return name


def hidden(path: Path, root: Path) -> bool:
    """Whether `path` lies in or is a hidden file below `root`: such as the `.NAME.PID.tmp.*` files a killed
    write leaves behind, which are no one's input."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def check_writable(folder: Path, what: str) -> None:
    """Raise a one-line FstError unless files can be created in `folder` (made if missing, as the writers will).

    Tried for real, with a temp file, because permission bits say nothing about a read-only file system, and
    nothing about root, who ignores them.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise FstError(f"{what}: cannot write in {folder}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise FstError(f"{what}: cannot write in {existing} ({e.strerror or e})") from None


def load_torch_file(path: Path, what: str, error: type[FstError] = FstError) -> Any:
    """torch.load(path) of tensors only, on the CPU; a file it cannot read raises `error` with one line that
    starts with `what` instead of torch's advice to unpickle arbitrary code."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several unrelated types for a file that is not a state dict
        raise error(f"{what}: torch.load cannot read it ({type(e).__name__})") from None


_LOCKS: dict[Path, IO] = {}  # the locks this process holds, by lock file


def lock(path: Path, what: str) -> None:
    """Hold an exclusive lock on the file `path` (made if missing) until unlock(path) or the end of the process,
    however it ends: the operating system drops the lock of a killed process, so no stale lock is left behind.
    Another process holding it is a one-line FstError naming `what`. Taking a lock this process holds is a no-op.
    """
    key = path.resolve()
    if key in _LOCKS:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")
    try:
        if os.name == "nt":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise FstError(
            f"{what} is in use by another process (it holds {path}): wait for it to end, or pick another name"
        ) from None
    _LOCKS[key] = handle


def unlock(path: Path) -> None:
    handle = _LOCKS.pop(path.resolve(), None)
    if handle is not None:
        handle.close()
