"""Starting the embedded broker: in the current process (`run`) or as a child (`BrokerProcess`).

The station runs the broker in a child process so that neither a busy GUI thread nor the
station's own loop can delay a device's messages, and so that the GIL-bound amqtt does not steal
time from them. The child is the same executable: ``python -m gcs broker ...`` from a source
install, ``<bundle exe> broker ...`` from a PyInstaller bundle (``sys.frozen``).

The child announces readiness with one line on its standard output::

    GCS-BROKER LISTENING <host> <port>

and watches its parent: when the parent process is gone (its parent pid changes on POSIX, the
process handle is signalled on Windows) it shuts down within about half a second. The
``PR_SET_PDEATHSIG`` shortcut on Linux is not used: it fires when the *thread* that started the
child exits, and the station starts the broker from its loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
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
from typing import IO, TYPE_CHECKING

from broker.limits import DEFAULT_MAX_QUEUED

if TYPE_CHECKING:
    from broker.server import GcsBroker

log = logging.getLogger(__name__)

READY_PREFIX = "GCS-BROKER LISTENING"
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
    parent_pid: int | None = None,
    on_ready: Callable[[str, int], None] | None = None,
) -> None:
    """Run the broker in this process until SIGTERM/SIGINT (or the parent process dies).

    Args:
        host: address to listen on (``0.0.0.0``: all IPv4 interfaces; ``::``: IPv6 too).
        port: TCP port; 0 asks the OS for a free one (reported through `on_ready`).
        auth_path: the station's ``broker-auth.json``; re-read whenever it changes.
        max_queued_messages: per-client bound on messages waiting for delivery.
        parent_pid: stop when this process is gone (used by `BrokerProcess`).
        on_ready: called with (host, bound port) once the port accepts connections.

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
            stop=stop,
            on_ready=ready,
            should_exit=watch,
        )

    asyncio.run(main())


def print_ready(host: str, port: int) -> None:
    """`run` callback for a child process: announce the bound port on standard output."""
    print(f"{READY_PREFIX} {host} {port}", flush=True)


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
    host: str, port: int, auth_path: str | os.PathLike[str], *, max_queued_messages: int
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
        log_path: str | os.PathLike[str] | None = None,
        command: Sequence[str] | None = None,
        start_timeout: float = 20.0,
        env: dict[str, str] | None = None,
    ) -> None:
        """Describe the child; nothing starts until `start`.

        Args:
            auth_path: the station's ``broker-auth.json`` (must exist before `start`).
            host: listen address (default all IPv4 interfaces).
            port: listen port; 0 picks a free one (see `port` after `start`).
            max_queued_messages: per-client delivery bound.
            log_path: file receiving the child's log (stderr); a temp file if None.
            command: override of `child_command` (tests, special bundles).
            start_timeout: seconds `start` waits for the port to accept connections.
            env: environment for the child (default: this process's).
        """
        self.auth_path = Path(auth_path)
        self.host = host
        self.requested_port = port
        self.max_queued_messages = max_queued_messages
        self.log_path = Path(log_path) if log_path else None
        self.command = list(command) if command else None
        self.start_timeout = start_timeout
        self.env = env
        self.port: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None
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
        )
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="gcs-broker-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self._log = open(self.log_path, "a", encoding="utf-8")
        self._ready.clear()
        self._lines.clear()
        self.port = None
        self._process = subprocess.Popen(
            command,
            # Windows: no console window for the child of the GUI program.
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=self.env,
        )
        threading.Thread(
            target=self._read_stdout, args=(self._process,), name="broker-stdout", daemon=True
        ).start()
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
            else:
                self._lines.append(line)
        self._ready.set()  # EOF: wake start() so it can report the exit

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
            if process.stdout is not None:
                process.stdout.close()
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
