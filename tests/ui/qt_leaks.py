"""A test that leaves a Qt window open fails.

A leaked window is a top-level widget (`QApplication.topLevelWidgets()`) that the test created
and that is still alive and visible once the test's own fixtures are torn down and pytest-qt
closed the widgets given to `qtbot.addWidget` (pytest-qt does that before any fixture teardown;
`no_leaked_windows` is autouse, so its teardown runs after the test's other function fixtures).
Visible is the criterion: a window still on screen keeps its timers, its web engine page and
the bridge it listens to alive for the rest of the session, and shows up in the next test's
screenshots. A window that was closed but not yet deleted is hidden and does not count (Qt keeps
its own hidden top-levels, such as tooltips and menus, in the same list).

The check closes what it reports, so one leak fails one test and not the tests after it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget


def _address(widget: QWidget) -> int:
    return int(shiboken6.getCppPointer(widget)[0])


def _windows() -> list[QWidget]:
    if QApplication.instance() is None:
        return []
    return [w for w in QApplication.topLevelWidgets() if shiboken6.isValid(w)]


def describe(widget: QWidget) -> str:
    """`Class(objectName='…', title='…')`, as the failure lists a leaked window."""
    parts = [f"objectName={widget.objectName()!r}"]
    if widget.windowTitle():
        parts.append(f"title={widget.windowTitle()!r}")
    return f"{type(widget).__name__}({', '.join(parts)})"


class WindowLeakCheck:
    """Remembers the top-level widgets that exist now; `finish()` fails on new visible ones."""

    def __init__(self) -> None:
        self.before = {_address(w) for w in _windows()}

    def leaked(self) -> list[QWidget]:
        """Top-level widgets created since, still alive and visible (after pending deletes)."""
        if QApplication.instance() is None:
            return []
        # Widgets closed with deleteLater() (pytest-qt does that) go now, not at the next loop.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        return [w for w in _windows() if _address(w) not in self.before and w.isVisible()]

    def finish(self) -> None:
        """Fail (pytest.fail) with the list of leaked windows, after closing them."""
        leaked = self.leaked()
        if not leaked:
            return
        names = [describe(w) for w in leaked]
        for w in leaked:
            w.close()
            w.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        pytest.fail(
            f"the test left {len(names)} Qt window(s) open: {', '.join(names)}; close them in "
            "the test or its fixture, or hand them to qtbot.addWidget()",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def no_leaked_windows() -> Iterator[WindowLeakCheck]:
    """Autouse: fails the test (at teardown) if it leaves a Qt window open."""
    check = WindowLeakCheck()
    yield check
    check.finish()
