"""Small asyncio helpers shared by every layer that runs a loop.

The event loop holds tasks weakly; a task nobody references can be garbage-collected mid-flight.
`spawn` keeps a strong reference until the task ends and gives it a name, so a hang shows up
readably in a task dump and a crash in a background task is logged instead of lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task[Any]] = set()


def spawn[T](coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Start `coro` as a named background task that stays referenced until it finishes.

    An exception other than cancellation is logged with the task's name.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background task %s failed", task.get_name(), exc_info=exc)
