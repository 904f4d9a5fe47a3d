"""Errors meant for the person at the keyboard, not for a debugger."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn


class FstError(Exception):
    """A problem with the user's input or environment.

    The command-line scripts print these as one line (no traceback) and exit non-zero, so the message must
    name the file, key or value at fault and say what was expected.
    """

    exit_code = 1
    label = "error: "


class UsageError(FstError):
    """A command-line option or argument out of range, missing or malformed (or such a value passed to the
    library), found before any work starts: exit code 2, as argparse's own usage errors."""

    exit_code = 2


class ConfigError(FstError):
    """An invalid config file, override or path named in the config; exit code 2 like a usage error."""

    exit_code = 2


class Terminated(BaseException):
    """SIGTERM, raised where the program is, so that `finally` blocks remove their temp files on the way out."""


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


TRAINING_MODULES = {"torch", "yaml", "tensorboard"}  # what the `train` extra brings, beside the inference install


def missing_training_module(error: ModuleNotFoundError) -> str | None:
    """The one line for a command that needs the training install where it is absent; None for any other
    missing module (a broken install, which its traceback explains better)."""
    name = (error.name or "").split(".")[0]
    if name not in TRAINING_MODULES:
        return None
    return (f"{command_name('this command')} needs PyTorch and the training packages ({name} is not installed): "
            "install PyTorch for this machine, then pip install '.[train]' in the fst folder (README, Install)")  # fmt: skip


def command_name(script: str) -> str:
    """The name the user typed: fst-infer, fst-train, fst-export for the console scripts, else `script`."""
    typed = Path(sys.argv[0]).name
    return typed if typed.startswith("fst-") else script


_INTERRUPTED = threading.Event()  # set by Ctrl-C: what an error raised in its wake is really about


def _interrupt(_signum: int, _frame: object) -> None:
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Run a command-line entry point: FstError becomes one line on stderr and its exit code, no traceback;
    Ctrl-C and SIGTERM end it with 130 and 143 after every half-written file is cleaned up. A Ctrl-C that lands
    inside an import or a C extension can come out as another exception (ImportError, RecursionError): after
    one, any error ends the command as the interruption it is."""
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        _INTERRUPTED.clear()
        previous = signal.signal(signal.SIGTERM, _terminate), signal.signal(signal.SIGINT, _interrupt)
    try:
        return main(argv) or 0
    except FstError as e:
        if str(e):  # empty for the other processes of a torchrun job, whose rank 0 already said it
            print(f"{e.label}{e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except Exception as e:
        if _INTERRUPTED.is_set():
            print("interrupted", file=sys.stderr)
            return 130
        if isinstance(e, ModuleNotFoundError) and (message := missing_training_module(e)) is not None:
            print(f"error: {message}", file=sys.stderr)
            return 1
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])


def exit_with(main: Callable[[list[str] | None], int | None]) -> NoReturn:
    """A console script's whole body: run `main` under run_cli and exit with its code."""
    sys.exit(run_cli(main))
