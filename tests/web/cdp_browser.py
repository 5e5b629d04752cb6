"""Headless Chromium driven over the Chrome DevTools Protocol with aiohttp (no Selenium).

`Browser.launch()` starts Debian's chromium with a throw-away profile on a free debugging port
(read back from DevToolsActivePort), opens one page and returns a `Page` whose `send()` issues
CDP commands and whose `evaluate()` runs JavaScript and returns its value.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class CdpError(RuntimeError):
    pass


class Page:
    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.console: list[str] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            doc = json.loads(msg.data)
            if "id" in doc:
                fut = self._pending.pop(doc["id"], None)
                if fut is not None and not fut.done():
                    if "error" in doc:
                        fut.set_exception(CdpError(str(doc["error"])))
                    else:
                        fut.set_result(doc.get("result", {}))
            else:
                self.events.append(doc)
                if doc.get("method") == "Runtime.consoleAPICalled":
                    args = doc["params"].get("args", [])
                    self.console.append(" ".join(str(a.get("value", "")) for a in args))
                elif doc.get("method") == "Runtime.exceptionThrown":
                    details = doc["params"]["exceptionDetails"]
                    exc = details.get("exception", {}).get("description") or details.get("text")
                    self.console.append(f"EXCEPTION {exc}")

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        msg_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        return await asyncio.wait_for(fut, 30)

    async def evaluate(self, expression: str) -> Any:
        res = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in res:
            raise CdpError(f"{expression!r} threw: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    async def wait_for(self, expression: str, within: float = 10.0) -> Any:
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = await self.evaluate(expression)
            except CdpError:
                last = None  # page between documents
            if last:
                return last
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{expression} stayed {last!r} for {within} s; console: {self.console[-10:]}"
        )

    async def navigate(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def screenshot(self, path: Path) -> Path:
        res = await self.send("Page.captureScreenshot", {"format": "png"})
        _write(path, base64.b64decode(res["data"]))
        return path

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _spawn(width: int, height: int, profile: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--window-size={width},{height}",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class Browser:
    def __init__(self, proc: subprocess.Popen[bytes], profile: str, port: int) -> None:
        self.proc = proc
        self.profile = profile
        self.port = port
        self.session: aiohttp.ClientSession | None = None

    @classmethod
    async def launch(cls, width: int = 1280, height: int = 800) -> Browser:
        profile = tempfile.mkdtemp(prefix="gcs-chromium-")
        proc = _spawn(width, height, profile)
        active = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not active.exists() or not active.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("chromium did not start (no DevToolsActivePort)")
            await asyncio.sleep(0.05)
        port = int(active.read_text().split()[0])
        return cls(proc, profile, port)

    async def new_page(self) -> Page:
        self.session = self.session or aiohttp.ClientSession()
        async with self.session.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as r:
            target = await r.json()
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(self.session, ws)
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        return page

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
