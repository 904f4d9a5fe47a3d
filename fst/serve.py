"""A local web server for the browser demo in web/: static files with the headers that make a page cross-origin
isolated, which browsers require before they give WebAssembly more than one thread.

It serves two folders of the repository, the page in web/ and the models in exports/, on the loopback address
only, to requests for 127.0.0.1 or localhost only (docs/security.md), and, when given `on_result`, takes the JSON
a page POSTs to RESULT_PATH: how tests read back what the browser computed.

    python serve.py            # then open http://127.0.0.1:8000/web/

(that command line is fst.cli.serve's; this module is the library part).
"""

from __future__ import annotations

if __name__ == "__main__":  # the library run as a script: one line to the command, nothing loaded
    raise SystemExit("error: fst.serve is the library; the command is python serve.py (or fst-serve)")

import json
import socket
import sys
import threading
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


SERVED_FOLDERS = ("web", "exports")  # the page and its runtime; the models
IDLE_SECONDS = 20  # a connection that sends nothing this long is closed: each one holds a thread
REQUEST_SECONDS = 20  # nor may one take longer than this to send its request line and headers, however it trickles
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class DemoHandler(SimpleHTTPRequestHandler):
    """Static files with isolation headers and no caching (a retrained model must not be served stale).

    Only files inside the served folders of the root (links resolved, so none leads out), no hidden files, no
    folder listings, and only to requests addressed to this machine by name: a page elsewhere that rebinds its
    own host name to 127.0.0.1 sends its own Host header, and is refused.
    """

    on_result: Callable[[dict], None] | None = None
    served: tuple[str, ...] = SERVED_FOLDERS
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}
    timeout = IDLE_SECONDS

    def setup(self) -> None:
        super().setup()
        self.cutoff = threading.Timer(REQUEST_SECONDS, self.cut_off)
        self.cutoff.start()

    def cut_off(self) -> None:
        """The request has not arrived in REQUEST_SECONDS: drop the connection, and with it the thread."""
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # closed meanwhile
            pass

    def parse_request(self) -> bool:
        parsed = super().parse_request()  # reads the headers
        self.cutoff.cancel()  # the request line and headers are in: what follows is the answer
        return parsed

    def finish(self) -> None:
        self.cutoff.cancel()
        super().finish()

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        if self.allowed():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self.allowed():
            super().do_HEAD()

    def allowed(self) -> bool:
        """Whether the request is for this machine and for a served file; answers it with an error when not."""
        port = self.server.server_address[1]
        host = (self.headers.get("Host") or "").lower()
        if host not in {f"{name}:{port}" for name in LOCAL_HOSTS} | (set(LOCAL_HOSTS) if port == 80 else set()):
            self.send_error(403, "this server answers only requests for 127.0.0.1 or localhost")
            return False
        if self.path.split("?")[0] == "/":
            self.send_response(302)
            self.send_header("Location", "/web/")
            self.end_headers()
            return False
        if not self.served_path():
            self.send_error(404)
            return False
        return True

    def served_path(self) -> bool:
        """Whether the URL names a file or folder that lies, links resolved, inside a served folder, hidden by no
        dot-name on the way."""
        try:
            target = Path(self.translate_path(self.path)).resolve(strict=True)
        except (OSError, ValueError):  # ValueError: a NUL byte in the path (%00)
            return False
        for name in self.served:
            folder = (Path(self.directory) / name).resolve()
            if target.is_relative_to(folder):
                return not any(part.startswith(".") for part in target.relative_to(folder).parts)
        return False

    def list_directory(self, path):  # a folder without index.html is not shown
        self.send_error(404)
        return None

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
    root: str | Path,
    port: int = 8000,
    on_result: Callable[[dict], None] | None = None,
    folders: tuple[str, ...] = SERVED_FOLDERS,
) -> ThreadingHTTPServer:
    """A server for the `folders` of `root` on 127.0.0.1:`port` (0: any free port; server.server_address says
    which)."""
    handler = type("Handler", (DemoHandler,), {"on_result": staticmethod(on_result) if on_result else None,
                                               "served": folders})  # fmt: skip
    return DemoServer(("127.0.0.1", port), partial(handler, directory=str(root)))


class DemoServer(ThreadingHTTPServer):
    """A request that fails (a client gone mid-answer, a request the handler did not foresee) is one line on
    stderr, not a traceback, and the server goes on."""

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):  # a client that went away: nothing to say
            print(f"fst-serve: a request from {client_address[0]} failed ({type(error).__name__}: {error})",
                  file=sys.stderr)  # fmt: skip
