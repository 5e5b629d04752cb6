"""Waiting on conditions instead of sleeping: polls with a deadline, paho SUBACKs, station log rows.

A fixed sleep is a guess about how long something takes; on a loaded CI machine the guess is
wrong now and then. Every helper here waits for the thing itself and fails with a sentence
naming it when the deadline passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

POLL_S = 0.02


def wait_until[T](probe: Callable[[], T], within: float = 10.0, what: str = "") -> T:
    """Poll `probe` until it returns something truthy (returned); fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or probe}")
        time.sleep(POLL_S)


async def async_wait_until[T](probe: Callable[[], T], within: float = 10.0, what: str = "") -> T:
    """`wait_until` for a coroutine: the event loop keeps running between polls."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = probe()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or probe}")
        await asyncio.sleep(POLL_S)


class Subacks:
    """Records the SUBACKs of a paho client (installs itself as `on_subscribe`).

    `subscribe(topics)` returns once the broker acknowledged them, with the reason codes, so a
    message published after it cannot miss the subscriber. `count` is the number of SUBACKs so
    far, for clients that subscribe inside `on_connect` (every reconnect adds one).
    """

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client
        self._cond = threading.Condition()
        self._acked: dict[int, list[int]] = {}
        self.count = 0
        client.on_subscribe = self._on_subscribe

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, codes: Sequence[Any], _p: Any) -> None:
        with self._cond:
            self._acked[mid] = [int(rc.value) for rc in codes]
            self.count += 1
            self._cond.notify_all()

    def subscribe(self, topics: Sequence[str], qos: int = 1, within: float = 10.0) -> list[int]:
        result, mid = self._client.subscribe([(t, qos) for t in topics])
        assert result == mqtt.MQTT_ERR_SUCCESS and mid is not None, f"subscribe failed: {result}"
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._acked, within):
                raise AssertionError(f"no SUBACK for {list(topics)} within {within} s")
            return self._acked.pop(mid)

    def wait_count(self, n: int, within: float = 10.0) -> None:
        """Wait until at least `n` SUBACKs arrived in total."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.count >= n, within):
                raise AssertionError(f"only {self.count} SUBACKs of {n} within {within} s")


def link_ups(data_dir: Path) -> int:
    """How many times the station's MQTT link came up with its subscriptions acknowledged.

    The station logs "MQTT link connected" (events log, table `station_events`, kind `broker`)
    only after the broker's SUBACK; the log reaches SQLite within about a second.
    """
    return _link_log_rows(data_dir, "MQTT link connected%")


def link_downs(data_dir: Path) -> int:
    """How many times the station's MQTT link saw its broker connection drop (same log)."""
    return _link_log_rows(data_dir, "MQTT link disconnected%")


def _link_log_rows(data_dir: Path, pattern: str) -> int:
    db = data_dir / "gcs.db"
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM station_events WHERE kind = 'broker' AND message LIKE ?",
            (pattern,),
        ).fetchone()
    return int(row[0])
