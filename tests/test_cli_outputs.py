"""What the one-output-per-input commands say: an existing output kept, and the closing line with its exit code."""

from pathlib import Path

from fst.cli.outputs import keep_existing, report
from fst.media import Job


def test_an_existing_output_is_kept_unless_overwrite_and_the_closing_line_counts(tmp_path, capsys):
    (tmp_path / "out.png").write_bytes(b"x")
    job = Job(Path("in.png"), tmp_path / "out.png")
    assert keep_existing(job, overwrite=False) is True
    assert keep_existing(job, overwrite=True) is False
    assert keep_existing(Job(Path("in.png"), tmp_path / "new.png"), overwrite=False) is False
    assert f"kept existing {tmp_path / 'out.png'} (use --overwrite to replace it)" in capsys.readouterr().out
    assert report(5, 1, 1, "outdir") == 1 and capsys.readouterr().out == "wrote 3 files, 1 failed -> outdir\n"
    assert report(1, 0, 0, "o.png") == 0 and capsys.readouterr().out == "wrote 1 file -> o.png\n"


def test_the_tile_bar_appears_with_the_first_tile_counts_each_and_clears_itself(capsys):
    from fst.cli.outputs import TileBar

    with TileBar("photo.jpg") as bar:
        assert bar.bar is None  # an image stylized whole shows no bar
    with TileBar("photo.jpg") as bar:
        bar(1, 6)
        bar(4, 6)
        assert (bar.bar.n, bar.bar.total, bar.bar.desc) == (4, 6, "photo.jpg")
    assert "photo.jpg" in capsys.readouterr().err  # drawn on stderr as it went, then cleared (leave=False)
