"""`fst-infer --list`: a row per shipped style with its files' sizes in columns, and the terms."""

from fst.cli.infer import main


def test_list_names_every_shipped_model_with_its_terms(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["style", "full", "int8", "fast", "stable", "stable-int8", "fast-stable", "(MB)"]
    rows = {line.split()[0]: line.split()[1:7] for line in lines[1:] if line[:1].isalpha() and line[0].islower()}
    for style in ("starry_night", "the_scream", "wave", "udnie"):
        assert all(cell != "-" for cell in rows[style]), rows[style]  # every kind of file, one row
        assert float(rows[style][2]) < 0.5 < float(rows[style][0])  # the realtime network: a tenth the size
    assert rows["four_styles"][1:] == ["-"] * 5 and "4 styles (starry_night, the_scream, wave, udnie)" in out
    assert "non-commercial research and education" in out and "code: MIT" in out
