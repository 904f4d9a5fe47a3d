import json
import select
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from fst.serve import RESULT_PATH, DemoHandler, make_server


@pytest.fixture
def site(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "app.mjs").write_text("export const x = 1;\n")
    (tmp_path / "web" / "ort.wasm").write_bytes(b"\0asm\1\0\0\0")
    return tmp_path


def serving(root, on_result=None):
    server = make_server(root, 0, on_result)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def post(url: str, body: bytes) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST")) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_files_come_cross_origin_isolated_with_module_and_wasm_types(site):
    server, base = serving(site)
    try:
        for name, kind, body in (("app.mjs", "text/javascript", b"export const x = 1;\n"),
                                 ("ort.wasm", "application/wasm", b"\0asm\1\0\0\0")):  # fmt: skip
            with urllib.request.urlopen(f"{base}/web/{name}") as response:
                assert response.read() == body
                assert response.headers["Content-Type"] == kind
                assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
                assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
                assert response.headers["Cache-Control"] == "no-store"
        assert server.server_address[0] == "127.0.0.1"  # never on another interface
        assert post(base + RESULT_PATH, b"{}") == 404  # no test is listening
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_posts_its_result_to_the_test_listening(site):
    results = []
    server, base = serving(site, results.append)
    try:
        assert post(base + RESULT_PATH, json.dumps({"width": 512, "times": [1.5]}).encode()) == 204
        assert post(base + RESULT_PATH, b"not json") == 400
        assert post(base + "/elsewhere", b"{}") == 404
        assert post(base + RESULT_PATH, b"") == 413
    finally:
        server.shutdown()
        server.server_close()
    assert results == [{"width": 512, "times": [1.5]}]


def status(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_only_the_page_and_the_models_are_served_and_only_to_this_machine(site, tmp_path_factory):
    """Not the checkout around them (.git, runs/, .venv/), no listings, no links out, no other Host."""
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[remote]")
    (site / "runs").mkdir()
    (site / "runs" / "last.pt").write_bytes(b"weights")
    (site / "exports").mkdir()
    (site / "exports" / "wave.onnx").write_bytes(b"onnx")
    (site / "web" / "index.html").write_text("<html>")
    secret = tmp_path_factory.mktemp("elsewhere") / "passwd"
    secret.write_text("root:x:0:0")
    (site / "web" / "passwd").symlink_to(secret)
    (site / "web" / ".env").write_text("TOKEN=1")
    (site / "web" / "sub").mkdir()
    server, base = serving(site)
    try:
        assert status(f"{base}/exports/wave.onnx") == 200 and status(f"{base}/web/") == 200
        for path in ("/.git/config", "/.git/", "/runs/last.pt", "/web/passwd", "/web/.env", "/web/sub/", "/exports/",
                     "/web/../runs/last.pt", "/web/%2e%2e/runs/last.pt"):  # fmt: skip
            assert status(base + path) == 404, path
        port = server.server_address[1]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
            assert status(f"{base}/exports/wave.onnx", {"Host": host}) == 200, host
        for host in (f"attacker.example:{port}", "127.0.0.1", f"127.0.0.1.attacker.example:{port}"):
            assert status(f"{base}/exports/wave.onnx", {"Host": host}) == 403, host
        with urllib.request.urlopen(base + "/") as response:  # the root sends the page
            assert response.url == f"{base}/web/"
    finally:
        server.shutdown()
        server.server_close()


def test_an_idle_connection_is_closed(site, monkeypatch):
    """Each connection holds a thread: one that sends nothing is dropped after DemoHandler.timeout seconds."""
    monkeypatch.setattr(DemoHandler, "timeout", 0.5)
    server, _ = serving(site)
    try:
        with socket.create_connection(server.server_address, timeout=10) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""  # closed by the server, not by our own 10 s timeout
            assert time.monotonic() - started < 5
    finally:
        server.shutdown()
        server.server_close()


def test_a_request_that_trickles_in_is_cut_off(site, monkeypatch):
    """A header line every 0.2 s never leaves the socket idle for DemoHandler.timeout: the whole request must
    arrive within REQUEST_SECONDS."""
    import fst.serve

    monkeypatch.setattr(fst.serve, "REQUEST_SECONDS", 1.0)
    server, _ = serving(site)
    try:
        with socket.create_connection(server.server_address, timeout=10) as slow:
            started, closed = time.monotonic(), False
            slow.sendall(b"GET /web/app.mjs HTTP/1.1\r\n")
            for i in range(50):
                time.sleep(0.2)
                try:
                    slow.sendall(f"X-Slow-{i}: 1\r\n".encode())
                    closed = bool(select.select([slow], [], [], 0)[0]) and slow.recv(1024) == b""
                except OSError:  # BrokenPipe or ConnectionReset: cut off
                    closed = True
                if closed:
                    break
            assert closed and time.monotonic() - started < 5
    finally:
        server.shutdown()
        server.server_close()


def test_a_nul_byte_in_the_path_is_not_found_and_no_traceback(site, capfd):
    server, base = serving(site)
    try:
        assert status(f"{base}/web/app.mjs%00.js") == 404
        assert status(f"{base}/web/app.mjs") == 200  # and the server goes on
    finally:
        server.shutdown()
        server.server_close()
    assert "Traceback" not in capfd.readouterr().err
