"""Log hygiene for a station that runs for weeks: size-rotated files, repeats collapsed into a
count, and a full disk reported once with what to do (issue 17 #8).

Theory of operation
-------------------
* `RepeatFilter` sits on one logger. The first record of a (logger, message template, level)
  passes; later records with the same key within `window_s` are counted, not emitted. When the
  window has passed, the count comes out as one line, "... repeated N more times in the last
  W s; the latest: ...", either with the next record of that key or, if none comes, at the
  next record of any key on that logger or at `flush()`. Nothing is lost from the count; only
  lines are saved.
* `DiskFullNotice` guards one writer (telemetry, events, a log file): `report(exc)` logs the
  first "disk full" error once, at ERROR, with what to do, and swallows the rest until a write
  succeeds again (`resolved()`), which is logged too. Other errors are left to the caller.
* `SafeRotatingFileHandler` is the stdlib size-rotating handler whose write errors go through a
  `DiskFullNotice` on standard error instead of printing a traceback per record.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DiskFullNotice",
    "RepeatFilter",
    "SafeRotatingFileHandler",
    "is_disk_full",
    "limit_repeats",
    "log_to_file",
]

DEFAULT_WINDOW_S = 10.0
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5
_SUMMARY = "_gcs_repeat_summary"


@dataclass
class _Window:
    started: float
    suppressed: int
    record: logging.LogRecord  # the first record of the window (for the summary's wording)
    latest: logging.LogRecord | None = None  # the last one held back


class RepeatFilter(logging.Filter):
    """Collapse repeats of one message template on one logger into a count.

    Args:
        logger: the logger the filter is attached to (summaries are emitted through it).
        window_s: how long one line stands for its repeats; 0 disables the collapsing.
        clock: monotonic time source (tests).

    Thread-safe: records may come from any thread.
    """

    def __init__(
        self,
        logger: logging.Logger,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.logger = logger
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[str, str, int], _Window] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SUMMARY, False):
            return True
        now = self._clock()
        template = record.msg if isinstance(record.msg, str) else repr(record.msg)
        key = (record.name, template, record.levelno)
        with self._lock:
            due = self._take_expired(now, keep=key)
            window = self._windows.get(key)
            if window is not None and now - window.started < self.window_s:
                window.suppressed += 1
                window.latest = record
                passed = False
            else:
                if window is not None and window.suppressed:
                    due.append(window)
                self._windows[key] = _Window(now, 0, record)
                passed = True
        for expired in due:
            self._emit_summary(expired)
        return passed

    def flush(self) -> None:
        """Emit the counts of every open window now (e.g. at shutdown)."""
        with self._lock:
            due = [w for w in self._windows.values() if w.suppressed]
            self._windows.clear()
        for window in due:
            self._emit_summary(window)

    def _take_expired(self, now: float, keep: tuple[str, str, int]) -> list[_Window]:
        due = []
        for key, window in list(self._windows.items()):
            if key != keep and now - window.started >= self.window_s:
                del self._windows[key]
                if window.suppressed:
                    due.append(window)
        return due

    def _emit_summary(self, window: _Window) -> None:
        first = window.record
        latest = window.latest or first
        summary = self.logger.makeRecord(
            first.name,
            first.levelno,
            first.pathname,
            first.lineno,
            "%s (repeated %d more times in the last %.0f s; the latest: %s)",
            (first.getMessage(), window.suppressed, self.window_s, latest.getMessage()),
            None,
        )
        summary.repeated = window.suppressed
        setattr(summary, _SUMMARY, True)
        self.logger.handle(summary)


def limit_repeats(logger: logging.Logger, window_s: float = DEFAULT_WINDOW_S) -> RepeatFilter:
    """Attach a `RepeatFilter` to `logger` (once; a second call returns the first filter)."""
    for existing in logger.filters:
        if isinstance(existing, RepeatFilter):
            return existing
    repeat_filter = RepeatFilter(logger, window_s)
    logger.addFilter(repeat_filter)
    return repeat_filter


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the user's quota) is full: OSError ENOSPC/EDQUOT, or
    SQLite's "database or disk is full"."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "disk is full" in str(exc)
        )
    return False


class DiskFullNotice:
    """Report a full disk for one writer once, and its end once.

    Args:
        logger: where the two lines go.
        what: what is not being saved, e.g. "telemetry history".
        on_notice: also called with each line (e.g. to show it in the desktop's events).
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        on_notice: Callable[[str, str], None] | None = None,
    ) -> None:
        self.logger = logger
        self.what = what
        self.on_notice = on_notice
        self.active = False
        self.failures = 0

    def report(self, exc: BaseException) -> bool:
        """Handle `exc` if it is a full disk (True: logged once, nothing more to do)."""
        if not is_disk_full(exc):
            return False
        self.failures += 1
        if not self.active:
            self.active = True
            text = (
                f"the disk is full: {self.what} cannot be saved ({exc}). Free some space on "
                "the disk holding the data folder (old recordings, media, telemetry history) or "
                "move the data folder to a larger disk; gcs keeps running and saves again by "
                "itself once there is room. / 磁盘已满：请清理数据目录所在磁盘的空间。"
            )
            self.logger.error("%s", text)
            if self.on_notice is not None:
                self.on_notice("error", text)
        return True

    def resolved(self) -> None:
        """A write succeeded: if the disk was full, say that saving works again."""
        if self.active:
            self.active = False
            text = f"disk space available again: {self.what} saved again"
            self.logger.warning("%s (%d writes had failed)", text, self.failures)
            if self.on_notice is not None:
                self.on_notice("info", text)
            self.failures = 0


class _StderrLogger(logging.Logger):
    """A logger writing straight to standard error (for a log handler's own failures)."""

    def __init__(self) -> None:
        super().__init__("gcs.logsetup.stderr")
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.addHandler(handler)
        self.propagate = False


class SafeRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Size-rotated log file; a full disk is said once on standard error, not per record."""

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS):
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self.disk = DiskFullNotice(_StderrLogger(), f"log lines for {path}")

    def emit(self, record: logging.LogRecord) -> None:
        failures = self.disk.failures
        super().emit(record)
        if self.disk.active and self.disk.failures == failures:
            self.disk.resolved()

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if exc is not None and self.disk.report(exc):
            return
        super().handleError(record)


def log_to_file(path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> None:
    """Also write INFO and above to the size-rotated file `path` (idempotent per path).

    The console keeps the level it had: existing handlers without a level of their own get the
    root logger's former level before the root is opened to INFO.
    """
    root = logging.getLogger()
    target = str(path.resolve())
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and handler.baseFilename == target:
            return
    try:
        file_handler = SafeRotatingFileHandler(path, max_bytes, backups)
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file: cannot write %s (%s)", path, exc)
        return
    file_handler.setLevel(logging.INFO)
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s")
    )
    console_level = root.level
    for handler in root.handlers:
        if handler.level == logging.NOTSET:
            handler.setLevel(console_level)
    root.addHandler(file_handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
