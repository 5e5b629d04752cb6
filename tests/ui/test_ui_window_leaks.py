"""The leaked-window check (qt_leaks.py): it fails a test that leaves a window open, names it,
closes it, and leaves alone windows that were closed, handed to qtbot, or there before."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QDialog, QMainWindow, QWidget
from qt_leaks import WindowLeakCheck

HERE = Path(__file__).resolve().parent


def test_a_window_left_open_is_named_and_closed(qapp: Any) -> None:
    earlier = QWidget()
    earlier.setObjectName("there_before")
    earlier.show()
    closed = QDialog()
    try:
        check = WindowLeakCheck()
        left_open = QMainWindow()
        left_open.setObjectName("left_open")
        left_open.setWindowTitle("Fleet")
        left_open.show()
        closed.setObjectName("closed_in_time")
        closed.show()
        closed.close()
        QWidget(left_open).show()  # a child is not a window: it goes with its parent
        assert check.leaked() == [left_open]
        with pytest.raises(pytest.fail.Exception) as failure:
            check.finish()
        message = str(failure.value)
        assert "1 Qt window(s) open" in message
        assert "QMainWindow(objectName='left_open', title='Fleet')" in message
        assert "closed_in_time" not in message and "there_before" not in message
        assert not shiboken6.isValid(left_open)  # closed and deleted: the next test starts clean
        assert check.leaked() == []
        check.finish()  # nothing left: passes
    finally:
        for w in (earlier, closed):
            w.close()
            w.deleteLater()


def test_a_window_given_to_qtbot_is_not_a_leak(qtbot: Any) -> None:
    check = WindowLeakCheck()
    w = QWidget()
    qtbot.addWidget(w)
    w.show()
    assert check.leaked() == [w]  # until pytest-qt closes it after the test
    w.close()
    assert check.leaked() == []


def test_the_autouse_fixture_fails_a_leaking_test(tmp_path: Path) -> None:
    """A real pytest run: the leaking test errors at teardown naming the window; the clean one
    passes."""
    (tmp_path / "conftest.py").write_text("from qt_leaks import no_leaked_windows  # noqa\n")
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            from PySide6.QtWidgets import QDialog, QWidget

            KEEP = []

            def test_leaks(qtbot):
                w = QDialog()
                w.setObjectName("forgotten_dialog")
                w.show()
                KEEP.append(w)

            def test_clean(qtbot):
                w = QWidget()
                qtbot.addWidget(w)
                w.show()
            """
        )
    )
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert "2 passed, 1 error" in text, text  # test_leaks passes, then errors at teardown
    assert "ERROR at teardown of test_leaks" in text, text
    assert "QDialog(objectName='forgotten_dialog')" in text, text
