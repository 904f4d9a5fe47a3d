"""Where every command starts: the console scripts (fst-train, fst-infer, ...) and the scripts at the root.

Each command line is loaded inside a guard, because loading it loads torch or numpy, which takes seconds, and a
Ctrl-C in those seconds would otherwise end in a traceback from deep inside an import: one that a C extension may
even turn into an ImportError or a RecursionError. Nothing is written while a command loads, so Ctrl-C then ends
the process at once.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

from fst.errors import missing_training_module


def _interrupted_while_loading(_signum: int, _frame: object) -> None:
    print("interrupted", file=sys.stderr, flush=True)
    os._exit(130)


def run(command: str) -> None:
    """Load fst.cli.<command> and run it; Ctrl-C while it loads ends the process with 130, as run_cli does later,
    and a command that needs the training install where it is absent says so in one line."""
    previous = signal.signal(signal.SIGINT, _interrupted_while_loading)
    try:
        module = importlib.import_module(f"fst.cli.{command}")
    except KeyboardInterrupt:  # a handler set before this one's (a test's)
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except ModuleNotFoundError as e:
        if (message := missing_training_module(e)) is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    module.cli()


def train() -> None:
    run("train")


def infer() -> None:
    run("infer")


def export() -> None:
    run("export")


def distill() -> None:
    run("distill")


def serve() -> None:
    run("serve")


def optimize() -> None:
    run("optimize")
