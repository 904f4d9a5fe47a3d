"""Headless Chromium driven as a user drives a page: open it, wait for what the page says, click, look. It speaks the
DevTools protocol over the pipe Chromium opens with --remote-debugging-pipe (file descriptors 3 and 4, messages of
JSON ending in a NUL byte), so it needs no package; the tests of the browser demo use it where a screenshot taken
after a fixed virtual time could come before the page has finished."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

REPLY_SECONDS = 60


def chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)


class Page:
    """One tab of a headless Chromium of its own (profile in `profile`), `width` x `height` CSS pixels, with a fake
    camera for getUserMedia; a context manager that ends the browser."""

    def __init__(self, profile: Path, width: int = 1000, height: int = 720) -> None:
        to_browser, from_us = os.pipe()
        to_us, from_browser = os.pipe()
        self.browser = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--remote-debugging-pipe", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
             f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=lambda: (os.dup2(to_browser, 3), os.dup2(from_browser, 4)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self.writer, self.reader = from_us, to_us
        self.pending, self.count, self.session = b"", 0, None
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def send(self, method: str, browser: bool = False, **params) -> dict:
        """A DevTools command to the tab (or to the browser); its result (events in between are passed over)."""
        self.count += 1
        message = {"id": self.count, "method": method, "params": params}
        if self.session and not browser:
            message["sessionId"] = self.session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self.pending:
                if not select.select([self.reader], [], [], REPLY_SECONDS)[0]:
                    raise TimeoutError(f"Chromium did not answer {method} in {REPLY_SECONDS} s: does the page yield?")
                chunk = os.read(self.reader, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"Chromium closed its pipe during {method}")
                self.pending += chunk
            raw, self.pending = self.pending.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self.count:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (promises awaited)."""
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 120) -> object:
        """Polls `expression` until it is truthy, and returns it; TimeoutError after `timeout` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if value := self.evaluate(expression):
                return value
            time.sleep(0.1)
        raise TimeoutError(f"{expression} was still false after {timeout} s")

    def download_to(self, folder: Path) -> None:
        """Downloads the page starts are saved in `folder` under their own names."""
        self.send("Browser.setDownloadBehavior", browser=True, behavior="allow", downloadPath=str(folder))

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return path

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc) -> None:
        self.browser.kill()
        self.browser.wait()
        os.close(self.writer)
        os.close(self.reader)
