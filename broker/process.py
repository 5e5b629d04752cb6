"""Starting the embedded broker: in the current process (`run`) or as a child (`BrokerProcess`).

The station runs the broker in a child process so that neither a busy GUI thread nor the
station's own loop can delay a device's messages, and so that the GIL-bound amqtt does not steal
time from them. The child is the same executable: ``python -m gcs broker ...`` from a source
install, ``<bundle exe> broker ...`` from a PyInstaller bundle (``sys.frozen``).

The child announces readiness with one line on its standard output::

    GCS-BROKER LISTENING <host> <port>

and then reports every refusal (a take-over refused, a publish or subscription refused, an
oversized packet, a session dropped for staying over its queue bound, a wrong password) as one
line each, rate-limited per client in the child::

    GCS-BROKER EVENT {"event": "takeover_refused", "level": "error", "message": "...", ...}

`BrokerProcess` parses those lines on its reader thread and hands each dict to its `on_event`
callback (the station turns them into desktop events, `gcs.station.broker_watch`); the last
ones are kept in `BrokerProcess.events`.

and watches its parent: when the parent process is gone (its parent pid changes on POSIX, the
process handle is signalled on Windows) it shuts down within about half a second. The
``PR_SET_PDEATHSIG`` shortcut on Linux is not used: it fires when the *thread* that started the
child exits, and the station starts the broker from its loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broker.limits import (
    DEFAULT_IDLE_TAKEOVER,
    DEFAULT_MAX_PACKET,
    DEFAULT_MAX_QUEUED,
    DEFAULT_STALL_TIMEOUT,
)
from gcs.logsetup import LOG_BACKUPS, LOG_MAX_BYTES, SafeRotatingFileHandler

if TYPE_CHECKING:
    from broker.server import GcsBroker

log = logging.getLogger(__name__)

READY_PREFIX = "GCS-BROKER LISTENING"
EVENT_PREFIX = "GCS-BROKER EVENT "
DEFAULT_PORT = 1883
DEFAULT_HOST = "0.0.0.0"


class BrokerStartError(RuntimeError):
    """The broker child did not start; the message carries the tail of its error output."""


def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    auth_path: str | os.PathLike[str] = "broker-auth.json",
    *,
    max_queued_messages: int = DEFAULT_MAX_QUEUED,
    max_packet_size: int = DEFAULT_MAX_PACKET,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
    idle_takeover: float = DEFAULT_IDLE_TAKEOVER,
    parent_pid: int | None = None,
    on_ready: Callable[[str, int], None] | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run the broker in this process until SIGTERM/SIGINT (or the parent process dies).

    Args:
        host: address to listen on (``0.0.0.0``: all IPv4 interfaces; ``::``: IPv6 too).
        port: TCP port; 0 asks the OS for a free one (reported through `on_ready`).
        auth_path: the station's ``broker-auth.json``; re-read whenever it changes.
        max_queued_messages: per-client bound on messages waiting for delivery.
        max_packet_size: largest packet a client may send; a bigger one closes its connection.
        stall_timeout: seconds a device session may stay over its queue bound before it is
            disconnected.
        idle_takeover: seconds of silence after which another login may take a client id over.
        parent_pid: stop when this process is gone (used by `BrokerProcess`).
        on_ready: called with (host, bound port) once the port accepts connections.
        on_event: called with each refusal the broker reports (see `print_event`).

    Raises:
        broker.auth.AuthFileError: the auth file is missing or invalid at start.
        amqtt.errors.BrokerError: the port cannot be bound.
    """
    watch = _parent_watcher(parent_pid) if parent_pid else None

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)

        def ready(server: GcsBroker) -> None:
            if on_ready is not None:
                on_ready(host, server.bound_port())

        from broker.server import serve  # amqtt is imported only in the broker process

        await serve(
            host,
            port,
            str(auth_path),
            max_queued_messages=max_queued_messages,
            max_packet_size=max_packet_size,
            stall_timeout=stall_timeout,
            idle_takeover=idle_takeover,
            on_event=on_event,
            stop=stop,
            on_ready=ready,
            should_exit=watch,
        )

    asyncio.run(main())


def print_ready(host: str, port: int) -> None:
    """`run` callback for a child process: announce the bound port on standard output."""
    print(f"{READY_PREFIX} {host} {port}", flush=True)


def print_event(event: dict[str, Any]) -> None:
    """`run` callback for a child process: one refusal as a JSON line on standard output."""
    print(EVENT_PREFIX + json.dumps(event, ensure_ascii=False, default=str), flush=True)


def _parent_watcher(parent_pid: int) -> Callable[[], bool]:
    """Return a function telling whether the process `parent_pid` has gone away."""
    if sys.platform == "win32":
        return _windows_parent_watcher(parent_pid)

    def gone() -> bool:
        return os.getppid() != parent_pid

    return gone


def _windows_parent_watcher(parent_pid: int) -> Callable[[], bool]:  # pragma: no cover
    import ctypes

    synchronize, wait_object_0 = 0x00100000, 0
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    handle = kernel32.OpenProcess(synchronize, False, parent_pid)
    if not handle:
        return lambda: True

    def gone() -> bool:
        return bool(kernel32.WaitForSingleObject(handle, 0) == wait_object_0)

    return gone


def child_command(
    host: str,
    port: int,
    auth_path: str | os.PathLike[str],
    *,
    max_queued_messages: int,
    max_packet_size: int = DEFAULT_MAX_PACKET,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
    idle_takeover: float = DEFAULT_IDLE_TAKEOVER,
) -> list[str]:
    """Return the command line that runs the broker sub-command of this same program.

    Works from a source install (``python -m gcs broker``) and from a PyInstaller bundle, whose
    executable takes the sub-command directly.
    """
    if getattr(sys, "frozen", False):
        prefix = [str(_console_executable(Path(sys.executable)))]
    else:
        prefix = [sys.executable, "-m", "gcs"]
    return [
        *prefix,
        "broker",
        "--host",
        host,
        "--port",
        str(port),
        "--auth",
        str(auth_path),
        "--max-queued",
        str(max_queued_messages),
        "--max-packet",
        str(max_packet_size),
        "--stall-timeout",
        str(stall_timeout),
        "--idle-takeover",
        str(idle_takeover),
        "--parent-pid",
        str(os.getpid()),
    ]


def _console_executable(exe: Path) -> Path:
    """The bundle's console program for the child.

    The Windows bundle also has a GUI-only executable (``gcs-station.exe``, no console window)
    whose standard streams are not usable; the broker child, which reports readiness on its
    standard output, is then the console ``gcs.exe`` beside it (started without a window).
    """
    console = exe.with_name("gcs.exe")
    if sys.platform == "win32" and exe.name.lower() != "gcs.exe" and console.is_file():
        return console
    return exe


class BrokerProcess:
    """The embedded broker in a child process.

    Usable again after `stop` (call `start` or `restart`). Not thread-safe: call it from one
    thread at a time.
    """

    def __init__(
        self,
        auth_path: str | os.PathLike[str],
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        max_queued_messages: int = DEFAULT_MAX_QUEUED,
        max_packet_size: int = DEFAULT_MAX_PACKET,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        idle_takeover: float = DEFAULT_IDLE_TAKEOVER,
        log_path: str | os.PathLike[str] | None = None,
        command: Sequence[str] | None = None,
        start_timeout: float = 20.0,
        env: dict[str, str] | None = None,
        log_max_bytes: int = LOG_MAX_BYTES,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Describe the child; nothing starts until `start`.

        Args:
            auth_path: the station's ``broker-auth.json`` (must exist before `start`).
            host: listen address (default all IPv4 interfaces).
            port: listen port; 0 picks a free one (see `port` after `start`).
            max_queued_messages: per-client delivery bound.
            max_packet_size: largest packet a client may send.
            stall_timeout: seconds a device session may stay over its queue bound.
            idle_takeover: seconds of silence before another login may take a client id over.
            log_path: file receiving the child's log (stderr); a temp file if None. It is
                rotated by size (`log_max_bytes`, 5 older files kept as ``.1`` ... ``.5``).
            command: override of `child_command` (tests, special bundles).
            start_timeout: seconds `start` waits for the port to accept connections.
            env: environment for the child (default: this process's).
            log_max_bytes: size at which the log file is rotated.
            on_event: called on the reader thread with each refusal the child reports (a
                dict with at least ``event``, ``level``, ``message``); may also be set later.
        """
        self.auth_path = Path(auth_path)
        self.host = host
        self.requested_port = port
        self.max_queued_messages = max_queued_messages
        self.max_packet_size = max_packet_size
        self.stall_timeout = stall_timeout
        self.idle_takeover = idle_takeover
        self.on_event = on_event
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=200)
        self.log_path = Path(log_path) if log_path else None
        self.command = list(command) if command else None
        self.start_timeout = start_timeout
        self.env = env
        self.log_max_bytes = log_max_bytes
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log: SafeRotatingFileHandler | None = None
        self._stderr_thread: threading.Thread | None = None
        self._lines: collections.deque[str] = collections.deque(maxlen=50)
        self._ready = threading.Event()

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self.alive and self._process else None

    @property
    def connect_host(self) -> str:
        """The address a local client should connect to."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host

    def start(self) -> None:
        """Start the child and return once its port accepts TCP connections.

        Readiness is the child's ``GCS-BROKER LISTENING`` line (printed after it bound the port);
        a custom `command` that prints none is probed with TCP connections instead.

        Raises:
            BrokerStartError: the child exited or did not get ready in time (message holds the
                tail of its error output); the child is stopped.
            RuntimeError: already running.
        """
        if self.alive:
            raise RuntimeError("the broker process is already running")
        if not self.auth_path.exists():
            raise BrokerStartError(f"broker auth file {self.auth_path} does not exist")
        command = self.command or child_command(
            self.host,
            self.requested_port,
            self.auth_path,
            max_queued_messages=self.max_queued_messages,
            max_packet_size=self.max_packet_size,
            stall_timeout=self.stall_timeout,
            idle_takeover=self.idle_takeover,
        )
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="gcs-broker-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        # The child's log goes through this process so that it is rotated by size and a full
        # disk is reported once (issue 17 #8), whatever the child itself prints.
        self._log = SafeRotatingFileHandler(self.log_path, self.log_max_bytes, LOG_BACKUPS)
        self._log.setFormatter(logging.Formatter("%(message)s"))
        self._ready.clear()
        self._lines.clear()
        self.port = None
        self._process = subprocess.Popen(
            command,
            # Windows: no console window for the child of the GUI program.
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=self.env,
        )
        threading.Thread(
            target=self._read_stdout, args=(self._process,), name="broker-stdout", daemon=True
        ).start()
        self._stderr_thread = threading.Thread(
            target=self._read_stderr,
            args=(self._process, self._log),
            name="broker-stderr",
            daemon=True,
        )
        self._stderr_thread.start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _read_stdout(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            if line.startswith(READY_PREFIX) and not self._ready.is_set():
                with contextlib.suppress(ValueError, IndexError):
                    self.port = int(line.split()[-1])
                self._ready.set()
            elif line.startswith(EVENT_PREFIX):
                self._event(line[len(EVENT_PREFIX) :])
            else:
                self._lines.append(line)
        self._ready.set()  # EOF: wake start() so it can report the exit

    @staticmethod
    def _read_stderr(process: subprocess.Popen[str], handler: SafeRotatingFileHandler) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            record = logging.makeLogRecord({"msg": line.rstrip("\n"), "levelno": logging.INFO})
            handler.handle(record)

    def _event(self, text: str) -> None:
        try:
            event = json.loads(text)
        except ValueError:
            log.warning("unreadable broker event line: %.200s", text)
            return
        if not isinstance(event, dict):
            return
        self.events.append(event)
        callback = self.on_event
        if callback is not None:
            try:
                callback(event)
            except Exception:  # the reader thread must go on reading
                log.exception("broker event callback failed")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        self._ready.wait(self.start_timeout)
        while time.monotonic() < deadline:
            if not self.alive:
                raise BrokerStartError(f"the broker exited at start: {self.error_tail()}")
            if self.port is not None:
                return  # the child announces its port only once it is listening
            if (
                self.command
                and self.requested_port
                and _accepts(self.connect_host, self.requested_port)
            ):
                self.port = self.requested_port  # a custom command that announces nothing
                return
            time.sleep(0.05)
        raise BrokerStartError(
            f"the broker did not listen within {self.start_timeout:.0f} s: {self.error_tail()}"
        )

    def error_tail(self, lines: int = 20) -> str:
        """Return the last lines the child wrote to its log and standard output."""
        text: list[str] = []
        thread = self._stderr_thread
        if thread is not None and not self.alive:
            thread.join(2.0)  # the child's last words are still on their way to the file
        if self.log_path and self.log_path.exists():
            with contextlib.suppress(OSError):
                text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join([*text[-lines:], *list(self._lines)[-lines:]]) or "(no output)"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the child: SIGTERM (a clean shutdown), then kill after `timeout` seconds."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("broker did not stop in %.0f s: killing it", timeout)
                    process.kill()
                    process.wait()
            if self._stderr_thread is not None:
                self._stderr_thread.join(5.0)
                self._stderr_thread = None
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        self._process = None

    def restart(self) -> None:
        """Stop then start again (same port if one was chosen, else a new free one).

        Raises:
            BrokerStartError: as `start`.
        """
        self.stop()
        self.start()

    def __enter__(self) -> BrokerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
