import socket

import pytest

from fst.cli.serve import main
from fst.errors import FstError


def test_serve_says_what_is_missing_before_it_listens(tmp_path):
    with pytest.raises(FstError, match=f"--root {tmp_path}: expected a folder holding web/index.html"):
        main(["--root", str(tmp_path)])
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "index.html").write_text("<!doctype html>")
    runtime = tmp_path / "web" / "vendor" / "onnxruntime-web"
    with pytest.raises(FstError, match=f"{runtime} is missing: the page's runtime comes with fst"):
        main(["--root", str(tmp_path)])
    runtime.mkdir(parents=True)
    with pytest.raises(FstError, match="--port 70000: expected a port number from 0 to 65535"):
        main(["--root", str(tmp_path), "--port", "70000"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = f"--port {port}: cannot listen on 127.0.0.1:{port} \\(Address already in use\\)"
        with pytest.raises(FstError, match=busy):
            main(["--root", str(tmp_path), "--port", str(port)])
