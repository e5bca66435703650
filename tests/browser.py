"""A real headless Chromium (Debian's `chromium` package) driven over the DevTools protocol.

No test tool's own browser download is needed (it cannot work here): the machine's `/usr/bin/chromium`
is started with a throw-away profile and `--remote-debugging-port=0`, and this small client speaks the
protocol over its WebSocket (the `websockets` package the receiver's server already brings).
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)


def chromium_path() -> str | None:
    configured = os.environ.get("PRINTERNIZER_CHROMIUM")
    for candidate in (configured, *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


# what Chromium answers an evaluation while the page it ran in is being replaced
NAVIGATING = (
    "Inspected target navigated or closed",
    "Execution context was destroyed",
    "Cannot find context with specified id",
)


class BrowserError(RuntimeError):
    pass


class Page:
    """One tab: navigate, evaluate JavaScript, read cookies, take screenshots."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self._next_id = 0
        self.console: list[str] = []

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message_id = self._next_id
        self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"{method}: no answer within {timeout} s")
            message = json.loads(self.socket.recv(timeout=remaining))
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Runtime.consoleAPICalled":
            args = message["params"].get("args", [])
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in args)
            self.console.append(f"{message['params'].get('type')}: {text}")
        elif message.get("method") == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            self.console.append(f"exception: {details.get('exception', {}).get('description')}")

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=await_promise,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:80]}…: {description}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError as error:
                # a poll that meets a navigation (a form's submit, a redirect) is asked again
                if not any(reason in str(error) for reason in NAVIGATING):
                    raise
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(
                    f"timed out waiting for {expression!r}; console: {self.console[-10:]}"
                )
            time.sleep(0.1)

    def goto(self, url: str, timeout: float = 30.0) -> str:
        """Navigate and wait for the page (after redirects) to load; returns its URL."""
        self.call("Page.navigate", url=url)
        self.wait_for(
            "document.readyState === 'complete' && location.href !== 'about:blank'", timeout
        )
        href: str = self.evaluate("location.href")
        return href

    def cookies(self, url: str) -> list[dict[str, Any]]:
        cookies: list[dict[str, Any]] = self.call("Network.getCookies", urls=[url])["cookies"]
        return cookies

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def viewport(
        self, width: int, height: int, *, mobile: bool = False, dark: bool = False
    ) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.call(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )


def _devtools_port(profile: Path, process: subprocess.Popen[bytes], timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserError(f"chromium exited with {process.returncode}")
        if marker.exists():
            first_line = marker.read_text().splitlines()[:1]
            if first_line and first_line[0].isdigit():
                return int(first_line[0])
        time.sleep(0.05)
    raise BrowserError("chromium did not open its DevTools port")


@contextmanager
def chromium(
    executable: str, width: int = 1280, height: int = 900, timeout: float = 30.0
) -> Iterator[Page]:
    """Start headless Chromium with a fresh profile; yields its first tab."""
    # Chromium may still write into its profile while it exits: a leftover file is no test failure.
    with tempfile.TemporaryDirectory(
        prefix="printernizer-chromium-", ignore_cleanup_errors=True
    ) as profile_dir:
        profile = Path(profile_dir)
        process = subprocess.Popen(
            [
                executable,
                *CHROMIUM_ARGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = _devtools_port(profile, process, timeout)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                targets = json.load(answer)
            page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            with connect(page_url, max_size=None, open_timeout=timeout) as socket:
                page = Page(socket)
                for domain in ("Page", "Runtime", "Network"):
                    page.call(f"{domain}.enable")
                yield page
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
