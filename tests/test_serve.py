import json
import threading
import urllib.error
import urllib.request

import pytest

from fst.serve import RESULT_PATH, make_server


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
