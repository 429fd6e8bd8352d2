"""Headless Debian chromium driven over the Chrome DevTools protocol (a websocket, `websockets` from
Prefect's dependencies): open a page, collect console errors, exceptions and network requests, evaluate
JavaScript in it. No browser download."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL_HINT = "apt-get install -y chromium (Debian's package; the test set-up installs it)"


def chromium_binary() -> str | None:
    """$MDP_CHROMIUM, else chromium or chromium-browser on PATH."""
    explicit = os.environ.get("MDP_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    """What happened while a page loaded, and the values evaluated in it afterwards."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


class Chromium:
    """One headless chromium process with its own profile directory; close() ends it."""

    def __init__(self, binary: str, profile: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.port = self._devtools_port(profile / "DevToolsActivePort")
        self._id = 0

    def _devtools_port(self, marker: Path) -> int:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode}")
            if marker.exists():
                lines = marker.read_text().splitlines()
                if lines and lines[0].strip().isdigit():
                    return int(lines[0])
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def _page_socket(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        return str(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])

    def _send(self, ws: ClientConnection, method: str, **params: Any) -> int:
        self._id += 1
        ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        return self._id

    def visit(
        self, url: str, expressions: dict[str, str], width: int | None = None, screenshot: Path | None = None
    ) -> PageVisit:
        """Load `url` (in a `width` px wide window when given), wait for its load event, then evaluate each
        JavaScript expression (JSON values); `screenshot`: save the whole page there as PNG."""
        visit = PageVisit()
        with connect(self._page_socket(), max_size=None, open_timeout=10) as ws:
            for domain in ("Runtime", "Log", "Page", "Network"):
                self._send(ws, f"{domain}.enable")
            if width is not None:
                self._call(
                    ws,
                    visit,
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=900,
                    deviceScaleFactor=1,
                    mobile=False,
                )
            self._send(ws, "Page.navigate", url=url)
            self._wait(ws, visit, lambda m: m.get("method") == "Page.loadEventFired")
            for name, expression in expressions.items():
                result = self._call(ws, visit, "Runtime.evaluate", expression=expression, returnByValue=True)
                if "exceptionDetails" in result:
                    raise AssertionError(f"{name}: {result['exceptionDetails']}")
                visit.values[name] = result["result"].get("value")
            if screenshot is not None:
                size = self._call(ws, visit, "Page.getLayoutMetrics")["cssContentSize"]
                clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
                shot = self._call(
                    ws, visit, "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
                )
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            if width is not None:
                self._call(ws, visit, "Emulation.clearDeviceMetricsOverride")
        return visit

    def _call(self, ws: ClientConnection, visit: PageVisit, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and return its result."""
        call = self._send(ws, method, **params)
        reply = self._wait(ws, visit, lambda m: m.get("id") == call)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply["result"])

    def _wait(self, ws: ClientConnection, visit: PageVisit, done: Any) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            self._record(message, visit)
            if done(message):
                return dict(message)

    @staticmethod
    def _record(message: dict[str, Any], visit: PageVisit) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            visit.errors.append(str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            visit.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            visit.errors.append(str(params["entry"]["text"]))
        elif method == "Network.requestWillBeSent":
            visit.requests.append(str(params["request"]["url"]))

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
