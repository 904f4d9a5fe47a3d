"""The browser demo's speed: the page's own timing of a network run in headless Chromium (WebAssembly, as many
threads as the CPU has), against Python onnxruntime on the same file and frame in the same process.

    python bench/web.py [--runs 6] [--rounds 3]

Cases: the webcam view's default network (the realtime stable one) on a 640x360 frame, whole and as the webcam
view runs it on a smaller copy brought up along the frame's edges (guided upsampling: web/guided.onnx and
web/guided.js; the copy 320 and 384 pixels long), and a still photo's (the full network) at 512x512. Each runs with the page's runtime (web/vendor/: onnxruntime-web's WebAssembly-only
build) and, where `make web` has fetched it, with the build that also has WebGPU (`ort.all.min.mjs`, its `jsep`
WebAssembly), on the CPU too; the cases take turns `--rounds` times, so a busy moment of a shared machine falls on
all of them. Figures: the median of each round's runs after its first (which compiles), the best round's, as ms
and frames per second, and its ratio to Python onnxruntime's.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fst.hardware import cpu_capability  # noqa: E402
from fst.images import load_rgb, to_array  # noqa: E402
from fst.onnxrun import onnx_session  # noqa: E402
from fst.serve import make_server  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NPM_DIST = REPO / "web" / "node_modules" / "onnxruntime-web" / "dist"
VENDOR_IMPORT = "./vendor/onnxruntime-web/ort.wasm.min.mjs"
VENDOR_PATHS = '"./vendor/onnxruntime-web/"'


def site_with(runtime: str, folder: Path) -> Path:
    """A copy of the page under `folder` that loads `runtime`: "vendor" (as shipped) or "jsep" (npm's build with
    WebGPU, its WebAssembly run on the CPU here); exports/ beside it as fst-serve serves them."""
    site = folder / runtime
    shutil.copytree(REPO / "web", site / "web", ignore=shutil.ignore_patterns("node_modules", "node"))
    (site / "exports").symlink_to(REPO / "exports")
    if runtime == "jsep":
        shutil.copytree(NPM_DIST, site / "web" / "npm")
        model = (site / "web" / "model.js").read_text()
        model = model.replace(VENDOR_IMPORT, "./npm/ort.all.min.mjs").replace(VENDOR_PATHS, '"./npm/"')
        (site / "web" / "model.js").write_text(model)
    return site


def page_times(site: Path, photo: Path, style: str, runs: int, profile: Path, work: int = 0) -> list[float]:
    """The page's ?test= timings (ms) for `runs` runs of `style` on `photo`, the network on a copy `work` pixels
    long brought up to the photo's size where given, as the webcam view does."""
    shutil.copy(photo, site / "web" / "bench-photo.png")
    results: queue.Queue = queue.Queue()
    server = make_server(site, 0, results.put)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    query = f"test=bench-photo.png&runs={runs}&work={work}" + (f"&style={style}" if style else "")
    browser = subprocess.Popen(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", f"http://127.0.0.1:{server.server_address[1]}/web/?{query}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        result = results.get(timeout=600)
    finally:
        browser.kill()
        browser.wait()
        server.shutdown()
        server.server_close()
    if "error" in result:
        raise SystemExit(f"bench/web.py: the page failed: {result['error']}")
    return result["times"]


def python_ms(model: Path, photo: Path, runs: int) -> float:
    """Python onnxruntime on the same file and photo: the median of `runs` runs after one."""
    session, image = onnx_session(model), to_array(load_rgb(photo))
    feeds = {"image": image}
    session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SystemExit("bench/web.py: Chromium is not installed (Debian: apt-get install chromium)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="runs per page load; the first is left out")
    parser.add_argument("--rounds", type=int, default=3, help="times each case runs, taking turns")
    args = parser.parse_args()
    chromium()
    runtimes = ["vendor", "jsep"] if NPM_DIST.is_dir() else ["vendor"]
    index = json.loads((REPO / "exports" / "models.json").read_text())["models"]
    webcam = next(m["file"] for m in index if m["variant"] == "fast-stable")
    still = next(m["file"] for m in index if m["style"] == webcam.split("-")[0] and m["file"].endswith(".onnx")
                 and m["variant"] == "full" and m["precision"] == "fp32")  # fmt: skip
    version = subprocess.run([chromium(), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"CPU: {cpu_capability()}; {version}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        frame, square = folder / "frame.png", folder / "square.png"
        astronaut = load_rgb(REPO / "data" / "demo" / "astronaut.jpg")
        astronaut.resize((640, 360), Image.LANCZOS).save(frame)
        astronaut.resize((512, 512), Image.LANCZOS).save(square)
        sites = {runtime: site_with(runtime, folder) for runtime in runtimes}
        cases = [("webcam view, 640x360", webcam, frame, 0), ("webcam view, 640x360 from 384x216", webcam, frame, 384),
                 ("webcam view, 640x360 from 320x180", webcam, frame, 320), ("still photo, 512x512", still, square, 0)]
        best: dict = {}
        for round_ in range(args.rounds):
            for name, style, photo, work in cases:
                for runtime in runtimes:
                    profile = folder / f"profile-{round_}-{runtime}"
                    times = page_times(sites[runtime], photo, style, args.runs, profile, work)
                    ms = float(np.median(times[1:]))
                    best[name, runtime] = min(best.get((name, runtime), ms), ms)
        print("\n| case | network | runtime | ms | frames/s | Python onnxruntime ms (whole picture) | ratio |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, style, photo, _ in cases:
            reference = python_ms(REPO / "exports" / style, photo, args.runs)
            for runtime in runtimes:
                ms = best[name, runtime]
                label = "web/vendor (wasm build)" if runtime == "vendor" else "npm ort.all (jsep build, wasm)"
                print(
                    f"| {name} | {style} | {label} | {ms:.0f} | {1000 / ms:.1f} | {reference:.0f} "
                    f"| {ms / reference:.2f}x |"
                )


if __name__ == "__main__":
    main()
