"""`python serve.py` / `fst-serve`: serve the browser demo (web/) and the models (exports/) on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from fst.errors import FstError, UsageError, command_name, exit_with
from fst.serve import make_server

PACKAGE = Path(__file__).resolve().parent.parent
CHECKOUT, INSTALLED = PACKAGE.parent, PACKAGE / "share"  # web/ and exports/ in a checkout, or in the wheel (setup.py)
WEB_RUNTIME = Path("web") / "vendor" / "onnxruntime-web"  # kept in the repository and the wheel (web/vendor/README.md)


def default_root() -> Path:
    return CHECKOUT if (CHECKOUT / "web" / "index.html").is_file() else INSTALLED


def main(argv: list[str] | None = None) -> int:
    """`python serve.py [--port N] [--root DIR]`: serves until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog=command_name("serve.py"),
        description="Serve the browser demo on 127.0.0.1, cross-origin isolated for multi-threaded WebAssembly.",
    )
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    parser.add_argument(
        "--root", default=str(default_root()),
        help="folder holding web/ and exports/ (default: this checkout, or the installed package's copy)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not (root / "web" / "index.html").is_file():
        raise FstError(f"--root {root}: expected a folder holding web/index.html (an fst checkout)")
    if not (root / WEB_RUNTIME).is_dir():
        raise FstError(
            f"{root / WEB_RUNTIME} is missing: the page's runtime comes with fst (web/vendor/); reinstall fst, or "
            "in a checkout `git checkout web/vendor`"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected a port number from 0 to 65535")
    try:
        server = make_server(root, args.port)
    except OSError as e:
        raise FstError(f"--port {args.port}: cannot listen on 127.0.0.1:{args.port} ({e.strerror})") from None
    port = server.server_address[1]
    print(f"serving {root} at http://127.0.0.1:{port}/web/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cli() -> None:
    """Console-script entry point (`fst-serve`), also `python serve.py`."""
    exit_with(main)
