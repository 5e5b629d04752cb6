"""The station's main window: dockable panels, menus, toolbar and the status bar."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QWidget,
)

from gcs.protocol.models import Domain
from gcs.ui.aircraft_panel import AircraftPanel
from gcs.ui.alarms_panel import AlarmsPanel
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.commands_panel import CommandsPanel
from gcs.ui.dock_control import DockControlPanel
from gcs.ui.dock_panel import DockPanel
from gcs.ui.events_panel import EventsPanel
from gcs.ui.firmware_panel import FirmwarePanel
from gcs.ui.fleet_panel import FleetPanel
from gcs.ui.flight_areas_panel import FlightAreasPanel  # issue 14
from gcs.ui.i18n import LANGUAGES, i18n, set_language, system_language, tr
from gcs.ui.logs_panel import LogsPanel
from gcs.ui.media_panel import MediaPanel
from gcs.ui.missions_panel import MissionsPanel
from gcs.ui.video_wall import VideoWall
from gcs.version import version

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
PanelFactory = Callable[[StationBridge, Selection, QWidget | None], QWidget]


def optional_panel(module: str, name: str) -> PanelFactory | None:
    """The panel class `name` of `gcs.ui.<module>` when that module exists and imports."""
    try:
        mod = importlib.import_module(f"gcs.ui.{module}")
    except Exception as exc:  # not written yet, or its dependencies are missing
        log.info("panel %s not available: %s", name, exc)
        return None
    factory: PanelFactory | None = getattr(mod, name, None)
    return factory


def qsettings() -> QSettings:
    """Per-user UI settings (layout, language, wizard)."""
    return QSettings("gcs", "gcs-station")


class StatusBar:
    """Broker link, each endpoint, NTP and online counts, in the window's status bar."""

    def __init__(self, window: QMainWindow, bridge: StationBridge) -> None:
        self.bridge = bridge
        self.bar = window.statusBar()
        self.broker = QLabel()
        self.broker.setObjectName("status_broker")
        self.endpoints = QLabel()
        self.endpoints.setObjectName("status_endpoints")
        self.ntp = QLabel()
        self.ntp.setObjectName("status_ntp")
        self.counts = QLabel()
        self.counts.setObjectName("status_counts")
        for w in (self.broker, self.endpoints, self.ntp):
            self.bar.addWidget(w)
        self.bar.addPermanentWidget(self.counts)
        bridge.status_changed.connect(self.refresh)
        bridge.devices_changed.connect(self.refresh)
        i18n.language_changed.connect(self.refresh)
        self.refresh()

    @Slot()
    def refresh(self, *_args: Any) -> None:
        up = self.bridge.link_connected()
        color = "#2e7d32" if up else "#c62828"
        state = tr("connected") if up else tr("disconnected")
        self.broker.setText(f"<span style='color:{color}'>●</span> {tr('Broker')}: {state}")
        eps = self.bridge.endpoints()
        # Services only: the Pilot page and CA links are in the connection wizard.
        shown = [
            f"{ep.name.upper()} {ep.url.rstrip('/')}"
            for ep in eps
            if ep.name not in ("ntp", "pilot", "ca")
        ]
        self.endpoints.setText("  ·  ".join(shown))
        ntp = [ep.url for ep in eps if ep.name == "ntp"]
        self.ntp.setText(f"NTP {ntp[0]}" if ntp else f"NTP: {tr('Off')}")
        gateways, aircraft = self.bridge.counts()
        self.counts.setText(
            f"{tr('Gateways online')}: {gateways}   {tr('Aircraft online')}: {aircraft}"
        )

    def texts(self) -> dict[str, str]:
        """Plain texts of the status fields (tests read this)."""
        return {
            "broker": self.broker.text(),
            "endpoints": self.endpoints.text(),
            "ntp": self.ntp.text(),
            "counts": self.counts.text(),
        }


class MainWindow(QMainWindow):
    """The station window. `settings`/`data_dir` are the station's (for the dialogs).

    `optional_panels=False` leaves out the map and plots panels (benchmarks, tests).
    """

    def __init__(
        self,
        bridge: StationBridge,
        data_dir: Path,
        *,
        ui_settings: QSettings | None = None,
        optional_panels: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("gcs_main_window")
        self.bridge = bridge
        self.data_dir = data_dir
        self.ui_settings = ui_settings or qsettings()
        self.selection = Selection(self)
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.resize(1500, 900)
        self.setAcceptDrops(True)  # KMZ files dropped anywhere go to the wayline library

        self._shown_once = False
        self._restored = False
        self.panels: dict[str, QWidget] = {}
        self.docks: dict[str, QDockWidget] = {}
        self.fleet = FleetPanel(bridge, self.selection)
        self.dock_panel = DockPanel(bridge, self.selection)
        self.aircraft_panel = AircraftPanel(bridge, self.selection)
        self.control = DockControlPanel(bridge, self.selection)
        self.events = EventsPanel(bridge, self.selection)
        self.commands = CommandsPanel(bridge, self.selection)
        self.alarms = AlarmsPanel(bridge, self.selection, ui_settings=self.ui_settings)
        self.firmware = FirmwarePanel(bridge, self.selection)
        self.logs = LogsPanel(bridge, self.selection)
        self.missions = MissionsPanel(bridge, self.selection)
        self.media = MediaPanel(bridge)
        self.flight_areas = FlightAreasPanel(bridge, self.selection)  # issue 14
        map_cls = optional_panel("map_panel", "MapPanel") if optional_panels else None
        plots_cls = optional_panel("plots_panel", "PlotsPanel") if optional_panels else None
        self.map: QWidget | None = None
        self.plots: QWidget | None = None
        if map_cls is not None:
            try:
                self.map = map_cls(bridge, self.selection, None)
            except Exception:
                log.exception("the map panel failed to start")
        if plots_cls is not None:
            try:
                self.plots = plots_cls(bridge, self.selection, None)
            except Exception:
                log.exception("the plots panel failed to start")

        # A thin central widget keeps the docks resizable; the map takes the centre when it
        # exists, otherwise the device panels share the space.
        self._add("fleet", "Fleet", self.fleet, Qt.DockWidgetArea.LeftDockWidgetArea)
        if self.map is not None:
            self._add("map", "Map", self.map, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add("dock", "Dock", self.dock_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add(
            "aircraft", "Aircraft", self.aircraft_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self._add("control", "Control", self.control, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add("events", "Events", self.events, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add("commands", "Commands", self.commands, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add("alarms", "Alarms", self.alarms, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add("firmware", "Firmware", self.firmware, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add("logs", "Logs", self.logs, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add("missions", "Missions", self.missions, Qt.DockWidgetArea.BottomDockWidgetArea)
        show_route = getattr(self.map, "show_route", None)
        if show_route is not None:  # missions: the selected route on the map
            self.missions.route_selected.connect(show_route)
        show_return_path = getattr(self.map, "show_return_path", None)
        if show_return_path is not None:  # missions: the path home of an aircraft returning
            self.missions.return_path.connect(show_return_path)
        self._add("media", "Media", self.media, Qt.DockWidgetArea.BottomDockWidgetArea)
        # issue 14: custom flight areas, drawn on the map
        self._add("areas", "Flight areas", self.flight_areas, Qt.DockWidgetArea.RightDockWidgetArea)
        draw_area = getattr(self.map, "draw_flight_area", None)
        if draw_area is not None:
            self.flight_areas.draw_requested.connect(draw_area)
            self.map.flight_area_drawn.connect(self.flight_areas.create_from_drawing)  # type: ignore[union-attr]
        show_photos = getattr(self.map, "show_photos", None)
        if show_photos is not None:  # media: photos on the map; a click opens the viewer
            self.media.show_on_map_requested.connect(self._show_photos_on_map)
            self.map.photo_clicked.connect(self.media.open_media_id)  # type: ignore[union-attr]
        if self.plots is not None:
            self._add("plots", "Plots", self.plots, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._default_layout()
        self._default_state = self.saveState(LAYOUT_VERSION)

        self.alarms.unread_changed.connect(self._on_unread_alarms)
        self.status = StatusBar(self, bridge)
        self._build_actions()
        self._build_menus()
        i18n.language_changed.connect(self._on_language)
        self.selection.changed.connect(self._show_device_tab)
        self.retranslate()
        self.restore_layout()

    def _show_photos_on_map(self, photos: list[dict[str, Any]]) -> None:
        self.map.show_photos(photos)  # type: ignore[union-attr]
        self.docks["map"].show()
        self.docks["map"].raise_()

    # -- layout --------------------------------------------------------------------------

    def _add(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(tr(title), self)
        dock.setObjectName(f"panel_{key}")
        dock.setProperty("title_en", title)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.docks[key] = dock
        self.panels[key] = widget

    def _default_layout(self) -> None:
        """Fleet on the left; map (if any) in the middle with events/plots under it; the
        dock and aircraft panels tabbed on the right."""
        d = self.docks
        middle = d.get("map")
        if middle is not None:
            self.splitDockWidget(d["fleet"], middle, Qt.Orientation.Horizontal)
            self.splitDockWidget(middle, d["dock"], Qt.Orientation.Horizontal)
            self.splitDockWidget(middle, d["events"], Qt.Orientation.Vertical)
        else:
            self.splitDockWidget(d["fleet"], d["dock"], Qt.Orientation.Horizontal)
            self.splitDockWidget(d["dock"], d["events"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(d["dock"], d["aircraft"])
        self.tabifyDockWidget(d["dock"], d["control"])
        self.tabifyDockWidget(d["events"], d["commands"])
        self.tabifyDockWidget(d["events"], d["alarms"])
        self.tabifyDockWidget(d["events"], d["firmware"])
        self.tabifyDockWidget(d["dock"], d["logs"])
        self.tabifyDockWidget(d["events"], d["missions"])
        self.tabifyDockWidget(d["events"], d["media"])
        self.tabifyDockWidget(d["dock"], d["areas"])  # issue 14
        if "plots" in d:
            self.tabifyDockWidget(d["events"], d["plots"])
            d["events"].raise_()
        d["aircraft"].raise_()
        # Docks added side by side before they were tabbed made the window grow to the sum of
        # their minimum widths (about 2,000 px); tabbed now, the window takes its own size again.
        layout = self.layout()
        if layout is not None:
            layout.activate()  # drops the minimum size the side-by-side docks had set
        self.resize(1500, 900)
        self._size_docks()

    def _size_docks(self) -> None:
        d = self.docks
        w = max(self.width(), 1200)
        h = max(self.height(), 700)
        fleet = max(int(w * 0.29), self.fleet.sizeHint().width())  # every column shows
        if "map" in d:
            rest = max(w - fleet, int(w * 0.5))
            middle = max(int(rest * 0.55), d["map"].minimumSizeHint().width())
            # The dock/aircraft tab group is sized through its front tab (a tab hidden behind
            # another one would make Qt ignore the request).
            front = d["dock"] if d["aircraft"].visibleRegion().isEmpty() else d["aircraft"]
            self.resizeDocks(
                [d["fleet"], d["map"], front],
                [fleet, middle, rest - middle],
                Qt.Orientation.Horizontal,
            )
            self.resizeDocks(
                [d["map"], d["events"]], [int(h * 0.62), int(h * 0.3)], Qt.Orientation.Vertical
            )
        else:
            fleet = max(fleet, int(w * 0.35))
            self.resizeDocks([d["fleet"], d["dock"]], [fleet, w - fleet], Qt.Orientation.Horizontal)

    @staticmethod
    def _dropped_kmz(event: QDragEnterEvent | QDropEvent) -> list[Path]:
        urls = event.mimeData().urls()
        paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        if paths and all(p.suffix.lower() == ".kmz" for p in paths):
            return paths
        return []

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_kmz(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Wayline files dropped on the window are imported into the library."""
        paths = self._dropped_kmz(event)
        if paths:
            self.docks["missions"].show()
            self.docks["missions"].raise_()
            self.missions.import_files(paths)
            event.acceptProposedAction()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._restored:
                QTimer.singleShot(0, self._size_docks)

    def restore_layout(self) -> None:
        """Restore the window geometry and panel layout saved for this user, if any."""
        geometry = self.ui_settings.value("window/geometry")
        state = self.ui_settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self._restored = self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self.ui_settings.setValue("window/geometry", self.saveGeometry())
        self.ui_settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.ui_settings.sync()

    @Slot()
    def reset_layout(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state, LAYOUT_VERSION)
        self._size_docks()

    @Slot(str)
    def _show_device_tab(self, sn: str) -> None:
        """Bring the panel of the selected device's kind to the front of its tab group."""
        view = self.bridge.device(sn) if sn else None
        if view is None:
            return
        key = {int(Domain.DOCK): "dock", int(Domain.AIRCRAFT): "aircraft"}.get(view.domain)
        dock = self.docks.get(key) if key is not None else None
        if dock is not None and dock.isVisible() and not dock.isFloating():
            dock.raise_()

    # -- actions and menus ---------------------------------------------------------------

    def _build_actions(self) -> None:
        self.act_settings = QAction(self)
        self.act_settings.setShortcut(QKeySequence.StandardKey.Preferences)
        self.act_settings.triggered.connect(self.open_settings)
        self.act_wizard = QAction(self)
        self.act_wizard.triggered.connect(self.open_wizard)
        self.act_quit = QAction(self)
        self.act_quit.setShortcut(QKeySequence.StandardKey.Quit)
        self.act_quit.triggered.connect(self.close)
        self.act_reset = QAction(self)
        self.act_reset.triggered.connect(self.reset_layout)
        self.act_about = QAction(self)
        self.act_about.triggered.connect(self._about)
        self.act_wall = QAction(self)  # issue 12: the 2×2 grid of live video
        self.act_wall.triggered.connect(self.open_video_wall)
        self.lang_group = QActionGroup(self)
        self.lang_actions: dict[str, QAction] = {}
        for code in ("system", *LANGUAGES):
            act = QAction(self)
            act.setCheckable(True)
            act.setData(code)
            act.triggered.connect(self._on_language_action)
            self.lang_group.addAction(act)
            self.lang_actions[code] = act
        choice = str(self.ui_settings.value("ui/language", "system"))
        self.lang_actions.get(choice, self.lang_actions["system"]).setChecked(True)
        self.toolbar = QToolBar(self)
        self.toolbar.setObjectName("main_toolbar")
        self.toolbar.addAction(self.act_wizard)
        self.toolbar.addAction(self.act_settings)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.act_reset)
        self.addToolBar(self.toolbar)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menu_file = bar.addMenu("")
        self.menu_file.addAction(self.act_settings)
        self.menu_file.addSeparator()
        self.menu_file.addAction(self.act_quit)
        self.menu_station = bar.addMenu("")
        self.menu_station.addAction(self.act_wizard)
        self.menu_view = bar.addMenu("")
        self.menu_panels = QMenu(self)
        for dock in self.docks.values():
            self.menu_panels.addAction(dock.toggleViewAction())
        self.menu_panels.addAction(self.toolbar.toggleViewAction())
        self.menu_view.addMenu(self.menu_panels)
        self.menu_language = QMenu(self)
        for act in self.lang_actions.values():
            self.menu_language.addAction(act)
        self.menu_view.addMenu(self.menu_language)
        self.menu_view.addSeparator()
        self.menu_view.addAction(self.act_wall)
        self.menu_view.addAction(self.act_reset)
        self.menu_help = bar.addMenu("")
        self.menu_help.addAction(self.act_about)

    def retranslate(self) -> None:
        self.setWindowTitle(tr("GCS Station"))
        for dock in self.docks.values():
            dock.setWindowTitle(tr(str(dock.property("title_en"))))
        self._on_unread_alarms(self.alarms.unread_total())
        self.act_settings.setText(tr("Settings…"))
        self.act_wizard.setText(tr("Connection wizard…"))
        self.act_quit.setText(tr("Quit"))
        self.act_reset.setText(tr("Reset layout"))
        self.act_about.setText(tr("About"))
        self.act_wall.setText(tr("Video wall"))
        self.lang_actions["system"].setText(tr("Follow system"))
        for code, name in LANGUAGES.items():
            self.lang_actions[code].setText(name)
        self.menu_file.setTitle(tr("&File"))
        self.menu_station.setTitle(tr("&Station"))
        self.menu_view.setTitle(tr("&View"))
        self.menu_help.setTitle(tr("&Help"))
        self.menu_panels.setTitle(tr("Panels"))
        self.menu_language.setTitle(tr("Language"))
        self.toolbar.setWindowTitle(tr("Main toolbar"))
        self.status.refresh()

    def open_video_wall(self) -> VideoWall:
        wall = VideoWall.of(self.bridge)
        wall.show()
        wall.raise_()
        return wall

    @Slot(str)
    def _on_language(self, _lang: str) -> None:
        self.retranslate()

    @Slot(int)
    def _on_unread_alarms(self, unread: int) -> None:
        """The Alarms tab shows how many alarms the operator has not read."""
        title = tr("Alarms")
        self.docks["alarms"].setWindowTitle(f"{title} ({unread})" if unread else title)

    @Slot()
    def _on_language_action(self) -> None:
        act = self.lang_group.checkedAction()
        if act is not None:
            self.choose_language(str(act.data()))

    def choose_language(self, choice: str) -> None:
        """Apply and remember "system", "en" or "zh"."""
        self.ui_settings.setValue("ui/language", choice)
        act = self.lang_actions.get(choice)
        if act is not None and not act.isChecked():
            act.setChecked(True)
        set_language(system_language() if choice == "system" else choice)

    @Slot()
    def open_settings(self) -> None:
        from gcs.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.bridge, self.data_dir, self, ui_settings=self.ui_settings)
        dialog.language_chosen.connect(self.choose_language)
        dialog.exec()

    @Slot()
    def open_wizard(self) -> None:
        from gcs.ui.wizard import ConnectionWizard

        wizard = ConnectionWizard(self.bridge, self, ui_settings=self.ui_settings)
        wizard.exec()

    def show_wizard_if_first_start(self) -> bool:
        """Open the wizard once, on the first start (remembered per user); True if it will."""
        if self.ui_settings.value("wizard/done", False, type=bool):
            return False
        QTimer.singleShot(300, self.open_wizard)
        return True

    def about_text(self) -> str:
        """The About box's text: product, version, data folder and the station's addresses."""
        return (
            tr("GCS — an offline DJI Cloud API station")
            + "\n"
            + tr("Version {version}").format(version=version())
            + "\n"
            + tr("Data folder: {path}").format(path=self.data_dir)
            + "\n\n"
            + "\n".join(f"{ep.name}: {ep.url}" for ep in self.bridge.endpoints())
        )

    @Slot()
    def _about(self) -> None:
        QMessageBox.about(self, tr("About"), self.about_text())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        super().closeEvent(event)
