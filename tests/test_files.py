import errno
from pathlib import Path

import pytest

from fst.errors import FstError
from fst.files import atomic_write, check_writable


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
