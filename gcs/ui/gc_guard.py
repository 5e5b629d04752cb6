"""Python's garbage collection on the GUI thread only, while the desktop runs.

Why. Python's cyclic garbage collector runs on whichever thread happens to allocate when a
generation fills up. When it frees the Python wrapper of a Qt object on the station's thread,
PySide lets go of the interpreter lock to run Qt's destructor there; the destructor takes Qt's
signal lock and then asks for the interpreter lock again. If the GUI thread meanwhile holds the
interpreter lock and connects a signal, it waits for Qt's signal lock: both threads wait for
ever (seen: the desktop test suite hung in `QComboBox::setSizeAdjustPolicy` while the station
thread's collection destroyed a QObject). Qt objects must die on the GUI thread.

So `MainThreadCollector` turns automatic collection off and collects on the GUI thread from a
timer, generation by generation, when Python itself would have (`collect_due`). Everything the
station allocates is still freed at once by reference counting; only reference cycles wait for
the next tick (half a second).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


def collect_due() -> int:
    """Collect the oldest generation whose count is over its threshold, as Python's own
    automatic collection would; returns the generation collected, or -1 for none."""
    counts = gc.get_count()
    thresholds = gc.get_threshold()
    generation = -1
    for gen, (count, threshold) in enumerate(zip(counts, thresholds, strict=False)):
        if threshold and count > threshold:
            generation = gen
        else:
            break
    if generation >= 0:
        gc.collect(generation)
    return generation


class MainThreadCollector(QObject):
    """Automatic collection off; the GUI thread collects every `interval_ms` when due. `stop()`
    collects once more and gives automatic collection back."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(collect_due)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
