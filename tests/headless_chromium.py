"""A small client for headless Chromium over the DevTools protocol, for the report test.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol commands from file
descriptor 3 and writes responses and events to descriptor 4, each message one JSON object
ended by a NUL byte. No websocket library, no port, nothing downloaded. One page is opened;
uncaught script exceptions and console or log errors of that page are collected in ``errors``,
the URLs it requests in ``requests``.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--no-default-browser-check", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe")


def chromium_binary() -> str | None:
    """The Chromium executable (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """Headless Chromium with one page, driven by DevTools commands (``call``)."""

    def __init__(self, width: int = 1600, height: int = 1000, timeout: float = 60.0):
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("chromium is not installed (make install-system installs Debian's chromium)")
        self.timeout = timeout
        self.errors: list[str] = []
        self.requests: list[str] = []  # every URL the page asked for
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""
        self.profile = tempfile.mkdtemp(prefix="mexp-chromium-")
        self.log = Path(tempfile.mkstemp(prefix="mexp-chromium-", suffix=".log")[1])
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child() -> None:  # the browser's fds 3 and 4; every other fd of ours is close-on-exec
            a = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
            b = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        with self.log.open("wb") as err:
            self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, close_fds=False, preexec_fn=child)
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=True)

    # -- protocol ------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> dict[str, Any]:
        """Send one command (to the page's session when ``session``) and return its result."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError(f"chromium did not answer within {self.timeout} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the pipe: {self._stderr()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _event(self, msg: dict[str, Any]) -> None:
        self.events.append(msg)
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append(f"uncaught: {d.get('exception', {}).get('description') or d.get('text')}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.errors.append(f"log: {p['entry'].get('text')} ({p['entry'].get('url', '')})")

    def _stderr(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def pump(self, seconds: float) -> None:
        """Handle the events that arrive within ``seconds`` (rendering goes on meanwhile)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if b"\0" not in self._buffer and not select.select([self._from_browser], [], [], left)[0]:
                return
            self._event(self._read())

    # -- page ----------------------------------------------------------------------------------
    def open(self, path: Path) -> None:
        """Load a local file and wait for its load event."""
        seen = len(self.events)
        self.call("Page.navigate", {"url": path.resolve().as_uri()}, session=True)
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events[seen:]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path}: no load event within {self.timeout} s")
            self._event(self._read())

    def eval(self, expression: str, context: int | None = None) -> Any:
        """Evaluate JavaScript in the page (or in an execution ``context``) and return its value."""
        params: dict[str, Any] = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if context is not None:
            params["contextId"] = context
        out = self.call("Runtime.evaluate", params, session=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression[:80]}...: {out['exceptionDetails'].get('exception', {}).get('description')}")
        return out["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0, context: int | None = None) -> Any:
        """Poll ``expression`` (in the page, or in an execution ``context``) until it is truthy;
        return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.eval(expression, context)
            if value:
                return value
            self.pump(0.1)
        raise TimeoutError(f"waited {timeout} s for: {expression}")

    def frame_context(self, url_prefix: str) -> int:
        """An execution context inside the child frame whose URL starts with ``url_prefix``
        (DevTools may read a cross-origin frame, such as the report's data: iframes)."""
        tree = self.call("Page.getFrameTree", session=True)["frameTree"]
        frames = [c["frame"] for c in tree.get("childFrames", [])]
        match = [f for f in frames if f.get("url", "").startswith(url_prefix)]
        if not match:
            raise RuntimeError(f"no frame with a URL starting {url_prefix[:40]!r}; frames: {[f.get('url', '')[:40] for f in frames]}")
        return self.call("Page.createIsolatedWorld", {"frameId": match[-1]["id"]}, session=True)["executionContextId"]

    def screenshot(self, clip: dict[str, float] | None = None) -> np.ndarray:
        """The page (or the CSS-pixel ``clip`` rectangle of it) as a BGR image."""
        params: dict[str, Any] = {"format": "png"}
        if clip is not None:
            params |= {"clip": {**clip, "scale": 1}, "captureBeyondViewport": True}
        data = base64.b64decode(self.call("Page.captureScreenshot", params, session=True)["data"])
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)

    def close(self) -> None:
        try:
            os.close(self._to_browser)
            os.close(self._from_browser)
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
