"""Every English text the shell's widgets show has a Chinese translation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gcs.ui import (
    aircraft_panel,
    dock_panel,
    settings_dialog,
    video_wall,  # noqa: F401  (registers the video windows' Chinese texts)
)
from gcs.ui.i18n import _catalogue, i18n, register, set_language, tr

UI = Path(__file__).resolve().parents[2] / "gcs" / "ui"
MODULES = [
    "app.py",
    "aircraft_panel.py",
    "device_base.py",
    "dock_panel.py",
    "events_panel.py",
    "fleet_panel.py",
    "fmt.py",
    "main_window.py",
    "settings_dialog.py",
    "video_wall.py",
    "video_window.py",
    "wizard.py",
]


def tr_literals(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "tr"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("module", MODULES)
def test_every_tr_literal_has_chinese(module: str) -> None:
    missing = sorted(t for t in tr_literals(UI / module) if t not in _catalogue)
    assert not missing, f"{module}: no Chinese for {missing}"


def test_panel_labels_and_settings_fields_have_chinese() -> None:
    texts = set()
    for groups in (dock_panel.GROUPS, aircraft_panel.GROUPS):
        for g in groups:
            texts.add(g.title)
            texts.update(r.label for r in g.rows)
    for title, fields in settings_dialog.TABS:
        texts.add(title)
        texts.update(f.label for f in fields)
    missing = sorted(t for t in texts if t not in _catalogue)
    assert not missing, missing


def test_switch_and_register() -> None:
    register({"Test text": "测试文字"})
    try:
        set_language("zh-CN")
        assert (
            i18n.lang == "zh"
            and tr("Test text") == "测试文字"
            and tr("Untranslated") == "Untranslated"
        )
        set_language("en")
        assert tr("Test text") == "Test text"
    finally:
        set_language("en")


def test_qt_own_dialogs_follow_the_language(qtbot: object) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from gcs.ui.i18n import install_qt_translator

    install_qt_translator()
    try:
        set_language("zh")
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        button = box.button(QDialogButtonBox.StandardButton.Cancel)
        assert button is not None and button.text() == "取消"
    finally:
        set_language("en")
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    button = box.button(QDialogButtonBox.StandardButton.Cancel)
    assert button is not None and button.text() == "Cancel"
