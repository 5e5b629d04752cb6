"""The media server (`gcs.video.server`) as a supervised child process, the way the broker is.

`MediaProcess.start()` runs `gcs media …` (the same program, as the broker child), waits for its
`ready` line, and a reader thread passes every event line to `on_event`. Streams are added and
removed with one JSON line each on the child's standard input; the process keeps the list, so
`restart()` (after the child died) adds them again. The child's log (stderr) goes to a file in
the data folder; closing its standard input (our exit, even a crash) makes it exit.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

OnEvent = Callable[[dict[str, Any]], None]


class MediaError(RuntimeError):
    """The media server could not be started; the message says why."""


def child_command(host: str, rtmp_port: int, http_port: int) -> list[str]:
    if getattr(sys, "frozen", False):
        prefix = [sys.executable]
    else:
        prefix = [sys.executable, "-m", "gcs"]
    return [
        *prefix,
        "media",
        "--host",
        host,
        "--rtmp-port",
        str(rtmp_port),
        "--http-port",
        str(http_port),
    ]


class MediaProcess:
    def __init__(
        self,
        *,
        host: str,
        rtmp_port: int,
        http_port: int,
        log_path: Path,
        on_event: OnEvent | None = None,
        start_timeout: float = 20.0,
    ) -> None:
        self.host = host
        self.rtmp_port = rtmp_port
        self.http_port = http_port
        self.log_path = log_path
        self.on_event = on_event
        self.start_timeout = start_timeout
        self.streams: dict[str, tuple[str, str]] = {}  # name → (secret, playback token)
        self.pulls: dict[str, tuple[str, str]] = {}  # name → (source URL, playback token)
        self.restarts = 0
        #: Whether the child serves WHIP (url_type 4), and if not why (from its `ready` line).
        self.whip = False
        self.whip_message = "the media server has not started"
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the child and wait until it listens. Raises MediaError."""
        self._stopping = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logfile = open(self.log_path, "a", encoding="utf-8")
        try:
            proc = subprocess.Popen(
                child_command(self.host, self.rtmp_port, self.http_port),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=logfile,
                text=True,
                bufsize=1,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        except OSError as exc:
            raise MediaError(f"cannot start the media server: {exc}") from exc
        finally:
            logfile.close()
        assert proc.stdout is not None
        ready = threading.Event()
        failure: list[str] = []
        threading.Thread(
            target=self._read, args=(proc.stdout, ready, failure), name="media-events", daemon=True
        ).start()
        deadline = time.monotonic() + self.start_timeout
        while not ready.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                why = failure[0] if failure else f"see {self.log_path}"
                raise MediaError(f"the media server did not start: {why}")
        self._process = proc
        for name, (secret, token) in self.streams.items():
            self._send({"op": "add", "name": name, "secret": secret, "token": token})
        for name, (url, token) in self.pulls.items():
            self._send({"op": "pull", "name": name, "url": url, "token": token})
        log.info("media server pid %s: RTMP %s, HTTP %s", proc.pid, self.rtmp_port, self.http_port)

    def _read(self, stream: IO[str], ready: threading.Event, failure: list[str]) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "ready":
                # ports asked as 0 are now fixed: a restart listens on the same ones
                self.rtmp_port = int(event.get("rtmp_port") or self.rtmp_port)
                self.http_port = int(event.get("http_port") or self.http_port)
                self.whip = bool(event.get("whip"))
                self.whip_message = str(event.get("whip_message") or "")
                ready.set()
            elif event.get("event") == "failed":
                failure.append(str(event.get("message")))
            if self.on_event is not None:
                try:
                    self.on_event(event)
                except Exception:  # a handler bug must not stop the reader
                    log.exception("media event handler")

    def _send(self, op: dict[str, Any]) -> None:
        with self._lock:
            proc = self._process
            if proc is None or proc.stdin is None or proc.poll() is not None:
                return  # added again by restart()
            try:
                proc.stdin.write(json.dumps(op) + "\n")
                proc.stdin.flush()
            except OSError as exc:
                log.warning("media server control: %s", exc)

    def add(self, name: str, secret: str, token: str) -> None:
        self.streams[name] = (secret, token)
        self._send({"op": "add", "name": name, "secret": secret, "token": token})

    def pull(self, name: str, url: str, token: str) -> None:
        self.pulls[name] = (url, token)
        self._send({"op": "pull", "name": name, "url": url, "token": token})

    def remove(self, name: str) -> None:
        self.streams.pop(name, None)
        self.pulls.pop(name, None)
        self._send({"op": "remove", "name": name})

    def restart(self) -> None:
        self._kill()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        self._stopping = True
        self._kill()

    def _kill(self) -> None:
        proc, self._process = self._process, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
