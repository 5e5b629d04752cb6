"""The settings dialog: edits gcs.toml (ports, workspace, device login, licence, retention...).

Values are read from and written to the file in the data directory (command-line overrides of
the running station are not saved). The DJI licence is applied to the running station at once
(docks read it on their next `config` request); other changes take effect after a restart,
and the dialog says which. The external live-video services (Agora, GB28181: sub-tables
`[live.agora]`, `[live.gb28181]`) apply at once and are checked before saving.
"""

from __future__ import annotations

import copy
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QRegularExpression, QSettings, Signal, Slot
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gcs.station import live_external
from gcs.station.records import SETTINGS_FILE, Settings
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import LANGUAGES, language, register, tr

#: How long the dialog waits for the station to write gcs.toml.
SAVE_TIMEOUT_S = 10.0

RUNNING_ENDPOINT = {
    ("mqtt", "port"): "mqtt",
    ("http", "port"): "http",
    ("http", "https_port"): "https",
    ("ntp", "port"): "ntp",
    ("storage", "port"): "s3",
}


@dataclass(frozen=True)
class Field:
    section: str  # a table of gcs.toml; a dotted name for a sub-table ("live.agora")
    name: str
    label: str
    kind: str = "str"  # str, secret, text, port, int, uint32, float, bool, code


def section_of(settings: Any, dotted: str) -> Any:
    """The settings object of table `dotted` ("live.agora" → settings.live.agora), or None."""
    obj: Any = settings
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


register(
    {
        "Live video": "直播",
        "Dock 3: RTMP requests go by WHIP too": "机场 3：RTMP 请求也使用 WHIP",
        "Agora App ID": "声网 App ID",
        "Agora token": "声网 Token",
        "Agora channel": "声网频道",
        "Agora uid": "声网 uid",
        "GB28181 server IP": "GB28181 服务器 IP",
        "GB28181 server port": "GB28181 服务器端口",
        "GB28181 server ID (20 digits)": "GB28181 服务器编号（20 位）",
        "GB28181 agent ID (20 digits)": "GB28181 设备编号（20 位）",
        "GB28181 agent password": "GB28181 设备密码",
        "GB28181 local port": "GB28181 本地端口",
        "GB28181 channel ID (20 digits)": "GB28181 通道编号（20 位）",
    }
)


TABS: list[tuple[str, list[Field]]] = [
    (
        "General",
        [
            Field("station", "workspace_name", "Workspace name"),
            Field("station", "workspace_desc", "Workspace description"),
            Field("station", "platform_name", "Platform name"),
            Field("station", "binding_code", "Binding code", "code"),
            Field("station", "host", "Listen address"),
            Field("station", "public_host", "Public address (empty = first LAN address)"),
        ],
    ),
    (
        "Ports",
        [
            Field("mqtt", "port", "MQTT port", "port"),
            Field("http", "port", "HTTP port", "port"),
            Field("http", "https_port", "HTTPS port", "port"),
            Field("ntp", "port", "NTP port", "port"),
            Field("ntp", "fallback_port", "NTP fallback port", "port"),
            Field("storage", "port", "Storage port", "port"),
        ],
    ),
    (
        "Devices",
        [
            Field("mqtt", "device_username", "Device username"),
            Field("mqtt", "device_password", "Device password", "secret"),
            Field("mqtt", "external_url", "External broker URL (empty = embedded)"),
        ],
    ),
    (
        "DJI licence",
        [
            Field("dji", "app_id", "App ID"),
            Field("dji", "app_key", "App key", "secret"),
            Field("dji", "app_license", "App licence", "text"),
        ],
    ),
    (
        "Storage",
        [
            Field("storage", "bucket", "Bucket"),
            Field("storage", "region", "Region"),
            Field("storage", "sts_ttl_s", "Temporary credentials lifetime (s)", "int"),
            Field("storage", "external_endpoint", "External S3 endpoint (empty = embedded)"),
            Field("storage", "external_access_key", "External access key"),
            Field("storage", "external_secret_key", "External secret key", "secret"),
            Field("storage", "external_assume_role", "Ask the external store for STS", "bool"),
            Field("storage", "external_role_arn", "Role ARN (AWS)"),
        ],
    ),
    (
        "Pilot",
        [
            Field("pilot", "default_user", "Pilot user"),
            Field("pilot", "default_password", "Pilot password", "secret"),
            Field("pilot", "token_ttl_s", "Token lifetime (s)", "int"),
        ],
    ),
    (
        "Telemetry",
        [
            Field("telemetry", "offline_timeout_s", "Offline after (s)", "float"),
            Field("telemetry", "retention_days", "History retention (days)", "float"),
            Field("telemetry", "history_interval_s", "History interval (s)", "float"),
            Field("telemetry", "history_max_mb", "History size cap (MB)", "float"),
        ],
    ),
    (
        "Live video",
        [
            Field("live", "prefer_whip", "Dock 3: RTMP requests go by WHIP too", "bool"),
            Field("live.agora", "app_id", "Agora App ID"),
            Field("live.agora", "token", "Agora token", "secret"),
            Field("live.agora", "channel", "Agora channel"),
            Field("live.agora", "uid", "Agora uid", "uint32"),
            Field("live.gb28181", "server_ip", "GB28181 server IP"),
            Field("live.gb28181", "server_port", "GB28181 server port", "port"),
            Field("live.gb28181", "server_id", "GB28181 server ID (20 digits)"),
            Field("live.gb28181", "agent_id", "GB28181 agent ID (20 digits)"),
            Field("live.gb28181", "agent_password", "GB28181 agent password", "secret"),
            Field("live.gb28181", "local_port", "GB28181 local port", "port"),
            Field("live.gb28181", "channel", "GB28181 channel ID (20 digits)"),
        ],
    ),
]


def _code() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


class SettingsDialog(QDialog):
    """Edit gcs.toml; `language_chosen("system"|"en"|"zh")` when the UI language changes."""

    language_chosen = Signal(str)

    def __init__(
        self,
        bridge: StationBridge,
        data_dir: Path,
        parent: QWidget | None = None,
        *,
        ui_settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settings_dialog")
        self.setWindowTitle(tr("Settings"))
        self.bridge = bridge
        self.data_dir = data_dir
        self.ui_settings = ui_settings
        self.original = bridge.settings()
        self.editors: dict[tuple[str, str], QWidget] = {}
        self.tabs = QTabWidget()
        self.fields = [(title, [f for f in fields if self._known(f)]) for title, fields in TABS]
        for title, fields in self.fields:
            if not fields:
                continue
            page = QWidget()
            form = QFormLayout(page)
            for f in fields:
                form.addRow(tr(f.label), self._editor(f))
            self.tabs.addTab(page, tr(title))
        page = QWidget()
        form = QFormLayout(page)
        self.language = QComboBox()
        self.language.setObjectName("setting.language")
        self.language.addItem(tr("Follow system"), "system")
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        current = str(ui_settings.value("ui/language", "system")) if ui_settings else "system"
        self.language.setCurrentIndex(max(0, self.language.findData(current)))
        form.addRow(tr("Language"), self.language)
        self.tabs.addTab(page, tr("Interface"))
        note = QLabel(f"{data_dir / SETTINGS_FILE}")
        note.setStyleSheet("color: gray")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(620, 420)
        self.message = ""

    def _running_port(self, f: Field) -> int | None:
        """The port the running station actually uses for this setting, if known."""
        name = RUNNING_ENDPOINT.get((f.section, f.name))
        if name is None:
            return None
        for ep in self.bridge.endpoints():
            if ep.name == name:
                return urlsplit(ep.url).port
        return None

    def _known(self, f: Field) -> bool:
        """Whether this version of the settings has the field (sections come and go)."""
        return hasattr(section_of(self.original, f.section), f.name)

    def _editor(self, f: Field) -> QWidget:
        value = getattr(section_of(self.original, f.section), f.name)
        editor: QWidget
        if f.kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(value))
            editor = check
        elif f.kind == "int":
            ispin = QSpinBox()
            ispin.setRange(0, 2_000_000_000)
            ispin.setValue(int(value))
            editor = ispin
        elif f.kind == "uint32":  # beyond a QSpinBox's range: digits in a line
            digits = QLineEdit(str(value))
            digits.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,10}")))
            editor = digits
        elif f.kind == "port":
            spin = QSpinBox()
            spin.setRange(0, 65535)
            spin.setValue(int(value))
            spin.setObjectName(f"setting.{f.section}.{f.name}")
            self.editors[(f.section, f.name)] = spin
            running = self._running_port(f)
            if running is None or running == int(value):
                return spin
            row = QWidget()
            box = QHBoxLayout(row)
            box.setContentsMargins(0, 0, 0, 0)
            box.addWidget(spin, 1)
            box.addWidget(QLabel(tr("running on {port}").format(port=running)))
            return row
        elif f.kind == "float":
            dspin = QDoubleSpinBox()
            dspin.setRange(0.0, 100000.0)
            dspin.setDecimals(1)
            dspin.setValue(float(value))
            editor = dspin
        elif f.kind == "text":
            text = QPlainTextEdit(str(value))
            text.setFixedHeight(90)
            editor = text
        else:
            line = QLineEdit(str(value))
            editor = line
            if f.kind in ("secret", "code"):
                row = QWidget()
                box = QHBoxLayout(row)
                box.setContentsMargins(0, 0, 0, 0)
                box.addWidget(line, 1)
                if f.kind == "secret":
                    line.setEchoMode(QLineEdit.EchoMode.Password)
                    show = QPushButton(tr("Show"))
                    show.setCheckable(True)
                    show.toggled.connect(
                        lambda on, e=line: e.setEchoMode(
                            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
                        )
                    )
                    box.addWidget(show)
                else:
                    gen = QPushButton(tr("Generate"))
                    gen.clicked.connect(lambda _=False, e=line: e.setText(_code()))
                    box.addWidget(gen)
                line.setObjectName(f"setting.{f.section}.{f.name}")
                self.editors[(f.section, f.name)] = line
                return row
        editor.setObjectName(f"setting.{f.section}.{f.name}")
        self.editors[(f.section, f.name)] = editor
        return editor

    def set_value(self, section: str, name: str, value: Any) -> None:
        """Put `value` into the editor of `section.name` (tests and scripted setup)."""
        editor = self.editors[(section, name)]
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(float(value))
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(str(value))
        elif isinstance(editor, QLineEdit):
            editor.setText(str(value))

    def _read(self, f: Field) -> Any:
        editor = self.editors[(f.section, f.name)]
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, QDoubleSpinBox):
            return float(editor.value())
        if isinstance(editor, QPlainTextEdit):
            return editor.toPlainText().strip()
        assert isinstance(editor, QLineEdit)
        if f.kind == "uint32":
            return int(editor.text() or 0)
        return editor.text().strip()

    def edited(self) -> tuple[Settings, list[Field]]:
        """The settings as edited, and the fields that differ from the file."""
        new = copy.deepcopy(self.original)
        changed = []
        for _title, fields in self.fields:
            for f in fields:
                section = section_of(new, f.section)
                value = self._read(f)
                if value != getattr(section, f.name):
                    setattr(section, f.name, value)
                    changed.append(f)
        return new, changed

    def _validate(self, new: Settings) -> str | None:
        if not new.station.binding_code:
            return tr("Binding code") + ": " + tr("Failed")
        if not new.mqtt.device_username or not new.mqtt.device_password:
            return tr("Device username") + " / " + tr("Device password") + ": " + tr("Failed")
        return self._live_problems(new)

    def _live_problems(self, new: Settings) -> str | None:
        """What is wrong with an external live-video service the operator set up (EN or ZH,
        one line each); a service left empty is fine."""
        live = getattr(new, "live", None)
        if live is None or not hasattr(live, "agora"):
            return None
        zh = language() == "zh"
        lines: list[str] = []
        for url_type in live_external.EXTERNAL_URL_TYPES:
            section = live.agora if url_type == live_external.AGORA else live.gb28181
            if live_external.is_set_up(url_type, section):
                lines += [p.zh if zh else p.en for p in live_external.problems(url_type, live)]
        return "\n".join(lines) or None

    @Slot()
    def save(self) -> None:
        """Write gcs.toml (keeping keys this dialog does not know), apply what can be applied."""
        new, changed = self.edited()
        error = self._validate(new)
        if error:
            QMessageBox.warning(self, tr("Could not save the settings"), error)
            return
        path = self.data_dir / SETTINGS_FILE
        try:
            restart_names = set(self.bridge.save_settings(new).result(SAVE_TIMEOUT_S))
        except Exception as exc:  # OSError, a settings error, or the station gone
            QMessageBox.warning(self, tr("Could not save the settings"), f"{path}: {exc}")
            return
        restart = [f for f in changed if f"{f.section}.{f.name}" in restart_names]
        if restart:
            self.message = tr(
                "Settings saved. Restart the station for these changes to take effect: {names}."
            ).format(names=", ".join(tr(f.label) for f in restart))
            QMessageBox.information(self, tr("Restart needed"), self.message)
        else:
            self.message = tr("Settings saved.")
        lang = self.language.currentData()
        if self.ui_settings is None or lang != self.ui_settings.value("ui/language", "system"):
            self.language_chosen.emit(str(lang))
        self.accept()
