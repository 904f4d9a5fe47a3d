import shutil
import subprocess
import sys

import pytest
from conftest import REPO

from fst.cli import entry


def test_ctrl_c_while_a_command_loads_is_one_word_and_exit_130(monkeypatch, capsys):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(entry.importlib, "import_module", interrupted)
    with pytest.raises(SystemExit) as info:
        entry.infer()
    assert info.value.code == 130 and capsys.readouterr().err == "interrupted\n"


NO_TORCH = "import sys; sys.modules['torch'] = None  # import torch now raises ImportError, as where it is absent\n"


def test_stylizing_with_an_onnx_model_needs_no_torch(tmp_path):
    """The inference install has no PyTorch: a shipped style by name, whole and in tiles, through the library and
    the command line, with torch made unimportable; and nothing imports it where it is installed either."""
    code = NO_TORCH + (
        "import fst, numpy as np\n"
        "from fst.cli.infer import main\n"
        "ramp = np.broadcast_to(np.arange(260, dtype=np.uint8)[None, :, None], (150, 260, 3)).copy()\n"
        "out = fst.Stylizer('wave', tile=192, overlap=8).stylize(ramp)\n"
        "assert out.shape == (150, 260, 3) and out.std() > 1, out.std()\n"
        f"assert main(['--model', 'wave', '--input', 'data/demo/chelsea.jpg', '--output', r'{tmp_path / 'out.jpg'}',"
        " '--size', '96']) == 0\n"
        "print('done')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and done.stdout.split()[-1] == "done", done.stderr
    assert (tmp_path / "out.jpg").stat().st_size > 1000
    code = "import sys, fst; fst.Stylizer('wave').stylize('data/demo/chelsea.jpg'); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.split() == ["False"]


def test_a_checkpoint_without_torch_says_what_to_install(models):
    code = NO_TORCH + f"import fst; fst.Stylizer(r'{models[0]}', 'cpu')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].endswith(
        f"{models[0]} needs PyTorch, which is not installed (README, Install: PyTorch, then pip install '.[train]'), "
        "or run an .onnx export"
    )


@pytest.mark.parametrize("command", ["train", "infer", "export", "distill", "serve"])
def test_each_console_script_runs_its_command_line(command, monkeypatch):
    ran = []
    monkeypatch.setattr(f"fst.cli.{command}.cli", lambda: ran.append(command))
    getattr(entry, command)()
    assert ran == [command]


def test_ctrl_c_that_lands_inside_an_import_ends_the_process_at_once():
    """A signal inside a C extension's import can surface as an ImportError: the handler exits before it does."""
    code = (
        "import os, signal, time\n"
        "from fst.cli import entry\n"
        "entry.importlib.import_module = lambda name: (os.kill(os.getpid(), signal.SIGINT), time.sleep(10))\n"
        "entry.run('infer')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


@pytest.mark.parametrize(
    ("command", "args", "missing"),
    [("train", ["--config", "configs/demo.yaml"], "yaml"),
     ("distill", ["--teacher", "wave", "--photos", "data/demo", "--run-dir", "runs/no-torch"], "torch"),
     ("export", ["x.pt", "-o", "x.onnx"], "torch"), ("infer", ["--optimize", "--style", "s.jpg", "--input",
     "data/demo/chelsea.jpg", "--output", "o.jpg"], "torch"), ("optimize", ["--style", "s.jpg", "--input",
     "data/demo/chelsea.jpg", "--output", "o.jpg"], "torch")],
)  # fmt: skip
def test_the_training_commands_without_torch_say_what_to_install(command, args, missing, tmp_path):
    (tmp_path / "x.pt").write_bytes(b"a checkpoint")
    code = NO_TORCH + f"sys.modules['yaml'] = None\nsys.argv = ['fst-{command}', *{args!r}]\n" + (
        f"from fst.cli.entry import run\nrun({command!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path if command ==
                          "export" else REPO)  # fmt: skip
    assert done.returncode == 1, done.stderr
    handed = "note: optimization is its own command, fst-optimize (python optimize.py); running it\n"
    assert done.stderr == handed * (command == "infer") + (f"error: fst-{command} needs PyTorch and the training packages ({missing} is not "
                           "installed): install PyTorch for this machine, then pip install '.[train]' in the fst "
                           "folder (README, Install)\n")  # fmt: skip


@pytest.mark.parametrize("command", ["train", "distill", "export", "optimize", "infer", "serve"])
def test_every_commands_help_needs_no_torch(command):
    code = NO_TORCH + f"sys.modules['yaml'] = None\nsys.argv = ['fst-{command}', '--help']\n" + (
        f"from fst.cli.entry import run\nrun({command!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and done.stdout.startswith("usage: "), done.stderr


def test_export_index_needs_no_torch(tmp_path):
    shutil.copy(REPO / "exports" / "wave-fast.onnx", tmp_path)
    code = NO_TORCH + f"import runpy\nsys.argv = ['export.py', '--index', r'{tmp_path}']\n" + (
        "runpy.run_path('export.py', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and done.stdout == f"wrote {tmp_path / 'models.json'}\n", done.stderr


@pytest.mark.parametrize("command", ["export", "serve"])
def test_each_command_runs_from_its_script_and_the_library_module_points_there(command):
    helped = subprocess.run([sys.executable, f"{command}.py", "--help"], capture_output=True, text=True, cwd=REPO)
    assert helped.returncode == 0 and helped.stdout.startswith(f"usage: {command}.py"), helped.stderr
    library = subprocess.run([sys.executable, "-m", f"fst.{command}"], capture_output=True, text=True, cwd=REPO)
    assert library.returncode == 1 and library.stdout == ""
    assert library.stderr == (
        f"error: fst.{command} is the library; the command is python {command}.py (or fst-{command})\n")
