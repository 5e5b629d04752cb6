"""The bridge between the station (its own thread and loop) and the Qt widgets.

Theory of operation: bus handlers run on the station thread. They never touch Qt objects other
than emitting one private signal (queued to the Qt thread) to wake the bridge. Everything the
widgets read is a snapshot the station thread prepared under a lock:

* device views and counts are rebuilt at most every `DEVICE_COALESCE_S` after a registry event
  (one `registry.all()` for a burst of 200 gateways coming online, not 200);
* the merged state of a device is the station's own read-only snapshot of each telemetry
  message (`TelemetryUpdated.state`), kept by reference: nothing is copied;
* log entries are queued.

The Qt side drains these on wake-up and emits the public signals, `telemetry_changed` at most
`TELEMETRY_MAX_HZ` per device sustained (a token bucket of `TELEMETRY_BURST`, so the partial
OSD messages of one dock arriving close together are not held back; a flood is coalesced).
A stalled GUI only makes the queues wait: the station thread never waits on Qt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from gcs.station.bus import (
    CommandChanged,
    DeviceBound,
    DeviceOffline,
    DeviceOnline,
    DeviceUpdated,
    Event,
    HmsChanged,
    LinkStateChanged,
    LogEntry,
    MessageRejected,
    TelemetryUpdated,
    TopologyChanged,
)
from gcs.station.commands import CommandOutcome
from gcs.station.core import ConnectionInfo, Endpoint
from gcs.station.devices import DeviceView
from gcs.station.firmware import DeviceFirmware, Firmware, FirmwareRow, OtaStarted, OtaTarget
from gcs.station.health import Health
from gcs.station.live import Live
from gcs.station.records import AlarmQuery, AlarmRow, CommandRow, EventRow, Sample, Settings
from gcs.station.remote_logs import (
    DeviceLogs,
    LogSelection,
    LogUploadChanged,
    LogUploadRow,
    RemoteLogs,
)
from gcs.station.tiles import TileStore
from gcs.ui.i18n import language

if TYPE_CHECKING:
    from gcs.runtime import ThreadedRuntime

__all__ = ["Selection", "StationBridge"]

DEVICE_COALESCE_S = 0.1
TELEMETRY_MAX_HZ = 5.0  # sustained telemetry_changed rate per device
TELEMETRY_BURST = 2.0  # token bucket: two updates may follow each other without waiting
MAX_QUEUED_LOG = 5000

T = TypeVar("T")
log = logging.getLogger(__name__)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class StationBridge(QObject):
    """Station state as Qt signals and snapshots; station calls as awaitables.

    Create it on the Qt thread after the runtime has started; call `close()` before the
    runtime stops. Signals are always emitted on the Qt thread.
    """

    devices_changed = Signal()
    telemetry_changed = Signal(str)
    log_entry = Signal(object)
    status_changed = Signal()
    command_changed = Signal(object)  # CommandChanged
    alarms_changed = Signal(object)  # HmsChanged
    _wake = Signal()
    _deliver = Signal(object)

    def __init__(self, threaded_runtime: ThreadedRuntime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rt = threaded_runtime
        self._lock = threading.Lock()
        # -- written on the station thread, read on the Qt thread (under _lock) --
        self._devices: dict[str, DeviceView] = {}
        self._workspaces: dict[str, str] = {}
        self._counts = (0, 0)
        self._endpoints: list[Endpoint] = []
        self._link_connected = False
        self._states: dict[str, Mapping[str, Any]] = {}
        self._state_ts: dict[str, int] = {}  # device time (ms) of each state
        self._dirty_sns: set[str] = set()
        self._dirty_devices = False
        self._dirty_status = False
        self._log: deque[LogEntry] = deque(maxlen=MAX_QUEUED_LOG)
        self._commands: deque[CommandChanged] = deque(maxlen=MAX_QUEUED_LOG)
        self._connection: ConnectionInfo | None = None
        self._settings: Settings | None = None
        self._titles: dict[str, tuple[str, str]] = {}
        self._alarms: dict[str, tuple[AlarmRow, ...]] = {}
        self._unread: dict[str, int] = {}
        self._alarm_events: deque[HmsChanged] = deque(maxlen=MAX_QUEUED_LOG)
        self._tiles: TileStore | None = None
        self._wake_pending = False
        self._rebuild_scheduled = False  # station thread only
        self._received_at: dict[str, float] = {}  # monotonic time a sn's state arrived
        # -- Qt thread only --
        self._log_history: deque[LogEntry] = deque(maxlen=MAX_QUEUED_LOG)
        self._tokens: dict[str, tuple[float, float]] = {}  # sn -> (tokens, at)
        self._held: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._drain)
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)
        self._unsubscribers: list[Any] = []
        self._closed = False
        self._rt.submit(self._attach()).result(10)

    # -- station thread ------------------------------------------------------------------

    async def _attach(self) -> None:
        station = self._rt.runtime.station
        bus = station.bus
        for event_type in (
            DeviceOnline,
            DeviceOffline,
            TopologyChanged,
            DeviceBound,
            DeviceUpdated,
        ):
            self._unsubscribers.append(bus.subscribe(event_type, self._st_on_registry))
        self._unsubscribers += [
            bus.subscribe(TelemetryUpdated, self._st_on_telemetry),
            bus.subscribe(LinkStateChanged, self._st_on_link),
            bus.subscribe(LogEntry, self._st_on_log),
            bus.subscribe(MessageRejected, self._st_on_rejected),
            bus.subscribe(CommandChanged, self._st_on_command),
            bus.subscribe(HmsChanged, self._st_on_hms),
        ]
        with self._lock:
            self._connection = station.connection_info()
            self._settings = station.settings_snapshot()
            self._titles = station.commands.titles()
            health = _health(station)
            if health is not None:
                for alarm in health.active():
                    self._alarms[alarm.sn] = (*self._alarms.get(alarm.sn, ()), alarm)
                self._unread = health.unread()
            self._tiles = station.tiles
            self._link_connected = bool(station.link and station.link.connected)
            self._endpoints = list(self._rt.runtime.endpoints())
            for sn in station.telemetry.known():
                self._states[sn] = station.telemetry.current(sn)
                self._state_ts[sn] = station.telemetry.updated_ms(sn) or 0
        self._st_rebuild_devices()

    async def _detach(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers = []

    def _st_post(self) -> None:
        """Wake the Qt side once; further posts wait until it has drained (call under _lock)."""
        if not self._wake_pending and not self._closed:
            self._wake_pending = True
            self._wake.emit()

    def _st_on_registry(self, _event: Event) -> None:
        if self._rebuild_scheduled:
            return
        self._rebuild_scheduled = True
        asyncio.get_running_loop().call_later(DEVICE_COALESCE_S, self._st_rebuild_devices)

    def _st_rebuild_devices(self) -> None:
        self._rebuild_scheduled = False
        registry = self._rt.runtime.station.registry
        views = {v.sn: v for v in registry.all()}
        counts = registry.counts()
        workspaces = {w.id: w.name for w in registry.workspaces()}
        with self._lock:
            self._devices = views
            self._workspaces = workspaces
            status = counts != self._counts
            self._counts = counts
            self._dirty_devices = True
            self._dirty_status = self._dirty_status or status
            self._st_post()

    def _st_on_telemetry(self, event: TelemetryUpdated) -> None:
        with self._lock:
            self._states[event.sn] = event.state
            self._state_ts[event.sn] = event.ts
            self._received_at[event.sn] = time.monotonic()
            self._dirty_sns.add(event.sn)
            self._st_post()

    def _st_on_link(self, event: LinkStateChanged) -> None:
        endpoints = list(self._rt.runtime.endpoints())
        with self._lock:
            self._link_connected = event.connected
            self._endpoints = endpoints
            self._dirty_status = True
            self._st_post()

    def _st_on_log(self, entry: LogEntry) -> None:
        with self._lock:
            self._log.append(entry)
            self._st_post()

    def _st_on_rejected(self, event: MessageRejected) -> None:
        self._st_on_log(LogEntry(event.ts, "rejected", "warning", f"{event.topic}: {event.reason}"))

    def _st_on_hms(self, event: HmsChanged) -> None:
        with self._lock:
            if event.active:
                self._alarms[event.sn] = event.active
            else:
                self._alarms.pop(event.sn, None)
            self._unread[event.sn] = event.unread
            self._alarm_events.append(event)
            self._st_post()

    def _st_on_command(self, event: CommandChanged) -> None:
        with self._lock:
            self._commands.append(event)
            self._st_post()

    # -- Qt thread -----------------------------------------------------------------------

    @Slot()
    def _drain(self) -> None:
        if self._closed:
            return
        with self._lock:
            self._wake_pending = False
            sns = self._dirty_sns
            self._dirty_sns = set()
            devices, self._dirty_devices = self._dirty_devices, False
            status, self._dirty_status = self._dirty_status, False
            entries = list(self._log)
            self._log.clear()
            commands = list(self._commands)
            self._commands.clear()
            alarm_events = list(self._alarm_events)
            self._alarm_events.clear()
        if devices:
            self.devices_changed.emit()
        if status:
            self.status_changed.emit()
        for entry in entries:
            self._log_history.append(entry)
            self.log_entry.emit(entry)
        for command in commands:
            self.command_changed.emit(command)
        for alarm_event in alarm_events:
            self.alarms_changed.emit(alarm_event)
        now = time.monotonic()
        self._held |= sns
        due: list[str] = []
        wait = None
        for sn in self._held:
            tokens, since = self._tokens.get(sn, (TELEMETRY_BURST, now))
            tokens = min(TELEMETRY_BURST, tokens + (now - since) * TELEMETRY_MAX_HZ)
            if tokens >= 1.0:
                due.append(sn)
                tokens -= 1.0
            else:
                left = (1.0 - tokens) / TELEMETRY_MAX_HZ
                wait = left if wait is None else min(wait, left)
            self._tokens[sn] = (tokens, now)
        for sn in due:
            self._held.discard(sn)
            self.telemetry_changed.emit(sn)
        if wait is not None and not self._timer.isActive():
            self._timer.start(max(1, int(wait * 1000) + 1))

    def close(self) -> None:
        """Stop listening to the station (call before the runtime stops). Idempotent."""
        if self._closed:
            return
        with self._lock:
            self._closed = True
        self._timer.stop()
        if self._rt.thread.is_alive():
            try:
                self._rt.submit(self._detach()).result(5)
            except Exception:  # the loop may already be stopping
                pass

    # -- snapshots (Qt thread; cheap, no waiting on the station) -------------------------

    def devices(self) -> list[DeviceView]:
        """Every known device (a snapshot, sorted by SN)."""
        with self._lock:
            return [self._devices[sn] for sn in sorted(self._devices)]

    def device(self, sn: str) -> DeviceView | None:
        """The device `sn`, or None if the station has never seen it."""
        with self._lock:
            return self._devices.get(sn)

    def workspaces(self) -> dict[str, str]:
        """Workspace names by id."""
        with self._lock:
            return dict(self._workspaces)

    def state(self, sn: str) -> Mapping[str, Any]:
        """The merged current OSD/state of `sn` (read-only, shared: never mutate it or its
        values; empty if nothing arrived)."""
        with self._lock:
            return self._states.get(sn, _EMPTY)

    def state_ts(self, sn: str) -> int | None:
        """Device time (ms) of the newest message in `state(sn)`; None if nothing arrived."""
        with self._lock:
            return self._state_ts.get(sn)

    def state_received_at(self, sn: str) -> float | None:
        """`time.monotonic()` when the station merged the newest state of `sn` (for latency)."""
        with self._lock:
            return self._received_at.get(sn)

    def log_history(self) -> list[LogEntry]:
        """Log entries already delivered through `log_entry` (the newest few thousand)."""
        return list(self._log_history)

    def endpoints(self) -> list[Endpoint]:
        """The station's listening endpoints (mqtt, ntp, http, https, ws, s3 when present)."""
        with self._lock:
            return list(self._endpoints)

    def counts(self) -> tuple[int, int]:
        """(online gateways, online aircraft)."""
        with self._lock:
            return self._counts

    def link_connected(self) -> bool:
        """Whether the station's own MQTT client is connected to the broker."""
        with self._lock:
            return self._link_connected

    def http_base_url(self) -> str | None:
        """Base URL of the station's web server reachable from this machine, if it runs."""
        for ep in self.endpoints():
            if ep.name == "http":
                scheme, _, rest = ep.url.partition("://")
                port = rest.rsplit(":", 1)[-1].split("/", 1)[0]
                return f"{scheme}://127.0.0.1:{port}"
        return None

    def connection_info(self) -> ConnectionInfo | None:
        """What a dock installer and a Pilot need (a snapshot taken on the station thread)."""
        with self._lock:
            return self._connection

    def settings(self) -> Settings:
        """A copy of the station's settings in force (edit it, then `save_settings`)."""
        with self._lock:
            assert self._settings is not None
            return copy.deepcopy(self._settings)

    def alarms(self, sn: str | None = None) -> list[AlarmRow]:
        """Active HMS alarms (of one device), highest level first (a snapshot)."""
        with self._lock:
            rows = [a for key, alarms in self._alarms.items() if sn in (None, key) for a in alarms]
        return sorted(rows, key=lambda a: (-a.level, -a.raised_at))

    def unread_alarms(self) -> dict[str, int]:
        """Unread alarm counts per device."""
        with self._lock:
            return {sn: n for sn, n in self._unread.items() if n}

    def mark_alarms_read(
        self,
        sns: list[str] | None = None,
        on_done: Callable[[int | None, BaseException | None], None] | None = None,
    ) -> concurrent.futures.Future[int]:
        """Mark the alarms of `sns` (every device when None) read."""
        station = self._rt.runtime.station

        async def mark() -> int:
            health = _health(station)
            if health is None:
                return 0
            n = await health.mark_read(sns)
            if sns is None:
                with self._lock:
                    self._unread = {}
            return n

        return self.run(mark(), on_done)

    async def alarm_history(self, query: AlarmQuery) -> tuple[list[AlarmRow], int]:
        """Stored alarms matching `query` (newest first) and how many match in all."""
        station = self._rt.runtime.station

        async def run() -> tuple[list[AlarmRow], int]:
            health = _health(station)
            return await health.history(query) if health is not None else ([], 0)

        return await asyncio.wrap_future(self._rt.submit(run()))

    def import_hms_table(
        self, path: str, on_done: Callable[[int | None, BaseException | None], None]
    ) -> concurrent.futures.Future[int]:
        """Use DJI's hms.json at `path` for alarm texts from now on."""
        station = self._rt.runtime.station

        async def run() -> int:
            from pathlib import Path

            health = _health(station)
            if health is None:
                raise RuntimeError("the station runs without its health module")
            return await health.import_table(Path(path))

        return self.run(run(), on_done)

    def make_dock_login(
        self, sn: str, on_done: Callable[[tuple[str, str] | None, BaseException | None], None]
    ) -> concurrent.futures.Future[tuple[str, str]]:
        """Give dock `sn` its own MQTT login (or show the one it has); the running broker
        accepts it at once. `on_done((username, password), error)` runs on the Qt thread."""
        from gcs.station import dock_logins

        station = self._rt.runtime.station

        async def make() -> tuple[str, str]:
            login = await dock_logins.ensure_on_station(station, sn)
            connection = station.connection_info()
            with self._lock:
                self._connection = connection
            return login

        return self.run(make(), on_done)

    def command_title(self, method: str) -> str:
        """The command's name in the UI language (its wire name when the station has none)."""
        with self._lock:
            en_zh = self._titles.get(method)
        if en_zh is None:
            return method
        return en_zh[1] if language() == "zh" else en_zh[0]

    def tile_store(self) -> TileStore | None:
        """The station's offline base maps (thread-safe: MBTiles files read per request)."""
        with self._lock:
            return self._tiles

    @property
    def threaded_runtime(self) -> ThreadedRuntime:
        return self._rt

    # -- calls (awaitable from qasync code; they run on the station loop) ----------------

    async def history(self, sn: str, since_ms: int, until_ms: int | None = None) -> list[Sample]:
        """Telemetry history rows of `sn` in [since_ms, until_ms] (numeric properties)."""
        telemetry = self._rt.runtime.station.telemetry
        return await asyncio.wrap_future(self._rt.submit(telemetry.history(sn, since_ms, until_ms)))

    async def set_callsign(self, sn: str, callsign: str) -> None:
        """Rename a device. Raises KeyError for an unknown SN."""
        registry = self._rt.runtime.station.registry
        await asyncio.wrap_future(self._rt.submit(registry.set_callsign(sn, callsign)))

    async def recent_events(self, limit: int = 500) -> list[EventRow]:
        """The newest `limit` events-log rows stored by the station (oldest first)."""
        station = self._rt.runtime.station
        rows = await asyncio.wrap_future(self._rt.submit(station.recent_events(limit)))
        return sorted(rows, key=lambda r: r.ts)

    async def command_history(self, sn: str | None = None, limit: int = 500) -> list[CommandRow]:
        """The station's command history, newest first (optionally of one gateway)."""
        commands = self._rt.runtime.station.commands
        return await asyncio.wrap_future(self._rt.submit(commands.history(sn, limit)))

    def run_command(
        self,
        sn: str,
        method: str,
        data: Any = None,
        *,
        confirmed: bool = False,
        on_done: Callable[[CommandOutcome | None, BaseException | None], None] | None = None,
    ) -> concurrent.futures.Future[CommandOutcome]:
        """Send a command to gateway `sn` through the station's command path.

        `on_done(outcome, error)` runs on the Qt thread: the outcome when the command succeeded,
        else `CommandRefused` (not sent) or `CommandFailed` (with its outcome).
        """
        commands = self._rt.runtime.station.commands

        async def run() -> CommandOutcome:
            return await commands.run(sn, method, data, actor="desktop", confirmed=confirmed)

        return self.run(run(), on_done)

    def save_settings(
        self,
        new: Settings,
        on_done: Callable[[list[str] | None, BaseException | None], None] | None = None,
    ) -> concurrent.futures.Future[list[str]]:
        """Write `new` to gcs.toml and apply what applies live; `on_done` gets the names of
        the changed settings that need a restart."""
        station = self._rt.runtime.station

        async def save() -> list[str]:
            restart = await station.save_settings(new)
            connection = station.connection_info()
            snapshot = station.settings_snapshot()
            with self._lock:
                self._connection = connection
                self._settings = snapshot
                self._dirty_status = True
                self._st_post()
            return restart

        return self.run(save(), on_done)

    # -- calls without an asyncio loop on the Qt side ------------------------------------

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        on_done: Callable[[T | None, BaseException | None], None] | None = None,
    ) -> concurrent.futures.Future[T]:
        """Run `coro` on the station loop; `on_done(result, error)` is called on the Qt thread.

        For widgets that must not depend on a running qasync loop (e.g. under plain pytest-qt).
        After `close()` (or once the station has stopped) nothing runs and `on_done` is not
        called; the returned future is cancelled.
        """
        if self._closed or self._rt.loop.is_closed():
            coro.close()
            gone: concurrent.futures.Future[T] = concurrent.futures.Future()
            gone.cancel()
            return gone
        future = self._rt.submit(coro)
        if on_done is not None:
            callback = on_done

            def finished(f: concurrent.futures.Future[T]) -> None:
                result: tuple[T | None, BaseException | None]
                if f.cancelled():
                    result = (None, asyncio.CancelledError())
                elif f.exception() is not None:
                    result = (None, f.exception())
                else:
                    result = (f.result(), None)
                self._deliver.emit(lambda: callback(*result))

            future.add_done_callback(finished)
        return future

    @Slot(object)
    def _on_deliver(self, fn: Callable[[], None]) -> None:
        if self._closed:
            return
        try:
            fn()
        except RuntimeError as exc:
            # The widget that asked was closed and deleted while the station worked: its
            # answer has nobody to go to. Anything else is a real error.
            if "already deleted" not in str(exc) and "has been deleted" not in str(exc):
                raise
            log.debug("a result arrived for a closed widget: %s", exc)

    def rename(
        self,
        sn: str,
        callsign: str,
        on_done: Callable[[None, BaseException | None], None] | None = None,
    ) -> concurrent.futures.Future[None]:
        """Start a rename on the station loop (see `set_callsign`)."""
        return self.run(self._rt.runtime.station.registry.set_callsign(sn, callsign), on_done)

    # -- firmware and remote logs (gcs.station.firmware, gcs.station.remote_logs) --------

    def firmware_library(
        self, on_done: Callable[[list[FirmwareRow] | None, BaseException | None], None]
    ) -> concurrent.futures.Future[list[FirmwareRow]]:
        """The firmware packages in the library, newest import first."""
        return self.run(self._rt.runtime.station.capability(Firmware).library(), on_done)

    def firmware_devices(
        self, on_done: Callable[[list[DeviceFirmware] | None, BaseException | None], None]
    ) -> concurrent.futures.Future[list[DeviceFirmware]]:
        """Docks and their aircraft with their firmware and the upgrade each needs."""
        return self.run(self._rt.runtime.station.capability(Firmware).devices(), on_done)

    def import_firmware(
        self,
        path: str,
        models: list[str],
        version: str,
        note: str,
        on_done: Callable[[FirmwareRow | None, BaseException | None], None],
    ) -> concurrent.futures.Future[FirmwareRow]:
        """Import a package (MD5 and size computed off the loop); `FirmwareError` says why not."""
        from pathlib import Path

        fw = self._rt.runtime.station.capability(Firmware)
        coro = fw.import_package(
            Path(path), models=models, version=version, release_note=note, actor="desktop"
        )
        return self.run(coro, on_done)

    def upgrade_firmware(
        self,
        targets: list[OtaTarget],
        on_done: Callable[[list[OtaStarted] | None, BaseException | None], None],
    ) -> concurrent.futures.Future[list[OtaStarted]]:
        """`ota_create` per dock for `targets`; each result is a running job or a refusal."""
        fw = self._rt.runtime.station.capability(Firmware)
        return self.run(fw.upgrade(targets, actor="desktop"), on_done)

    def list_device_logs(
        self, sn: str, on_done: Callable[[list[DeviceLogs] | None, BaseException | None], None]
    ) -> concurrent.futures.Future[list[DeviceLogs]]:
        """The log files of dock `sn` and its aircraft, by boot index (`fileupload_list`)."""
        logs = self._rt.runtime.station.capability(RemoteLogs)
        return self.run(logs.list_files(sn, actor="desktop"), on_done)

    def upload_device_logs(
        self,
        sn: str,
        selections: list[LogSelection],
        note: str,
        on_done: Callable[[LogUploadRow | None, BaseException | None], None],
    ) -> concurrent.futures.Future[LogUploadRow]:
        """Have dock `sn` upload the chosen boots' logs into the station's store."""
        logs = self._rt.runtime.station.capability(RemoteLogs)
        return self.run(logs.start_upload(sn, selections, note=note, actor="desktop"), on_done)

    def cancel_log_upload(
        self, sn: str, on_done: Callable[[None, BaseException | None], None] | None = None
    ) -> concurrent.futures.Future[None]:
        """Tell dock `sn` to stop uploading logs (`fileupload_update`)."""
        logs = self._rt.runtime.station.capability(RemoteLogs)
        return self.run(logs.cancel(sn, actor="desktop"), on_done)

    def log_uploads(
        self, sn: str, on_done: Callable[[list[LogUploadRow] | None, BaseException | None], None]
    ) -> concurrent.futures.Future[list[LogUploadRow]]:
        """The log uploads of dock `sn`, newest first."""
        logs = self._rt.runtime.station.capability(RemoteLogs)

        async def run() -> list[LogUploadRow]:
            rows, _total = await logs.uploads(sn, limit=200)
            return rows

        return self.run(run(), on_done)

    def download_log_archive(
        self,
        upload_id: str,
        file_id: str,
        on_done: Callable[[str | None, BaseException | None], None],
    ) -> concurrent.futures.Future[str]:
        """Fetch one uploaded archive into `<data dir>/downloads/logs/` (on the station loop);
        `on_done` gets the file's path."""
        station = self._rt.runtime.station
        logs = station.capability(RemoteLogs)

        async def run() -> str:
            import aiohttp

            url = await logs.download_url(upload_id, file_id)
            row = await logs.upload(upload_id)
            entry = next(f for f in row.files if f["file_id"] == file_id) if row else {}
            name = str(entry.get("object_key", f"{upload_id}-{file_id}.tar.gz")).rsplit("/", 1)[-1]
            folder = station.data_dir / "downloads" / "logs" / upload_id
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: folder.mkdir(parents=True, exist_ok=True))
            async with aiohttp.ClientSession() as http, http.get(url, ssl=False) as r:
                r.raise_for_status()
                body = await r.read()
            target = folder / name
            await loop.run_in_executor(None, target.write_bytes, body)
            return str(target)

        return self.run(run(), on_done)

    def watch_log_uploads(self, callback: Callable[[LogUploadChanged], None]) -> None:
        """Call `callback(event)` on the Qt thread for every log upload change, until
        `close()`."""

        def on_change(event: LogUploadChanged) -> None:
            if not self._closed:
                self._deliver.emit(lambda: callback(event))

        async def attach() -> None:
            bus = self._rt.runtime.station.bus
            self._unsubscribers.append(bus.subscribe(LogUploadChanged, on_change))

        self._rt.submit(attach()).result(10)

    # -- live video (issue 12) -------------------------------------------------------------

    def live_watch(
        self,
        video_id: str,
        on_done: Callable[[tuple[str, Callable[[], None]] | None, BaseException | None], None],
        *,
        video_quality: int = 0,
    ) -> concurrent.futures.Future[tuple[str, Callable[[], None]]]:
        """Start (or reuse) the stream of `video_id` and watch it: `on_done` gets its playback
        URL and the function to call when the window stops watching (`live_unwatch`)."""
        live = self._rt.runtime.station.capability(Live)

        async def run() -> tuple[str, Callable[[], None]]:
            stream = await live.start_stream(video_id, video_quality=video_quality, actor="desktop")
            return live.playback_url(stream), live.watch(video_id)

        return self.run(run(), on_done)

    def live_videos(self, sn: str) -> list[str]:
        """The video ids of the cameras on device `sn` (from its gateway's `live_capacity`)."""
        try:
            live = self._rt.runtime.station.capability(Live)
        except LookupError:
            return []
        gateways = list(live.gateways.values())  # replaced whole by the station: a snapshot
        videos = [src.video_id for g in gateways for src in g.sources if src.sn == sn]
        # Pilot's live share of an RC (gcs.station.liveshare), on the RC and on its aircraft
        view = self._rt.runtime.station.registry.view(sn)
        rc = {sn, view.gateway_sn} if view is not None and view.gateway_sn else {sn}
        shares = [s for s in list(live.streams.values()) if s.share and s.gateway_sn in rc]
        return videos + [s.video_id for s in shares]

    def live_unwatch(self, unwatch: Callable[[], None]) -> None:
        """Stop watching (the station stops a stream nobody watches after a while)."""
        if not self._closed and not self._rt.loop.is_closed():
            self._rt.loop.call_soon_threadsafe(unwatch)

    def live_command(
        self,
        video_id: str,
        change: str,
        value: Any,
        on_done: Callable[[None, BaseException | None], None] | None = None,
    ) -> concurrent.futures.Future[None]:
        """`change` = "lens" (video_type), "quality" (0-4) or "camera" (0 inside, 1 outside)."""
        live = self._rt.runtime.station.capability(Live)
        if change == "lens":
            coro = live.change_lens(video_id, value, actor="desktop")
        elif change == "quality":
            coro = live.set_quality(video_id, value, actor="desktop")
        else:
            coro = live.change_camera(video_id, value, actor="desktop")
        return self.run(coro, on_done)


def _health(station: Any) -> Health | None:
    try:
        return station.capability(Health)  # type: ignore[no-any-return]
    except LookupError:
        return None


class Selection(QObject):
    """The one selected device shared by the fleet tree, map, device panels and plots."""

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sn = ""

    def select(self, sn: str) -> None:
        """Select `sn` ("" clears); emits `changed` only on a real change."""
        if sn != self._sn:
            self._sn = sn
            self.changed.emit(sn)

    @property
    def current(self) -> str:
        return self._sn


# -- missions (wayline library and dock flight tasks) ------------------------------------------
# One block for the lead to re-apply: the missions panel reaches the station only through here.


class MissionsBridge(QObject):
    """The wayline library and the flight tasks of the station, for the missions panel.

    Bus events (`FlightTaskChanged`, `WaylineLibraryChanged`) are queued on the station thread
    and emitted on the Qt thread as `task_changed(event)` and `library_changed()`. Calls run on
    the station loop through `StationBridge.run`; `on_done(result, error)` comes on the Qt
    thread. Create it after the `StationBridge`; `close()` before the runtime stops.
    """

    task_changed = Signal(object)  # FlightTaskChanged
    return_path = Signal(object)  # ReturnHomePath
    library_changed = Signal()
    _wake = Signal()

    def __init__(self, bridge: StationBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._rt = bridge.threaded_runtime
        self._lock = threading.Lock()
        self._tasks: deque[Any] = deque(maxlen=MAX_QUEUED_LOG)
        self._library_dirty = False
        self._posted = False
        self._closed = False
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._unsubscribers: list[Callable[[], None]] = []
        self._rt.submit(self._attach()).result(10)

    @property
    def _station(self) -> Any:
        return self._rt.runtime.station

    async def _attach(self) -> None:
        from gcs.station.bus import FlightTaskChanged, ReturnHomePath, WaylineLibraryChanged

        bus = self._station.bus
        self._unsubscribers = [
            bus.subscribe(FlightTaskChanged, self._st_on_task),
            bus.subscribe(ReturnHomePath, self._st_on_task),  # same queue, in order
            bus.subscribe(WaylineLibraryChanged, self._st_on_library),
        ]

    async def _detach(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers = []

    def _st_post(self) -> None:
        """Wake the Qt side once (call under _lock); nothing once this or the main bridge
        has closed (a window closed without `close()` only stops being told)."""
        if not self._posted and not self._closed and not self.bridge._closed:
            self._posted = True
            try:
                self._wake.emit()
            except RuntimeError:  # the Qt object is already gone
                self._closed = True

    def _st_on_task(self, event: Any) -> None:
        with self._lock:
            self._tasks.append(event)
            self._st_post()

    def _st_on_library(self, _event: Any) -> None:
        with self._lock:
            self._library_dirty = True
            self._st_post()

    @Slot()
    def _drain(self) -> None:
        if self._closed:
            return
        with self._lock:
            self._posted = False
            tasks = list(self._tasks)
            self._tasks.clear()
            library, self._library_dirty = self._library_dirty, False
        if library:
            self.library_changed.emit()
        for event in tasks:
            if hasattr(event, "points"):
                self.return_path.emit(event)
            else:
                self.task_changed.emit(event)

    def close(self) -> None:
        if self._closed:
            return
        with self._lock:
            self._closed = True
        if self._rt.thread.is_alive() and not self._rt.loop.is_closed():
            try:
                self._rt.submit(self._detach()).result(5)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass

    @property
    def workspace_id(self) -> str:
        return str(self._station.settings.station.workspace_id)

    def _library(self) -> Any:
        from gcs.station.waylines import Waylines

        return self._station.capability(Waylines).library

    def _missions(self) -> Any:
        from gcs.station.missions import Missions

        return self._station.capability(Missions)

    def waylines(self, on_done: Callable[[Any, BaseException | None], None]) -> Any:
        """The library, newest first: `on_done(list[WaylineRow], error)`."""
        from gcs.station.waylines import WaylineQuery

        async def rows() -> Any:
            query = WaylineQuery(page_size=10_000)
            found, _ = await self._library().search(self.workspace_id, query)
            return found

        return self.bridge.run(rows(), on_done)

    def import_wayline(
        self, data: bytes, filename: str, on_done: Callable[[Any, BaseException | None], None]
    ) -> Any:
        """Add a KMZ (a same-named one gets " (2)"...): `on_done(Imported, WaylineError)`."""
        coro = self._library().import_kmz(
            data,
            filename=filename,
            workspace_id=self.workspace_id,
            author="desktop",
            unique_name=True,
        )
        return self.bridge.run(coro, on_done)

    def delete_wayline(
        self, wayline_id: str, on_done: Callable[[Any, BaseException | None], None]
    ) -> Any:
        return self.bridge.run(self._library().delete(self.workspace_id, wayline_id), on_done)

    def route_geometry(
        self, wayline_id: str, on_done: Callable[[Any, BaseException | None], None]
    ) -> Any:
        """A route as the map draws it (see `WaylineLibrary.geometry`)."""
        return self.bridge.run(self._library().geometry(self.workspace_id, wayline_id), on_done)

    def export_waylines(
        self, ids: list[str], folder: str, on_done: Callable[[Any, BaseException | None], None]
    ) -> Any:
        """Write the KMZ of waylines to a folder: `on_done(list[Path], WaylineError)`."""
        from pathlib import Path

        coro = self._library().export(self.workspace_id, ids, Path(folder))
        return self.bridge.run(coro, on_done)

    def tasks(self, on_done: Callable[[Any, BaseException | None], None]) -> Any:
        """The newest 500 tasks: `on_done(list[TaskRow], error)`."""

        async def rows() -> Any:
            found, _ = await self._missions().tasks(self.workspace_id, page_size=500)
            return found

        return self.bridge.run(rows(), on_done)

    def plan(self, request: Any, on_done: Callable[[Any, BaseException | None], None]) -> Any:
        """Plan a `gcs.station.missions.TaskRequest`: `on_done(TaskRow | PlanRow, MissionError)`."""
        coro = self._missions().plan(self.workspace_id, request, actor="desktop")
        return self.bridge.run(coro, on_done)

    def task_action(
        self, action: str, target: str, on_done: Callable[[Any, BaseException | None], None]
    ) -> Any:
        """`pause`/`resume`/`cancel`/`breakpoint` a task, or `return_home`/`return_home_cancel`
        a dock (`target` is the task id or the dock's serial)."""
        m = self._missions()
        ws = self.workspace_id
        coros = {
            "pause": lambda: m.pause(target, actor="desktop"),
            "resume": lambda: m.resume(target, actor="desktop"),
            "cancel": lambda: m.cancel(ws, [target], actor="desktop"),
            "breakpoint": lambda: m.resume_from_breakpoint(ws, target, actor="desktop"),
            "return_home": lambda: m.return_home(target, actor="desktop"),
            "return_home_cancel": lambda: m.cancel_return_home(target, actor="desktop"),
        }
        return self.bridge.run(coros[action](), on_done)
