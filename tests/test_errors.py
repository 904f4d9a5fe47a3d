import subprocess
import sys

import pytest

from fst.errors import ConfigError, FstError, command_name, run_cli


def test_run_cli_turns_errors_into_one_line_and_exit_codes(capsys):
    def failing(error):
        def main(argv):
            raise error

        return main

    assert run_cli(failing(FstError("photo.jpg: too small"))) == 1
    assert run_cli(failing(ConfigError("c.yaml: train.lr = 0: expected a number > 0.0"))) == 2
    assert run_cli(failing(KeyboardInterrupt())) == 130
    assert capsys.readouterr().err == (
        "error: photo.jpg: too small\nerror: c.yaml: train.lr = 0: expected a number > 0.0\ninterrupted\n"
    )
    assert run_cli(lambda argv: None) == 0


def test_sigterm_runs_cleanups_and_exits_143(tmp_path):
    """A terminated command removes its half-written temp file on the way out (as a video being encoded would)."""
    script = (
        "import time\nfrom pathlib import Path\nfrom fst.errors import run_cli\nfrom fst.files import atomic_write\n"
        "def main(argv):\n"
        f"    with atomic_write(Path({str(tmp_path)!r}) / 'clip.mp4') as tmp:\n"
        "        tmp.write_bytes(b'half a video')\n"
        "        print('writing', flush=True)\n"
        "        for _ in range(600):\n"  # in steps, as a video goes frame by frame: a signal that lands just
        "            time.sleep(0.1)\n"  # before one long sleep starts would be handled only when it ends
        "raise SystemExit(run_cli(main))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline() == b"writing\n"
    process.terminate()
    assert process.wait(timeout=30) == 143
    assert process.stderr.read() == b"terminated\n"
    assert list(tmp_path.iterdir()) == []


def test_usage_names_the_command_the_user_typed(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/venv/bin/fst-infer", "--help"])
    assert command_name("infer.py") == "fst-infer"
    monkeypatch.setattr(sys, "argv", ["infer.py"])
    assert command_name("infer.py") == "infer.py"


def test_an_error_that_a_ctrl_c_turned_into_another_is_still_an_interruption():
    """Ctrl-C inside a C extension's import can surface as ImportError: the command still ends as interrupted.
    (A process of its own: the signal goes to the whole process.)"""
    code = (
        "import os, signal\n"
        "from fst.errors import run_cli\n"
        "def main(argv):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        for _ in range(1000):  # the handler runs between bytecodes, here\n"
        "            pass\n"
        "    except KeyboardInterrupt:\n"
        "        raise ImportError('numpy: initialization failed') from None\n"
        "raise SystemExit(run_cli(main))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")

    def broken(argv):
        raise ImportError("a broken install")

    with pytest.raises(ImportError, match="a broken install"):  # not after a Ctrl-C: its own traceback
        run_cli(broken)
