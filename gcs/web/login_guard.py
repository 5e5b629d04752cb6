"""Back-off for wrong passwords, per user name and per client address.

Theory of operation. Each user name and each address keeps a count of consecutive failed
logins. The first `free` failures cost nothing; from then on every failure locks that name (or
address) for a delay that doubles each time (`base_delay_s`, 2x, 4x ... up to `max_delay_s`).
While locked, a login for that name or from that address is answered 429 with ``Retry-After``
without the password being checked, so guessing gets no faster by sending more. A successful
login clears the name's and the address's counts; records idle for `forget_after_s` are
dropped, and the tables are bounded (`max_entries`) so a spray of names cannot grow memory.

Addresses get more free failures than names: several pilots may share one address (NAT), and
one person mistyping should not lock the others out. A lock on a name is also a way to keep its
owner out for a while; the delay cap (5 minutes by default) bounds that.

Every lock is logged and published on the station's bus as a `LogEntry` (kind ``login``), so
the operator sees it in the desktop's events; refusals during a lock are only counted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from gcs.station.bus import LogEntry
from gcs.station.core import now_ms
from gcs.web.envelope import ApiError
from gcs.web.keys import LOGIN_GUARD, STATION

log = logging.getLogger(__name__)


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class _Table:
    def __init__(self, free: int, base_s: float, max_s: float, max_entries: int) -> None:
        self.free = free
        self.base_s = base_s
        self.max_s = max_s
        self.max_entries = max_entries
        self.records: dict[str, _Record] = {}

    def wait_s(self, key: str, now: float) -> float:
        record = self.records.get(key)
        return max(0.0, record.locked_until - now) if record is not None else 0.0

    def fail(self, key: str, now: float, forget_after_s: float) -> float:
        """Count a failure; returns the lock it starts (0 when still free)."""
        record = self.records.get(key)
        if record is None:
            self._prune(now, forget_after_s)
            record = self.records[key] = _Record()
        record.failures += 1
        record.last = now
        if record.failures < self.free:
            return 0.0
        delay = min(self.max_s, self.base_s * float(2 ** min(record.failures - self.free, 30)))
        record.locked_until = now + delay
        return delay

    def clear(self, key: str) -> None:
        self.records.pop(key, None)

    def _prune(self, now: float, forget_after_s: float) -> None:
        if len(self.records) < self.max_entries:
            return
        for key, record in list(self.records.items()):
            if now - record.last > forget_after_s and now >= record.locked_until:
                del self.records[key]
        while len(self.records) >= self.max_entries:  # all recent: forget the oldest
            del self.records[min(self.records, key=lambda k: self.records[k].last)]


class LoginGuard:
    """Counts failed logins and says how long a name or an address must wait.

    Args:
        user_free: failures of one user name before the back-off starts.
        address_free: failures from one address before the back-off starts.
        base_delay_s: the first lock; each further failure doubles it.
        max_delay_s: the longest lock.
        forget_after_s: an idle, unlocked record is forgotten after this.
        max_entries: the most names (and addresses) remembered.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        *,
        user_free: int = 5,
        address_free: int = 20,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        forget_after_s: float = 900.0,
        max_entries: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = _Table(user_free, base_delay_s, max_delay_s, max_entries)
        self._addresses = _Table(address_free, base_delay_s, max_delay_s, max_entries)
        self._forget_after_s = forget_after_s
        self._clock = clock
        self.refused = 0

    def wait_s(self, username: str, address: str) -> float:
        """Seconds before `username` may try again from `address` (0: now)."""
        now = self._clock()
        return max(self._users.wait_s(username.lower(), now), self._addresses.wait_s(address, now))

    def failed(self, username: str, address: str) -> list[str]:
        """Count a wrong password; returns a sentence per lock it starts (to log)."""
        now = self._clock()
        notes = []
        user_lock = self._users.fail(username.lower(), now, self._forget_after_s)
        if user_lock:
            failures = self._users.records[username.lower()].failures
            notes.append(
                f"user {username!r}: {failures} wrong passwords in a row (last from {address}); "
                f"logins of this user refused for {user_lock:g} s / 该用户登录失败过多，暂停登录"
            )
        address_lock = self._addresses.fail(address, now, self._forget_after_s)
        if address_lock:
            failures = self._addresses.records[address].failures
            notes.append(
                f"address {address}: {failures} wrong passwords in a row (last for user "
                f"{username!r}); logins from it refused for {address_lock:g} s / "
                "该地址登录失败过多，暂停登录"
            )
        return notes

    def succeeded(self, username: str, address: str) -> None:
        """A correct password: the name and the address start afresh."""
        self._users.clear(username.lower())
        self._addresses.clear(address)


def check_login(request: web.Request, username: str) -> None:
    """Refuse a login attempt while its user name or address is locked.

    Raises:
        ApiError: 429 with ``Retry-After``.
    """
    guard = request.app[LOGIN_GUARD]
    wait = guard.wait_s(username, request.remote or "")
    if wait > 0:
        guard.refused += 1
        seconds = math.ceil(wait)
        raise ApiError(
            429,
            f"too many wrong passwords: try again in {seconds} s / 密码错误次数过多，请 "
            f"{seconds} 秒后重试",
            headers={"Retry-After": str(seconds)},
        )


def note_login(request: web.Request, username: str, *, ok: bool) -> None:
    """Count the outcome of a password check; a lock it starts is logged and published."""
    guard = request.app[LOGIN_GUARD]
    address = request.remote or ""
    if ok:
        guard.succeeded(username, address)
        return
    for note in guard.failed(username, address):
        log.warning("login back-off: %s", note)
        request.app[STATION].bus.publish(LogEntry(now_ms(), "login", "warning", note))
