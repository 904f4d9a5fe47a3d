"""Serve the browser demo (web/) and the models (exports/) on this machine only (see README.md).

    python serve.py            # then open http://127.0.0.1:8000/web/
"""

from fst.cli.entry import run

if __name__ == "__main__":
    run("serve")
