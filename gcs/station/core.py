"""The station: the composition of broker, MQTT link, NTP, database and capability modules.

`Station(settings, data_dir, capabilities=[...]).start()` brings everything up in order
(database, broker, NTP, registry, users, object store access, the command path, the
capabilities, then the MQTT link); `stop()` takes it down in reverse. The same object serves
`gcs serve`, the desktop app (on its own thread and loop) and the tests.

What the station does with device messages lives elsewhere: `gcs.station.dispatch` routes each
inbound message (and applies the reply rules), `gcs.station.commands` is the one path for
commands to devices, and each feature is a capability module (`gcs.station.capability`) composed
from the list in `gcs.runtime`.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker import AUTH_FILE_NAME, AuthFile, BrokerProcess, User, hash_password
from broker.auth import Role
from gcs.aio import spawn
from gcs.link import BrokerUrl, MqttLink
from gcs.logsetup import DiskFullNotice, limit_repeats
from gcs.protocol import replies
from gcs.protocol.envelope import Message
from gcs.protocol.topics import station_subscriptions
from gcs.station import broker_watch, dock_logins, netinfo
from gcs.station.activity import ActivityLog
from gcs.station.bus import EventBus, LinkStateChanged, LogEntry
from gcs.station.capability import Capability, CapabilityFactory
from gcs.station.commands import Commands
from gcs.station.devices import DeviceRegistry
from gcs.station.dispatch import Dispatcher
from gcs.station.ntp import NtpServer
from gcs.station.storage import StorageAccess, open_access
from gcs.station.telemetry import Telemetry
from gcs.station.tiles import TileStore
from gcs.station.uploads import Uploads
from gcs.station.users import Users
from gcs.store import history as h
from gcs.store.db import Store, open_store
from gcs.store.devices import WorkspaceRow
from gcs.store.settings import Settings, write_settings_keeping_extra

log = logging.getLogger(__name__)
limit_repeats(log)  # issue 17 #8: a burst of rejected messages is one line and a count

STATION_MQTT_USER = "gcs-station"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    url: str


#: Settings the running station applies at once; any other change needs a restart.
LIVE_SETTINGS = frozenset(
    {
        ("dji", "app_id"),
        ("dji", "app_key"),
        ("dji", "app_license"),
        # read by gcs.station.live at each start (external services, WHIP preference)
        ("live", "agora"),
        ("live", "gb28181"),
        ("live", "prefer_whip"),
    }
)


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What a dock installer and a Pilot need, as the running station sees it (a snapshot)."""

    public_host: str
    mqtt_host: str
    external_broker: bool
    device_username: str
    device_password: str
    workspace_id: str
    binding_code: str
    dji_app_id: str
    dji_app_key: str
    dji_app_license: str

    @property
    def dji_complete(self) -> bool:
        return bool(self.dji_app_id and self.dji_app_key and self.dji_app_license)


class Station:
    """The headless station. Usable after `await start()` until `await stop()`."""

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        *,
        capabilities: Sequence[CapabilityFactory] = (),
        external_broker: str | None = None,
    ) -> None:
        self.settings = settings
        self._capability_factories = list(capabilities)
        self.data_dir = data_dir
        self.external_broker = BrokerUrl.parse(external_broker) if external_broker else None
        if self.external_broker is None and settings.mqtt.external_url:
            self.external_broker = BrokerUrl.parse(settings.mqtt.external_url)
        self.bus = EventBus()
        self.store: Store | None = None
        self.registry: DeviceRegistry
        self.telemetry: Telemetry
        self.users: Users | None = None
        self.storage: StorageAccess | None = None
        self.tiles: TileStore | None = None
        self.broker: BrokerProcess | None = None
        self.ntp: NtpServer | None = None
        self.link: MqttLink | None = None
        self.commands: Commands
        self.dispatcher: Dispatcher | None = None
        self.capabilities: list[Capability] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._pending_log: list[h.EventRow] = []
        self._station_password = secrets.token_urlsafe(24)
        self._hashed_logins: dict[tuple[str, str, Role, str | None], str] = {}
        self._auth_signature = ""
        self.started_at: float | None = None
        self._disk_full = DiskFullNotice(  # issue 17 #8: a full disk is said once
            log,
            "the station's events",
            on_notice=lambda level, text: self.bus.publish(
                LogEntry(now_ms(), "error", level, text)
            ),
        )

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bring the station up. Raises OSError/LinkError/BrokerStartError with a readable cause."""
        s = self.settings
        loop = asyncio.get_running_loop()
        # The broker child starts (its Python imports take most of a second) while the database
        # opens; pilot logins join its auth file once the users are loaded.
        broker_started: asyncio.Future[None] | None = None
        if self.external_broker is None:
            (self.data_dir / "logs").mkdir(exist_ok=True)
            self.write_broker_auth()
            self.broker = BrokerProcess(
                self.data_dir / AUTH_FILE_NAME,
                host=s.station.host,
                port=s.mqtt.port,
                max_queued_messages=s.mqtt.max_queued_messages,
                log_path=self.data_dir / "logs" / "broker.log",
            )
            broker_watch.BrokerWatch(self.bus, loop).attach(self.broker)  # refusals -> events
            broker_started = loop.run_in_executor(None, self.broker.start)
        try:
            self.store = await loop.run_in_executor(None, open_store, self.data_dir)
        except BaseException:
            if broker_started is not None:
                await asyncio.gather(broker_started, return_exceptions=True)
            raise
        self.registry = DeviceRegistry(
            self.store, self.bus, offline_timeout_s=s.telemetry.offline_timeout_s
        )
        self.telemetry = Telemetry(
            self.store,
            self.bus,
            history_interval_s=s.telemetry.history_interval_s,
            retention_days=s.telemetry.retention_days,
            max_bytes=int(s.telemetry.history_max_mb * 1_000_000),  # i17tel: history size cap
        )
        self.activity = ActivityLog(self.bus, self.registry)  # i17tel: take-offs, alarms...
        await self.registry.load()
        await self.registry.ensure_workspace(
            WorkspaceRow(
                s.station.workspace_id,
                s.station.workspace_name,
                s.station.workspace_desc,
                s.station.platform_name,
                s.station.binding_code,
                now_ms(),
            )
        )
        self.users = Users(
            self.store,
            workspace_id=s.station.workspace_id,
            mqtt_secret=s.station.token_secret,  # issue 17 #5: MQTT passwords derive from it
            on_logins_changed=self._logins_changed,
        )
        await self.users.load(s.pilot.default_user, s.pilot.default_password)
        self.storage = await loop.run_in_executor(None, open_access, s, self.data_dir)
        self.tiles = TileStore(self.data_dir / "tiles")  # offline base maps (MBTiles)
        self.bus.subscribe(LogEntry, self._on_log_entry)
        self.commands = Commands(
            publish=self._publish,
            registry=self.registry,
            state_of=self.telemetry.current,
            store=self.store,
            bus=self.bus,
        )
        self.dispatcher = Dispatcher(
            bus=self.bus, registry=self.registry, commands=self.commands, publish=self._publish
        )
        self.capabilities = [factory(self) for factory in self._capability_factories]
        self.dispatcher.add(self.capabilities)
        for cap in self.capabilities:
            self.commands.declare(cap.commands())
        await self.commands.start()
        for cap in self.capabilities:
            await cap.start()

        if self.broker is not None and broker_started is not None:
            await broker_started
            self.write_broker_auth()
            url = BrokerUrl(
                self.broker.connect_host,
                self.broker.port or s.mqtt.port,
                STATION_MQTT_USER,
                self._station_password,
            )
        else:
            assert self.external_broker is not None
            url = self.external_broker

        # Issue 17 item 10: no random last resort; a fallback in use is announced.
        self.ntp = NtpServer(
            s.station.host,
            [s.ntp.port, s.ntp.fallback_port],
            on_notice=lambda text: self.bus.publish(LogEntry(now_ms(), "ntp", "warning", text)),
        )
        await self.ntp.start()

        self.link = MqttLink(
            url,
            client_id=f"gcs-station-{s.station.workspace_id[:8]}",
            subscriptions=station_subscriptions(),
            on_message=self.dispatcher.on_message,
            on_reject=self.dispatcher.on_reject,
            on_state=self._on_link_state,
        )
        await self.link.start()
        self._tasks = [
            spawn(self.telemetry.run_writer(), name="telemetry-writer"),
            spawn(self._watchdog(), name="offline-watchdog"),
        ]
        self.started_at = time.monotonic()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        for cap in reversed(self.capabilities):
            try:
                await cap.stop()
            except Exception:
                log.exception("stopping capability %s failed", cap.name)
        if hasattr(self, "commands"):
            await self.commands.stop()
        if self.link is not None:
            await self.link.stop()
        if self.ntp is not None:
            self.ntp.stop()
        if self.tiles is not None:
            self.tiles.close()
            self.tiles = None
        if self.broker is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.broker.stop)
        if self.store is not None:
            try:
                if not hasattr(self, "telemetry"):
                    return
                await self.telemetry.flush()
                await self.registry.flush_last_seen()
                await self._flush_log()
            except Exception as exc:
                if not self._disk_full.report(exc):  # issue 17 #8: no traceback at shutdown
                    raise
            finally:
                self.store.close()
                self.store = None

    # -- addresses -----------------------------------------------------------------------

    @property
    def public_host(self) -> str:
        return netinfo.public_host(self.settings)

    @property
    def mqtt_port(self) -> int:
        if self.broker is not None and self.broker.port:
            return self.broker.port
        if self.external_broker is not None:
            return self.external_broker.port
        return self.settings.mqtt.port

    @property
    def mqtt_host(self) -> str:
        if self.external_broker is not None:
            return self.external_broker.host
        return self.public_host

    def endpoints(self) -> list[Endpoint]:
        out = [Endpoint("mqtt", f"tcp://{self.mqtt_host}:{self.mqtt_port}")]
        if self.ntp is not None and self.ntp.port is not None:
            out.append(Endpoint("ntp", f"udp://{self.public_host}:{self.ntp.port}"))
        return out

    def write_broker_auth(self) -> None:
        """Write the embedded broker's logins (station, device login, pilots) and topology.

        Password hashes are computed once per login and reused, so rewriting the file for a
        topology change does not look like a changed login to the broker (which would
        disconnect that login's clients).
        """
        s = self.settings
        wanted: list[tuple[str, str, Role, str | None]] = [
            (STATION_MQTT_USER, self._station_password, "station", None),
            (s.mqtt.device_username, s.mqtt.device_password, "device", None),
            *dock_logins.broker_logins(s),
        ]
        users = []
        for username, password, role, gateway in wanted:
            key = (username, password, role, gateway)
            hashed = self._hashed_logins.get(key)
            if hashed is None:
                hashed = self._hashed_logins[key] = hash_password(password)
            users.append(User(username, hashed, role, gateway))
        users.extend(self.extra_broker_users())  # issue 17 #5: already verifiers
        gateways: dict[str, list[str]] = {}
        docks: list[str] = []  # a Pilot login never speaks for one of these
        if hasattr(self, "registry"):
            for gw in self.registry.gateways():
                gateways[gw.sn] = list(gw.sub_devices)
                if gw.domain == 3:  # Domain.DOCK
                    docks.append(gw.sn)
        signature = repr((users, sorted(gateways.items()), docks))
        if signature == self._auth_signature:
            return
        AuthFile.write(self.data_dir / AUTH_FILE_NAME, users, gateways, docks)
        self._auth_signature = signature

    def extra_broker_users(self) -> list[User]:
        """More logins, password already hashed: each Pilot user's MQTT login."""
        return self.users.broker_users() if self.users is not None else []

    def _logins_changed(self) -> None:
        if self.broker is not None:
            self.write_broker_auth()

    # -- capabilities and commands --------------------------------------------------------

    def capability[C: Capability](self, kind: type[C]) -> C:
        """The running capability of that class. Raises LookupError if it is not composed."""
        for cap in self.capabilities:
            if isinstance(cap, kind):
                return cap
        raise LookupError(f"the station runs no {kind.__name__} capability")

    def _publish(self, message: Message | None, qos: int = replies.REPLY_QOS) -> None:
        if message is not None and self.link is not None:
            self.link.publish(message, qos)

    def _on_link_state(self, connected: bool, detail: str) -> None:
        self.bus.publish(LinkStateChanged(now_ms(), connected, detail))
        self.bus.publish(
            LogEntry(now_ms(), "broker", "info" if connected else "warning", f"MQTT link {detail}")
        )

    def connection_info(self) -> ConnectionInfo:
        s = self.settings
        return ConnectionInfo(
            public_host=self.public_host,
            mqtt_host=self.mqtt_host,
            external_broker=self.external_broker is not None,
            device_username=s.mqtt.device_username,
            device_password=s.mqtt.device_password,
            workspace_id=s.station.workspace_id,
            binding_code=s.station.binding_code,
            dji_app_id=s.dji.app_id,
            dji_app_key=s.dji.app_key,
            dji_app_license=s.dji.app_license,
        )

    def settings_snapshot(self) -> Settings:
        """A copy of the settings in force (front ends edit copies, never these)."""
        return copy.deepcopy(self.settings)

    async def save_settings(self, new: Settings) -> list[str]:
        """Write `new` to gcs.toml (keeping keys the station does not know) and apply the
        settings that apply live. Returns "section.name" of each changed setting that needs a
        restart. Raises OSError/SettingsError when the file cannot be written."""
        old = self.settings
        changed = [
            (section.name, f.name)
            for section in dataclasses.fields(new)
            for f in dataclasses.fields(getattr(new, section.name))
            if getattr(getattr(new, section.name), f.name)
            != getattr(getattr(old, section.name), f.name)
        ]
        await asyncio.get_running_loop().run_in_executor(
            None, write_settings_keeping_extra, self.data_dir, new
        )
        for section, name in changed:
            if (section, name) in LIVE_SETTINGS:
                setattr(getattr(self.settings, section), name, getattr(getattr(new, section), name))
        restart = [f"{sec}.{name}" for sec, name in changed if (sec, name) not in LIVE_SETTINGS]
        if changed:
            self.bus.publish(
                LogEntry(
                    now_ms(),
                    "settings",
                    "info",
                    "settings saved: " + ", ".join(f"{a}.{b}" for a, b in changed),
                )
            )
        return restart

    @staticmethod
    def now_ms() -> int:
        return now_ms()

    def topology_changed(self) -> None:
        """A gateway's aircraft list changed: the embedded broker's topology file follows."""
        if self.broker is not None:
            self.write_broker_auth()

    @property
    def rejected(self) -> int:
        return self.dispatcher.rejected if self.dispatcher is not None else 0

    async def sts_for(self, prefix: str, *, read_only: bool = False) -> dict[str, Any]:
        """The DJI STS object for uploads under `prefix` (see `gcs.station.uploads`)."""
        return await self.capability(Uploads).sts_for(prefix, read_only=read_only)

    async def recent_events(self, limit: int = 500) -> list[h.EventRow]:
        """The stored events log (entries of the last second may still be queued)."""
        if self.store is None:
            return []
        return await self.store.call(h.recent_events, limit)

    def pilot_mqtt_login(self, username: str, password: str) -> tuple[str, str]:
        """The MQTT login handed to Pilot's `thing` module for a user whose own MQTT login is
        (username, password). An external broker knows only the logins its operator set up
        (see broker/README.md), so there Pilot gets the device login."""
        if self.external_broker is not None:
            return self.settings.mqtt.device_username, self.settings.mqtt.device_password
        return username, password

    # -- background ----------------------------------------------------------------------

    def _on_log_entry(self, entry: LogEntry) -> None:
        self._pending_log.append(
            h.EventRow(entry.ts, entry.kind, entry.message, entry.sn, entry.level)
        )

    async def _flush_log(self) -> None:
        if self._pending_log and self.store is not None:
            batch, self._pending_log = self._pending_log, []
            await self.store.call(h.insert_events, batch)
            self._disk_full.resolved()

    async def _supervise_broker(self) -> None:
        """Restart the embedded broker if its process died (devices and the link reconnect)."""
        broker = self.broker
        if broker is None or broker.alive:
            return
        tail = broker.error_tail(5)
        log.error("the embedded broker stopped unexpectedly; restarting it. Last output: %s", tail)
        self.bus.publish(
            LogEntry(now_ms(), "broker", "error", "embedded MQTT broker stopped; restarting it")
        )
        self._auth_signature = ""
        self.write_broker_auth()
        await asyncio.get_running_loop().run_in_executor(None, broker.restart)
        self.bus.publish(LogEntry(now_ms(), "broker", "info", "embedded MQTT broker restarted"))

    async def _watchdog(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(1.0)
            ticks += 1
            try:
                await self._supervise_broker()
                self.registry.expire()
                await self._flush_log()
                if ticks % 10 == 0:
                    await self.registry.flush_last_seen()
            except Exception as exc:
                if not self._disk_full.report(exc):
                    log.exception("watchdog pass failed")
