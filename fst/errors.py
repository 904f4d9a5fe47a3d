"""Errors meant for the person at the keyboard, not for a debugger."""

from __future__ import annotations

import sys
from collections.abc import Callable


class FstError(Exception):
    """A problem with the user's input or environment.

    The command-line scripts print these as one line (no traceback) and exit non-zero, so the message must
    name the file, key or value at fault and say what was expected.
    """

    exit_code = 1
    label = "error: "


class ConfigError(FstError):
    """An invalid config file, override or path named in the config; exit code 2 like a usage error."""

    exit_code = 2


def run_cli(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Run a command-line entry point: FstError becomes one line on stderr and its exit code, no traceback."""
    try:
        return main(argv) or 0
    except FstError as e:
        if str(e):  # empty for the other processes of a torchrun job, whose rank 0 already said it
            print(f"{e.label}{e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
