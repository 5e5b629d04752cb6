"""Garbage collection on the GUI thread only (`gcs.ui.gc_guard`): reference cycles made on
another thread (the station's) are freed by the GUI thread's timer, never where they were made,
so a Qt object is never destroyed off the GUI thread."""

from __future__ import annotations

import gc
import threading
from typing import Any, ClassVar

from gcs.ui.gc_guard import MainThreadCollector, collect_due


class _Cycle:
    freed_on: ClassVar[list[int]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.get_ident())


def test_cycles_made_on_another_thread_are_freed_on_the_gui_thread(qtbot: Any) -> None:
    _Cycle.freed_on.clear()
    collector = MainThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()

        def station() -> None:  # more than a generation's worth of cycles
            for _ in range(gc.get_threshold()[0] * 2):
                _Cycle()

        worker = threading.Thread(target=station)
        worker.start()
        worker.join(30)
        assert _Cycle.freed_on == []  # nothing collected on the worker
        qtbot.waitUntil(lambda: len(_Cycle.freed_on) > 0, timeout=5000)
        assert set(_Cycle.freed_on) == {threading.get_ident()}
    finally:
        collector.stop()


def test_collect_due_does_nothing_below_the_threshold() -> None:
    gc.collect()
    assert collect_due() == -1
