import errno
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from fst.errors import FstError
from fst.files import atomic_write, check_writable, lock, unlock


def test_atomic_write_replaces_only_with_a_complete_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer died")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    with atomic_write(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_failed_write_reports_its_own_error_not_the_cleanup(tmp_path, monkeypatch):
    """On a read-only disk the temp file can be neither written nor removed: one error, the first."""

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(OSError) as info:
        with atomic_write(tmp_path / "out.txt") as tmp:
            read_only(tmp)
    assert info.value.__context__ is None


def test_check_writable(tmp_path):
    check_writable(tmp_path / "new" / "deeper", "--output x")  # missing folders are made later: fine
    assert not (tmp_path / "new").exists()  # and not made by the check
    plain = tmp_path / "plain.txt"
    plain.write_text("")
    with pytest.raises(FstError) as info:
        check_writable(plain / "sub", "--output out")
    assert str(info.value) == f"--output out: cannot write in {plain / 'sub'}: {plain} is a file, not a folder"


def test_check_writable_reports_the_system_reason(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("fst.files.tempfile.TemporaryFile", refuse)
    with pytest.raises(FstError) as info:
        check_writable(tmp_path, "output.runs_dir")
    assert str(info.value) == f"output.runs_dir: cannot write in {tmp_path} (Read-only file system)"


def test_a_write_that_may_not_replace_keeps_a_file_that_appeared_meanwhile(tmp_path):
    """Two infer.py runs to one output without --overwrite: the second finds the first's file at the end."""
    path = tmp_path / "out.jpg"
    with pytest.raises(FstError, match=f"{path} appeared while it was being written: kept it"):
        with atomic_write(path, replace=False) as tmp:
            tmp.write_bytes(b"second")
            path.write_bytes(b"first")  # the other process finished first
    assert path.read_bytes() == b"first" and sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]
    path.unlink()
    with atomic_write(path, replace=False) as tmp:
        tmp.write_bytes(b"only")
    assert path.read_bytes() == b"only" and sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]


def hold_lock_elsewhere(path):
    """A second process that takes the lock on `path` and waits; returned once it holds it."""
    code = (
        "import pathlib, time; from fst.files import lock; "
        f"lock(pathlib.Path({str(path)!r}), 'x'); print('held', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout.readline() == "held\n"
    return process


def test_a_lock_held_by_another_process_is_refused_and_freed_when_it_is_killed(tmp_path):
    path = tmp_path / ".run.lock"
    other = hold_lock_elsewhere(path)
    try:
        with pytest.raises(FstError, match=f"the run R is in use by another process \\(it holds {path}\\)"):
            lock(path, "the run R")
    finally:
        other.kill()  # SIGKILL: no cleanup of its own
        other.wait()
    lock(path, "the run R")
    lock(path, "the run R")  # this process holds it already
    unlock(path)


@pytest.mark.parametrize("length", [244, 250, 255])
def test_a_name_as_long_as_the_file_system_allows_is_written(tmp_path, length):
    target = tmp_path / ("a" * (length - 4) + ".png")
    with atomic_write(target, replace=False) as tmp:
        tmp.write_bytes(b"picture")
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.suffix == ".png"
    assert target.read_bytes() == b"picture" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_the_cache_folder_follows_xdg_cache_home(tmp_path, monkeypatch):
    from pathlib import Path

    from fst.files import cache_folder

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "fst"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_folder() == Path.home() / ".cache" / "fst"
