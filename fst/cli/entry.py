"""Where every command starts: the console scripts (fst-train, fst-infer, ...) and the scripts at the root.

Each command line is loaded inside a guard, because loading it loads torch, which takes seconds, and a Ctrl-C in
those seconds would otherwise end in a traceback from deep inside an import.
"""

from __future__ import annotations

import importlib
import sys


def run(command: str) -> None:
    """Load fst.cli.<command> and run it; Ctrl-C while it loads ends the process with 130, as run_cli does later."""
    try:
        module = importlib.import_module(f"fst.cli.{command}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
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
