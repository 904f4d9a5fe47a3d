"""A local web server for the browser demo in web/: static files with the headers that make a page cross-origin
isolated, which browsers require before they give WebAssembly more than one thread.

It serves a folder (the repository: the page in web/, the models in exports/) on the loopback address only, and,
when given `on_result`, takes the JSON a page POSTs to RESULT_PATH: how tests read back what the browser computed.

    python -m fst.serve            # then open http://127.0.0.1:8000/web/

(that command line is fst.cli.serve's; this module is the library part).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RESULT_PATH = "/fst-test/result"
ISOLATION_HEADERS = {
    # Both are needed for crossOriginIsolated, hence SharedArrayBuffer, hence multi-threaded wasm.
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}
CONTENT_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}
MAX_RESULT_BYTES = 64 * 2**20


class DemoHandler(SimpleHTTPRequestHandler):
    """Static files with isolation headers and no caching (a retrained model must not be served stale)."""

    on_result: Callable[[dict], None] | None = None
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_POST(self) -> None:
        if self.path != RESULT_PATH or self.on_result is None:
            self.send_error(404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_RESULT_BYTES:
            self.send_error(413)
            return
        try:
            result = json.loads(self.rfile.read(length))
        except ValueError:
            self.send_error(400, "expected a JSON body")
            return
        self.on_result(result)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # one line per request is noise for a demo server
        pass


def make_server(
    root: str | Path, port: int = 8000, on_result: Callable[[dict], None] | None = None
) -> ThreadingHTTPServer:
    """A server for `root` on 127.0.0.1:`port` (0: any free port; server.server_address says which)."""
    handler = type("Handler", (DemoHandler,), {"on_result": staticmethod(on_result) if on_result else None})
    return ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(root)))


if __name__ == "__main__":  # `python -m fst.serve`: the command line lives in fst.cli.serve
    from fst.cli.serve import cli

    cli()
