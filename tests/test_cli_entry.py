import subprocess
import sys

import pytest

from fst.cli import entry

from conftest import REPO


def test_ctrl_c_while_a_command_loads_is_one_word_and_exit_130(monkeypatch, capsys):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(entry.importlib, "import_module", interrupted)
    with pytest.raises(SystemExit) as info:
        entry.infer()
    assert info.value.code == 130 and capsys.readouterr().err == "interrupted\n"


def test_importing_fst_loads_no_torch_until_the_stylizer_is_asked_for():
    code = "import sys, fst; print('torch' in sys.modules); fst.Stylizer; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("command", ["train", "infer", "export", "distill", "serve"])
def test_each_console_script_runs_its_command_line(command, monkeypatch):
    ran = []
    monkeypatch.setattr(f"fst.cli.{command}.cli", lambda: ran.append(command))
    getattr(entry, command)()
    assert ran == [command]
