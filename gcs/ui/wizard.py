"""The connection wizard: what to type into Pilot 2 and its dock-access wizard, and live checks.

It lists every LAN address of this machine with the exact URLs, the MQTT address, login and
binding code (each with a copy button), a QR code of the Pilot URL, the CA certificate link,
and checks that run while it is open: the MQTT (and web) port answers on each address, a
device has connected, the DJI licence is configured. A failed check says what to do.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPixmap
from PySide6.QtNetwork import QAbstractSocket, QTcpSocket
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gcs.station import netinfo
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import tr

log = logging.getLogger(__name__)



def qr_pixmap(text: str, scale: int = 5) -> QPixmap:
    """A QR code of `text` as a pixmap (segno; an empty pixmap if segno is missing)."""
    try:
        import segno
    except ImportError:
        return QPixmap()
    qr = segno.make(text, error="m")
    matrix = [list(row) for row in qr.matrix]
    border = 4
    n = len(matrix) + 2 * border
    image = QImage(n, n, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    black = QColor("black").rgb()
    for y, row in enumerate(matrix):
        for x, bit in enumerate(row):
            if bit:
                image.setPixel(x + border, y + border, black)
    return QPixmap.fromImage(image.scaled(n * scale, n * scale))


def with_host(url: str, host: str) -> str:
    """`url` with its host replaced by `host` (port and path kept)."""
    parts = urlsplit(url)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class CopyField(QWidget):
    """A read-only value with a copy button."""

    def __init__(self, name: str, value: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit(value)
        self.line.setReadOnly(True)
        self.line.setObjectName(f"wizard.{name}")
        self.button = QPushButton(tr("Copy"))
        self.button.clicked.connect(self._copy)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.button)

    def set_value(self, value: str) -> None:
        if self.line.text() != value:
            self.line.setText(value)

    def value(self) -> str:
        return self.line.text()

    @Slot()
    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.line.text())
        self.button.setText(tr("Copied"))
        QTimer.singleShot(1200, lambda: self.button.setText(tr("Copy")))


class Check(QWidget):
    """One live check: a state dot, its name, and what to do when it fails."""

    def __init__(self, key: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.title = title
        self.ok: bool | None = None
        self.state = QLabel()
        self.state.setObjectName(f"check.{key}")
        self.state.setMinimumWidth(110)
        self.name = QLabel(tr(title))
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #b26a00")
        top = QHBoxLayout()
        top.addWidget(self.state)
        top.addWidget(self.name, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        self.set(None, "")

    def set(self, ok: bool | None, hint: str) -> None:
        self.ok = ok
        if ok is None:
            self.state.setText(f"<span style='color:gray'>●</span> {tr('Waiting')}")
        elif ok:
            self.state.setText(f"<span style='color:#2e7d32'>●</span> {tr('OK')}")
        else:
            self.state.setText(f"<span style='color:#c62828'>●</span> {tr('Failed')}")
        self.hint.setText("" if ok else hint)
        self.hint.setVisible(bool(hint) and not ok)


class ConnectionWizard(QDialog):
    """Connection instructions and live checks (first start, and Station → Connection wizard)."""

    def __init__(
        self,
        bridge: StationBridge,
        parent: QWidget | None = None,
        *,
        ui_settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("connection_wizard")
        self.setWindowTitle(tr("Connection wizard"))
        self.bridge = bridge
        self.ui_settings = ui_settings
        info = bridge.connection_info()
        assert info is not None, "the bridge is attached to a running station"
        self.info = info
        self.addresses = netinfo.lan_addresses() or ["127.0.0.1"]
        public = info.public_host
        if public not in self.addresses:
            self.addresses.insert(0, public)

        self.address = QComboBox()
        self.address.setObjectName("wizard.address")
        for a in self.addresses:
            self.address.addItem(a, a)
        self.address.setCurrentIndex(max(0, self.address.findData(public)))

        # Pilot 2
        self.pilot_url = CopyField("pilot_url")
        self.qr = QLabel()
        self.qr.setObjectName("wizard.qr")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.all_urls = QLabel()
        self.all_urls.setObjectName("wizard.all_urls")
        self.all_urls.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pilot = QGroupBox(tr("Pilot 2 (remote controller)"))
        pv = QVBoxLayout(pilot)
        pv.addWidget(
            QLabel(tr("In DJI Pilot 2 open Cloud Service → Open Platform and type this URL:"))
        )
        row = QHBoxLayout()
        col = QVBoxLayout()
        col.addWidget(self.pilot_url)
        col.addWidget(
            QLabel(tr("Addresses of this computer (use the one on the devices' network):"))
        )
        col.addWidget(self.address)
        col.addWidget(self.all_urls)
        col.addStretch(1)
        row.addLayout(col, 1)
        qcol = QVBoxLayout()
        qcol.addWidget(self.qr)
        qcol.addWidget(QLabel(tr("Scan with the controller to open the URL.")))
        row.addLayout(qcol)
        pv.addLayout(row)

        # Dock access
        self.mqtt_address = CopyField("mqtt_address")
        self.username = CopyField("username", info.device_username)
        self.password = CopyField("password", info.device_password)
        self.organization = CopyField("organization_id", info.workspace_id)
        self.binding_code = CopyField("binding_code", info.binding_code)
        self.ca_url = CopyField("ca_url")
        dock = QGroupBox(tr("Dock access (Pilot's dock wizard)"))
        form = QFormLayout(dock)
        form.addRow(QLabel(tr("In Pilot's dock-access wizard enter:")))
        form.addRow(tr("MQTT address"), self.mqtt_address)
        form.addRow(tr("Username"), self.username)
        form.addRow(tr("Password"), self.password)
        form.addRow(tr("Workspace") + " (Organization ID)", self.organization)
        form.addRow(tr("Binding code"), self.binding_code)
        form.addRow(tr("CA certificate"), self.ca_url)
        # Issue 16: a dock's own login (speaks for that dock only; nobody else can speak for it).
        self.dock_sn = QLineEdit()
        self.dock_sn.setObjectName("wizard.dock_sn")
        self.dock_sn.setPlaceholderText(tr("Dock serial number"))
        self.dock_login = QPushButton(tr("Own login for this dock"))
        self.dock_login.setObjectName("wizard.dock_login")
        self.dock_login.clicked.connect(self._make_dock_login)
        self.dock_login_note = QLabel(tr("Empty: the shared login above, for any new dock."))
        self.dock_login_note.setObjectName("wizard.dock_login_note")
        self.dock_login_note.setWordWrap(True)
        own = QHBoxLayout()
        own.addWidget(self.dock_sn, 1)
        own.addWidget(self.dock_login)
        form.addRow(tr("Dock serial"), own)
        form.addRow(self.dock_login_note)

        # Checks
        self.checks = {
            "mqtt": Check("mqtt", "MQTT port reachable"),
            "http": Check("http", "HTTP port reachable"),
            "device": Check("device", "A device has connected"),
            "licence": Check("licence", "Licence configured"),
        }
        checks = QGroupBox(tr("Checks"))
        cv = QVBoxLayout(checks)
        for c in self.checks.values():
            cv.addWidget(c)
        again = QPushButton(tr("Check again"))
        again.clicked.connect(self.run_checks)
        cv.addWidget(again, 0, Qt.AlignmentFlag.AlignLeft)

        self.dont_show = QCheckBox(tr("Don't show at start"))
        self.dont_show.setChecked(True)
        close = QPushButton(tr("Close"))
        close.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.dont_show)
        bottom.addStretch(1)
        bottom.addWidget(close)

        inner = QWidget()
        iv = QVBoxLayout(inner)
        iv.addWidget(pilot)
        iv.addWidget(dock)
        iv.addWidget(checks)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)
        self.resize(760, 820)

        self.address.currentIndexChanged.connect(self._on_address)
        bridge.devices_changed.connect(self._check_device)
        bridge.status_changed.connect(self._on_address)
        self.timer = QTimer(self)
        self.timer.setInterval(3000)
        self.timer.timeout.connect(self.run_checks)
        self.timer.start()
        self._on_address()

    # -- per-dock login ------------------------------------------------------------------

    @Slot()
    def _make_dock_login(self) -> None:
        """Make (or show) the typed dock's own login on the running station; fill it in above."""
        sn = self.dock_sn.text().strip()

        def done(login: tuple[str, str] | None, error: BaseException | None) -> None:
            if login is None:
                self.dock_login_note.setText(tr("Failed") + f": {error}")
                return
            self.username.set_value(login[0])
            self.password.set_value(login[1])
            self.dock_login_note.setText(
                tr("Login of dock {sn} only: type it in that dock's wizard.").format(sn=sn)
            )

        self.bridge.make_dock_login(sn, done)

    # -- addresses -----------------------------------------------------------------------

    def _endpoint(self, name: str) -> str | None:
        for ep in self.bridge.endpoints():
            if ep.name == name:
                return ep.url
        return None

    def host(self) -> str:
        return str(self.address.currentData() or self.addresses[0])

    def pilot_url_for(self, host: str) -> str | None:
        """The URL to type into Pilot 2 for `host` (the web server's Pilot page, or its root)."""
        url = self._endpoint("pilot") or self._endpoint("http")
        return with_host(url, host) if url else None

    @Slot()
    def _on_address(self, *_args: object) -> None:
        host = self.host()
        url = self.pilot_url_for(host)
        if url:
            self.pilot_url.set_value(url)
            self.qr.setPixmap(qr_pixmap(url))
            self.all_urls.setText("\n".join(self.pilot_url_for(a) or "" for a in self.addresses))
        else:
            self.pilot_url.set_value("")
            self.qr.setPixmap(QPixmap())
            self.all_urls.setText(
                tr("The web server is not running yet: Pilot cannot log in until it is available.")
            )
        mqtt = self._endpoint("mqtt")
        self.mqtt_address.set_value(with_host(mqtt, self.mqtt_host(host)) if mqtt else "")
        ca = self._endpoint("ca")
        self.ca_url.set_value(
            with_host(ca, host) if ca else tr("The station is not serving HTTPS yet.")
        )
        self.run_checks()

    def mqtt_host(self, host: str) -> str:
        info = self.bridge.connection_info() or self.info
        return info.mqtt_host if info.external_broker else host

    # -- checks --------------------------------------------------------------------------

    @Slot()
    def run_checks(self) -> None:
        host = self.host()
        mqtt = self._endpoint("mqtt")
        if mqtt:
            port = urlsplit(mqtt).port or 1883
            self._probe(self.checks["mqtt"], self.mqtt_host(host), port)
        http = self._endpoint("http")
        if http:
            port = urlsplit(http).port or 80
            self._probe(self.checks["http"], host, port)
        else:
            self.checks["http"].set(
                False,
                tr("The web server is not running yet: Pilot cannot log in until it is available."),
            )
        self._check_device()
        ok = (self.bridge.connection_info() or self.info).dji_complete
        self.checks["licence"].set(
            ok,
            tr(
                "Enter the App ID, key and licence from the DJI developer site in Settings → DJI"
                " licence; docks refuse to fly without them."
            ),
        )

    @Slot()
    def _check_device(self) -> None:
        gateways, _aircraft = self.bridge.counts()
        self.checks["device"].set(
            gateways > 0,
            tr(
                "No device yet. On the dock, run Pilot's dock-access wizard with the values above;"
                " for Pilot, type the URL above. Both must be on this computer's network."
            ),
        )

    def _probe(self, check: Check, host: str, port: int) -> None:
        """Try a TCP connection to host:port; `check` turns OK or failed (3 s at most)."""
        sock = QTcpSocket(self)
        finished = False
        hint = tr(
            "Allow TCP port {port} in this computer's firewall, and check the address is on the"
            " devices' network."
        ).format(port=port)

        def finish(ok: bool) -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            check.set(ok, hint)
            sock.abort()
            sock.deleteLater()

        def timeout() -> None:
            if not finished:
                finish(sock.state() == QAbstractSocket.SocketState.ConnectedState)

        sock.connected.connect(lambda: finish(True))
        sock.errorOccurred.connect(lambda _e: finish(False))
        QTimer.singleShot(3000, sock, timeout)
        sock.connectToHost(host, port)

    def done(self, result: int) -> None:
        self.timer.stop()
        if self.ui_settings is not None and self.dont_show.isChecked():
            self.ui_settings.setValue("wizard/done", True)
        super().done(result)
