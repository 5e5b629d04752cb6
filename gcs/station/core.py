"""The station: one object composing broker, MQTT link, NTP, registry and telemetry.

`Station(settings, data_dir).start()` brings everything up in order (database, broker, NTP, MQTT
link, background jobs); `stop()` takes it down in reverse. The same object serves `gcs serve`,
the desktop app (on its own thread and loop) and the tests.

Inbound dispatch follows the reply rules of `gcs.protocol.replies`: `status` and `requests`
are always answered (a refused request with a non-zero result), `events`/`state` when they ask
for it (de-duplicated on tid: DJI devices re-send until answered). Malformed messages are logged
once each with the reason, announced as `MessageRejected`, and answered with an error when they
were requests we could identify.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broker import AUTH_FILE_NAME, AuthFile, BrokerProcess, User, hash_password
from broker.auth import Role
from gcs.aio import spawn
from gcs.link import BrokerUrl, MqttLink
from gcs.protocol import replies
from gcs.protocol.envelope import DecodeError, Message
from gcs.protocol.errors import StationCode
from gcs.protocol.onboarding import (
    ConfigFields,
    PayloadError,
    parse_config_request,
    parse_update_topo,
)
from gcs.protocol.topics import TopicKind, station_subscriptions
from gcs.station import netinfo
from gcs.station.activity import ActivityLog
from gcs.station.bus import (
    DeviceEvent,
    EventBus,
    LinkStateChanged,
    LogEntry,
    MessageRejected,
    ServiceReplied,
)
from gcs.station.devices import DeviceRegistry, RequestRefused
from gcs.station.ntp import NtpServer
from gcs.station.storage import (
    ExternalStoreError,
    ScopeError,
    StorageAccess,
    open_access,
    sts_grant,
)
from gcs.station.telemetry import Telemetry
from gcs.station.tiles import TileStore
from gcs.station.users import Users
from gcs.store import history as h
from gcs.store.db import Store, open_store
from gcs.store.devices import WorkspaceRow
from gcs.store.settings import Settings

log = logging.getLogger(__name__)

RequestHandler = Callable[[Message], Awaitable[dict[str, Any]]]
STATION_MQTT_USER = "gcs-station"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    url: str


class _SeenTids:
    """Bounded memory of recently answered (sn, tid) pairs, for idempotent re-sends."""

    def __init__(self, size: int = 8192) -> None:
        self._order: collections.deque[tuple[str, str]] = collections.deque(maxlen=size)
        self._set: set[tuple[str, str]] = set()

    def add(self, key: tuple[str, str]) -> bool:
        """Remember `key`; False if it was already there."""
        if key in self._set:
            return False
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(key)
        self._set.add(key)
        return True


class Station:
    """The headless station. Usable after `await start()` until `await stop()`."""

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        *,
        external_broker: str | None = None,
    ) -> None:
        self.settings = settings
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
        self.request_handlers: dict[str, RequestHandler] = {}
        self._events_seen = _SeenTids()
        self._state_seen = _SeenTids()
        self._tasks: list[asyncio.Task[Any]] = []
        self._pending_log: list[h.EventRow] = []
        self._station_password = secrets.token_urlsafe(24)
        self._hashed_logins: dict[tuple[str, str, Role, str | None], str] = {}
        self._auth_signature = ""
        self.rejected = 0
        self.started_at: float | None = None

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
            self.store, workspace_id=s.station.workspace_id, on_logins_changed=self._logins_changed
        )
        await self.users.load(s.pilot.default_user, s.pilot.default_password)
        self.storage = await loop.run_in_executor(None, open_access, s, self.data_dir)
        self.tiles = TileStore(self.data_dir / "tiles")  # offline base maps (MBTiles)
        self.bus.subscribe(LogEntry, self._on_log_entry)
        self._register_requests()

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

        self.ntp = NtpServer(s.station.host, [s.ntp.port, s.ntp.fallback_port, 0])
        await self.ntp.start()

        self.link = MqttLink(
            url,
            client_id=f"gcs-station-{s.station.workspace_id[:8]}",
            subscriptions=station_subscriptions(),
            on_message=self._on_message,
            on_reject=self._on_reject,
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
            *self.extra_broker_logins(),
        ]
        users = []
        for username, password, role, gateway in wanted:
            key = (username, password, role, gateway)
            hashed = self._hashed_logins.get(key)
            if hashed is None:
                hashed = self._hashed_logins[key] = hash_password(password)
            users.append(User(username, hashed, role, gateway))
        gateways: dict[str, list[str]] = {}
        if hasattr(self, "registry"):
            for gw in self.registry.gateways():
                gateways[gw.sn] = list(gw.sub_devices)
        signature = repr((users, sorted(gateways.items())))
        if signature == self._auth_signature:
            return
        AuthFile.write(self.data_dir / AUTH_FILE_NAME, users, gateways)
        self._auth_signature = signature

    def extra_broker_logins(self) -> list[tuple[str, str, Role, str | None]]:
        """More logins as (username, password, role, gateway): each Pilot user's MQTT login."""
        return self.users.broker_logins() if self.users is not None else []

    def _logins_changed(self) -> None:
        if self.broker is not None:
            self.write_broker_auth()

    # -- dispatch ------------------------------------------------------------------------

    def _register_requests(self) -> None:
        self.request_handlers.setdefault("config", self._req_config)
        self.request_handlers.setdefault("airport_bind_status", self._req_bind_status)
        self.request_handlers.setdefault("airport_organization_get", self._req_org_get)
        self.request_handlers.setdefault("airport_organization_bind", self._req_org_bind)
        self.request_handlers.setdefault("storage_config_get", self._req_storage_config)

    def _publish(self, message: Message | None, qos: int = replies.REPLY_QOS) -> None:
        if message is not None and self.link is not None:
            self.link.publish(message, qos)

    def _on_message(self, msg: Message) -> None:
        kind = msg.kind
        if kind in (TopicKind.OSD, TopicKind.STATE):
            self._on_property(msg)
        elif kind is TopicKind.STATUS:
            spawn(self._on_status(msg), name=f"update_topo:{msg.sn}")
        elif kind is TopicKind.REQUESTS:
            self.registry.seen(msg.sn)
            spawn(self._on_request(msg), name=f"request:{msg.method}:{msg.sn}")
        elif kind is TopicKind.EVENTS:
            self._on_event(msg)
        elif kind in (TopicKind.SERVICES_REPLY, TopicKind.PROPERTY_SET_REPLY):
            self.registry.seen(msg.sn)
            data = msg.data if isinstance(msg.data, dict) else {}
            result = data.get("result", 0)
            self.bus.publish(
                ServiceReplied(
                    now_ms(),
                    msg.sn,
                    msg.method or "property/set",
                    result if isinstance(result, int) else -1,
                )
            )

    def _on_reject(self, topic: str, exc: DecodeError) -> None:
        self.rejected += 1
        log.warning("rejected message on %s: %s", topic, exc)
        self.bus.publish(MessageRejected(now_ms(), topic, str(exc)))
        partial = exc.reply_to
        if partial is not None:
            self._publish(
                replies.default_reply(
                    partial, now_ms=now_ms(), result=StationCode.INVALID_PARAMETER
                )
            )

    def _on_link_state(self, connected: bool, detail: str) -> None:
        self.bus.publish(LinkStateChanged(now_ms(), connected, detail))
        self.bus.publish(
            LogEntry(now_ms(), "broker", "info" if connected else "warning", f"MQTT link {detail}")
        )

    def _on_property(self, msg: Message) -> None:
        sn = msg.sn
        gateway = msg.gateway_sn
        self.registry.seen(gateway)
        if gateway != sn:
            self.registry.seen(sn)
        if msg.kind is TopicKind.STATE:
            if msg.need_reply:
                self._publish(replies.state_reply(msg, now_ms=now_ms()))
                if not self._state_seen.add((sn, msg.tid)):
                    return  # a re-send we already merged
            version = msg.data.get("firmware_version")
            if isinstance(version, str) and version:
                spawn(self.registry.set_firmware(sn, version), name=f"firmware:{sn}")
        self.telemetry.ingest(sn, gateway, msg.kind.value, msg.data, msg.timestamp or now_ms())

    async def _on_status(self, msg: Message) -> None:
        result = 0
        try:
            if msg.method == "update_topo":
                topo = parse_update_topo(msg.data)
                await self.registry.update_topo(msg.sn, topo)
                if self.broker is not None:
                    self.write_broker_auth()
            else:
                result = StationCode.NOT_SUPPORTED
        except (PayloadError, RequestRefused) as exc:
            result = exc.code if isinstance(exc, RequestRefused) else StationCode.INVALID_PARAMETER
            log.warning("update_topo from %s refused: %s", msg.sn, exc)
            self.bus.publish(LogEntry(now_ms(), "error", "warning", str(exc), msg.sn))
        except Exception:
            result = StationCode.INTERNAL_ERROR
            log.exception("update_topo from %s failed", msg.sn)
        self._publish(replies.status_reply(msg, now_ms=now_ms(), result=result))

    async def _on_request(self, msg: Message) -> None:
        method = msg.method or ""
        handler = self.request_handlers.get(method)
        if handler is None:
            log.info("request %s from %s is not supported", method, msg.sn)
            self._publish(
                replies.requests_reply(msg, now_ms=now_ms(), result=StationCode.NOT_SUPPORTED)
            )
            return
        try:
            output = await handler(msg)
        except (PayloadError, RequestRefused) as exc:
            code = exc.code if isinstance(exc, RequestRefused) else StationCode.INVALID_PARAMETER
            log.warning("request %s from %s refused: %s", method, msg.sn, exc)
            self.bus.publish(LogEntry(now_ms(), "error", "warning", f"{method}: {exc}", msg.sn))
            self._publish(replies.requests_reply(msg, now_ms=now_ms(), result=code))
            return
        except Exception:
            log.exception("request %s from %s failed", method, msg.sn)
            self._publish(
                replies.requests_reply(msg, now_ms=now_ms(), result=StationCode.INTERNAL_ERROR)
            )
            return
        if method == "config":
            self._publish(replies.config_reply(msg, output, now_ms=now_ms()))
        else:
            self._publish(replies.requests_reply(msg, now_ms=now_ms(), output=output))

    def _on_event(self, msg: Message) -> None:
        self.registry.seen(msg.gateway_sn)
        if msg.need_reply:
            self._publish(replies.events_reply(msg, now_ms=now_ms()))
        if msg.tid and not self._events_seen.add((msg.sn, msg.tid)):
            return  # re-sent because our reply was late or lost
        self.bus.publish(
            DeviceEvent(now_ms(), msg.gateway_sn, msg.sn, msg.method or "", msg.bid, msg.data)
        )

    # -- request handlers ----------------------------------------------------------------

    async def _req_config(self, msg: Message) -> dict[str, Any]:
        parse_config_request(msg.data)
        s = self.settings
        return ConfigFields(
            ntp_server_host=self.public_host,
            ntp_server_port=self.ntp.port if self.ntp and self.ntp.port else 123,
            app_id=s.dji.app_id,
            app_key=s.dji.app_key,
            app_license=s.dji.app_license,
        ).to_data()

    async def _req_bind_status(self, msg: Message) -> dict[str, Any]:
        return self.registry.bind_status(msg.data)

    async def _req_org_get(self, msg: Message) -> dict[str, Any]:
        return self.registry.organization_get(msg.data)

    async def _req_org_bind(self, msg: Message) -> dict[str, Any]:
        return await self.registry.organization_bind(msg.sn, msg.data)

    async def _req_storage_config(self, msg: Message) -> dict[str, Any]:
        """Temporary upload credentials (§6): module 0 media, 1 PSDK UI resources.

        Each gateway gets its own key folder, so a dock can neither read nor overwrite another
        dock's uploads.
        """
        data = msg.data if isinstance(msg.data, dict) else {}
        module = data.get("module", 0)
        folder = {0: "media", 1: "psdk"}.get(module if isinstance(module, int) else -1)
        if folder is None:
            raise RequestRefused(
                StationCode.INVALID_PARAMETER, f"unknown storage module {module!r}"
            )
        grant = await self.sts_for(f"{folder}/{msg.sn}/")
        return grant

    async def sts_for(self, prefix: str, *, read_only: bool = False) -> dict[str, Any]:
        """The DJI STS object for uploads under `prefix` (devices' storage_config_get, Pilot's
        /sts). Raises RequestRefused when the store cannot issue credentials."""
        if self.storage is None:
            raise RequestRefused(StationCode.INTERNAL_ERROR, "object storage is not available")
        try:
            grant = await sts_grant(
                self.storage,
                prefix=prefix,
                ttl_s=self.settings.storage.sts_ttl_s,
                read_only=read_only,
            )
        except (ScopeError, ExternalStoreError) as exc:
            raise RequestRefused(
                StationCode.INTERNAL_ERROR, f"no storage credentials: {exc}"
            ) from exc
        return grant.to_dji()

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
            except Exception:
                log.exception("watchdog pass failed")
