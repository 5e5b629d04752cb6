"""The embedded broker: amqtt 0.12.1 with the station's auth/ACL and bounded delivery queues.

Theory of operation
-------------------
`GcsBroker` is amqtt's `Broker` with some of its private steps replaced (amqtt is pinned to
0.12.1 in pyproject; a new amqtt release needs this module re-checked):

* MQTT 5: amqtt speaks 3.1.1 only; a connection whose CONNECT says level 5 gets a
  `broker.mqtt5.Mqtt5Translator` between the socket and amqtt (see that module for what an
  MQTT 5 client gets and does not get).
* `_initialize_client_session`: the login is checked *before* the client id is looked up, so a
  refused client can neither wipe nor take over the session of the device whose id it claims
  (amqtt deletes a clean session's namesake before authenticating). A connection that reuses a
  connected client id closes the older connection (MQTT-3.1.4-2), which amqtt forgets to do for
  clean sessions -- unless the identity rules refuse it (`_takeover_refusal`: another login may
  not take a live device's place). Each connection is then bound to the serial it speaks for
  (`broker.plugin.Binding`; its login's gateway, else its client id tentatively, else the first
  gateway topic it publishes on).
* Refusals (take-overs, publishes, subscriptions, update_topo claims, oversized packets,
  stalled sessions, wrong passwords) are logged and handed to `on_event` (`report`), which the
  broker child prints for the station.
* Reading: a client's packets are not read while more than 64 KB wait to be written to it (it
  does not read its PUBACKs or deliveries); `sweep_stalled` disconnects a device session that
  stays over its bound; a fixed header announcing more than `max_packet_size` closes the
  connection before the body is read.
* `_handle_message_delivery`: each PUBLISH is checked against the per-gateway ACL, an
  ``update_topo`` on a gateway's status topic teaches the ACL that gateway's sub-devices
  synchronously (before the next packet of that gateway is looked at), and the message carries
  its QoS so delivery uses min(publish QoS, subscription QoS) as MQTT requires (amqtt upgrades
  every message to the subscription's QoS).
* `_run_broadcast`: amqtt starts one task per message per subscriber and keeps them in one
  deque that it only trims from the front, so a subscriber that stops reading makes memory grow
  without limit. Here each session counts its deliveries in progress; beyond
  ``max_queued_messages`` new messages for that session are dropped (any QoS, like mosquitto's
  ``max_queued_messages``) and counted. Messages kept for an offline persistent session are
  bounded the same way (oldest dropped first).
* DISCONNECT: messages a client published right before its DISCONNECT (or before its
  connection closed) are delivered, in order (amqtt dropped those still queued).
* Messages kept for an offline persistent session go out with the retain flag clear (amqtt
  flagged them as retained).
* Keep-alive: amqtt never disconnects a silent client. Here a client that sends nothing for
  1.5 x its keep-alive is disconnected, which publishes its will.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from amqtt.adapters import ReaderAdapter, StreamReaderAdapter, StreamWriterAdapter, WriterAdapter
from amqtt.broker import Broker, RetainedApplicationMessage, Server
from amqtt.errors import AMQTTError, BrokerError, MQTTError, NoDataError
from amqtt.mqtt.connack import (
    BAD_USERNAME_PASSWORD,
    IDENTIFIER_REJECTED,
    NOT_AUTHORIZED,
    ConnackPacket,
)
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.session import Session
from amqtt.utils import gen_client_id

from broker.auth import AuthFile, User, topic_matches, update_topo_domain
from broker.limits import (
    DEFAULT_IDLE_TAKEOVER,
    DEFAULT_MAX_PACKET,
    DEFAULT_MAX_QUEUED,
    DEFAULT_STALL_TIMEOUT,
)
from broker.mqtt5 import Mqtt5Error, Mqtt5Translator, connect_to_v311, encode_varint
from broker.plugin import USER_KEY, Binding, GcsAccessPlugin
from gcs.aio import spawn

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_QUEUED", "BrokerError", "GcsBroker", "broker_config", "serve"]

PENDING_KEY = "gcs.pending"  # session.attributes: deliveries in progress for this session
PREAUTH_KEY = "gcs.authenticated"
MQTT5_KEY = "gcs.mqtt5"  # session.attributes: the connection's Mqtt5Translator, or None
KEEPALIVE_FACTOR = 1.5
_DROP_LOG_INTERVAL = 5.0
SHUTDOWN_TIMEOUT = 4.0
DISCONNECT_DRAIN_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0  # seconds a new connection has to send its CONNECT
MAX_CONNECT_SIZE = 64 * 1024  # before authentication, nobody makes the broker buffer more
INCOMING_BACKLOG = 200  # messages read from one client (and broker-wide) before reading pauses
WRITE_HIGH_WATER = 64 * 1024  # bytes queued for a client before its writer waits
REPORT_INTERVAL = 5.0  # the same refusal of the same client is reported at most this often

EventSink = Callable[[dict[str, Any]], None]


class PacketTooLarge(Exception):
    """A client announced a packet larger than the broker's maximum packet size."""


class GcsBroker(Broker):  # type: ignore[misc]
    """amqtt broker with the station's access rules and bounded per-session queues."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        max_queued_messages: int,
        max_packet_size: int = DEFAULT_MAX_PACKET,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        idle_takeover: float = DEFAULT_IDLE_TAKEOVER,
        on_event: EventSink | None = None,
    ) -> None:
        super().__init__(config)
        if max_queued_messages < 1:
            raise ValueError("max_queued_messages must be at least 1")
        if max_packet_size < MAX_CONNECT_SIZE:
            raise ValueError(f"max_packet_size must be at least {MAX_CONNECT_SIZE}")
        self.max_queued_messages = max_queued_messages
        self.max_packet_size = max_packet_size
        self.stall_timeout = stall_timeout
        self.idle_takeover = idle_takeover
        self.on_event = on_event
        self.dropped_sessions = 0
        self._reported: dict[tuple[str, str], tuple[float, int]] = {}
        plugin = self.plugins_manager.get_plugin(GcsAccessPlugin.__name__)
        if not isinstance(plugin, GcsAccessPlugin):
            raise RuntimeError("GcsAccessPlugin is not loaded")
        self.access: GcsAccessPlugin = plugin
        plugin.reporter = self.report
        # Bounded: a publisher faster than delivery waits here instead of filling memory.
        self._broadcast_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(INCOMING_BACKLOG)
        self.dropped_messages = 0
        self.refused_publishes = 0
        self._deliveries: set[asyncio.Task[None]] = set()
        self._last_drop_log = 0.0

    # -- listening address

    def bound_port(self, listener: str = "default") -> int:
        """Return the TCP port the listener is bound to (useful after asking for port 0)."""
        server: Server = self._servers[listener]
        sockets = server.instance.sockets if server.instance else ()
        if not sockets:
            raise RuntimeError(f"listener {listener!r} is not bound")
        return int(sockets[0].getsockname()[1])

    # -- refusals reported to the station

    def report(
        self,
        event: str,
        level: str,
        message: str,
        *,
        session: Session | None = None,
        key: str | None = None,
        **fields: Any,
    ) -> None:
        """Log a refusal and hand it to `on_event` (the station shows it to the operator).

        The same event for the same client (or `key`) is passed on at most every
        `REPORT_INTERVAL` seconds; the next one carries how many were held back (`repeats`).
        """
        client_id = session.client_id if session is not None else None
        username = session.username if session is not None else None
        ident = key or client_id or "?"
        now = time.monotonic()
        last, held_back = self._reported.get((event, ident), (-math.inf, 0))
        if now - last < REPORT_INTERVAL:
            self._reported[(event, ident)] = (last, held_back + 1)
            return
        if len(self._reported) > 10_000:
            self._reported.clear()
        self._reported[(event, ident)] = (now, 0)
        who = f"{client_id or '?'} (login {username or '?'})"
        more = f" [+{held_back} more]" if held_back else ""
        log.log(
            logging.ERROR if level == "error" else logging.WARNING,
            "%s: %s: %s%s",
            event,
            who,
            message,
            more,
        )
        if self.on_event is None:
            return
        document: dict[str, Any] = {
            "event": event,
            "level": level,
            "message": message,
            "client_id": client_id,
            "username": username,
            "repeats": held_back,
        }
        document.update({k: v for k, v in fields.items() if v is not None})
        if session is not None and "remote" not in document:
            document["remote"] = session.remote_address
        try:
            self.on_event(document)
        except Exception:  # reporting must never break the broker
            log.exception("reporting %s failed", event)

    # -- identity: who may speak for which serial

    def _takeover_refusal(self, session: Session, user: User | None) -> str | None:
        """Why a new connection may not take over the connected session with its client id.

        Allowed: the station; a per-device login taking over a session speaking for its own
        gateway; the same login reconnecting where the old session speaks for no serial; any
        login when the old connection has been silent for `idle_takeover` seconds (a
        half-open connection after a network cut). Refused otherwise: a shared or Pilot login
        must not kick a live dock off by reusing its client id.
        """
        if user is None or user.role == "station" or not session.client_id:
            return None
        existing = self._sessions.get(session.client_id)
        if existing is None or existing[0].transitions.state != "connected":
            return None
        old = self.access.binding(existing[0])
        old_user = self.access.user_of(existing[0])
        if old is None or old_user is None:
            return None
        if user.gateway is not None and old.gateway == user.gateway:
            return None
        if old.gateway is None and old_user.username == user.username:
            return None
        if time.monotonic() - old.last_heard >= self.idle_takeover:
            return None
        return (
            f"client id {session.client_id} is in use by a live connection of login "
            f"{old_user.username!r} speaking for {old.gateway or 'no device yet'}"
        )

    def _note_takeover(self, session: Session, user: User | None) -> None:
        """A connection takes over the client id of a connected session: release the old
        binding, and raise an alarm when the new connection is another login."""
        existing = self._sessions.get(session.client_id) if session.client_id else None
        if existing is None or existing[0].transitions.state != "connected":
            return
        old = self.access.binding(existing[0])
        if old is None:
            return
        self.access.unbind(old)
        old_user = self.access.user_of(existing[0])
        if user is not None and old_user is not None and old_user.username != user.username:
            self.report(
                "takeover",
                "warning",
                f"login {user.username!r} took over client id {session.client_id}"
                f" from login {old_user.username!r} ({old.gateway or 'no device'})",
                session=session,
                sn=old.gateway,
                kind="security",
            )

    async def _evict_other_holders(self, binding: Binding, previous: list[object]) -> None:
        """A per-device login connected while other logins' connections spoke for its gateway:
        the login bound to the serial wins; those connections are closed and reported. (More
        connections of that same login may coexist: a dock's main and DRC connections.)"""
        for other_binding in previous:
            if isinstance(other_binding, Binding) and other_binding is not binding:
                await self._evict(binding, other_binding)

    async def _evict(self, binding: Binding, previous: Binding) -> None:
        if previous.session is binding.session:
            return
        other = self.access.user_of(previous.session)
        mine = self.access.user_of(binding.session)
        if other is not None and mine is not None and other.username == mine.username:
            return
        self.access.unbind(previous)
        handler = self._get_handler(previous.session)
        if handler is None or handler.session is not previous.session:
            return
        if other is not None and mine is not None:
            self.report(
                "takeover",
                "warning",
                f"{binding.gateway}'s own login connected: closing the connection of login "
                f"{other.username!r} (client id {previous.session.client_id}) that spoke for it",
                session=binding.session,
                sn=binding.gateway,
                kind="security",
            )
        await self._close_connection(handler)

    # -- connection set-up

    async def _initialize_client_session(
        self, reader: ReaderAdapter, writer: WriterAdapter, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, Session]:
        translator: Mqtt5Translator | None = None
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                reader, translator = await _sniff_connect(reader)
                if translator is not None and isinstance(writer, StreamWriterAdapter):
                    writer = _CoalescingWriter(writer._writer, translator)
                handler, session = await BrokerProtocolHandler.init_from_connect(
                    reader, writer, self.plugins_manager
                )
        except MQTTError:
            await writer.close()
            raise
        except NoDataError as exc:
            raise AMQTTError(exc) from exc
        except TimeoutError as exc:
            await writer.close()
            raise AMQTTError(
                f"no CONNECT from {remote_address} within {CONNECT_TIMEOUT:.0f} s"
            ) from exc

        if not await self._authenticate(session, None):
            code = NOT_AUTHORIZED if not session.username else BAD_USERNAME_PASSWORD
            await ConnackPacket.build(0, code).to_stream(writer)
            await writer.close()
            raise MQTTError(f"login refused for client {session.client_id!r} from {remote_address}")
        session.attributes[PREAUTH_KEY] = True
        session.attributes[MQTT5_KEY] = translator

        user = self.access.user_of(session)
        refusal = self._takeover_refusal(session, user)
        if refusal is not None:
            await ConnackPacket.build(0, IDENTIFIER_REJECTED).to_stream(writer)
            await writer.close()
            self.report(
                "takeover_refused",
                "error",
                refusal,
                session=session,
                sn=session.client_id,
                kind="security",
            )
            raise MQTTError(f"take-over refused for client {session.client_id!r}")
        self._note_takeover(session, user)

        client_id = session.client_id
        existing = self._sessions.get(client_id) if client_id else None
        if session.clean_session:
            if existing is not None:
                await self._close_connection(existing[1])
                await self._delete_session(client_id)
            if not client_id:
                session.client_id = gen_client_id()
                if translator is not None:
                    translator.assigned_client_id = session.client_id
            session.parent = 0
        elif existing is not None:
            old = existing[0]
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain"):
                setattr(old, name, getattr(session, name))
            old.keep_alive = session.keep_alive
            old.username = session.username
            old.password = session.password
            old.attributes.update(session.attributes)
            session = old
            session.parent = 1
        else:
            session.parent = 0
        if session.keep_alive > 0:
            session.keep_alive = math.ceil(session.keep_alive * KEEPALIVE_FACTOR)
        previous = self.access.policy.holders(user.gateway) if user and user.gateway else []
        binding = self.access.bind_at_connect(session)
        await self._evict_other_holders(binding, previous)
        return handler, session

    async def _authenticate(self, session: Session, listener: Any) -> bool:
        if session.attributes.pop(PREAUTH_KEY, False):
            return True
        return bool(await super()._authenticate(session, listener))

    async def _session_monitor(self) -> None:
        while True:
            await self.clean_stale_sessions()
            await asyncio.sleep(1)

    async def clean_stale_sessions(self) -> None:
        """One pass of amqtt's clean-up of disconnected sessions, without its race: amqtt lists
        the client ids to clean, then cleans them one by one with awaits in between, by client
        id, so a client that reconnected with the same id meanwhile (a dock restarting) lost
        its new session and its subscriptions, and every message after (seen as a rare test
        failure). Here each clean-up first checks that the entry is still the disconnected
        session listed."""
        expiry = getattr(self.config, "session_expiry_interval", None)
        retain_after = None if expiry is None else math.floor(time.time() - expiry)
        stale = [
            (client_id, session)
            for client_id, (session, _handler) in self._sessions.items()
            if session.transitions.state == "disconnected"
            and (
                session.is_anonymous
                or session.clean_session
                or (
                    retain_after is not None
                    and session.last_disconnect_time
                    and session.last_disconnect_time < retain_after
                )
            )
        ]
        for client_id, session in stale:
            entry = self._sessions.get(client_id)
            if entry is None or entry[0] is not session:
                continue  # the client connected again meanwhile: its new session stays
            if session.transitions.state == "disconnected":
                await self._cleanup_session(client_id)

    async def _close_connection(self, handler: BrokerProtocolHandler) -> None:
        if handler.session is None or handler.session.transitions.state != "connected":
            return
        log.info(
            "client id %r connected again: closing its older connection", handler.session.client_id
        )
        await handler.handle_connection_closed()
        await handler.stop()

    async def _handle_client_session(
        self,
        reader: ReaderAdapter,
        writer: WriterAdapter,
        client_session: Session,
        handler: BrokerProtocolHandler,
        server: Server,
        listener_name: str,
    ) -> None:
        handler.handle_read_timeout = partial(_keepalive_expired, handler)
        handler.handle_disconnect = partial(
            _disconnect_after_backlog, handler, handler.handle_disconnect
        )
        binding = self.access.binding(client_session) or Binding(client_session)
        too_large = partial(self._packet_too_large, client_session)
        translator = client_session.attributes.get(MQTT5_KEY)
        if translator is not None and isinstance(reader, StreamReaderAdapter):
            reader = _Mqtt5Reader(
                reader._reader, translator, max_packet=self.max_packet_size, on_too_large=too_large
            )
        if isinstance(writer, StreamWriterAdapter):
            writer = _CoalescingWriter(writer._writer, translator)
        gated = _GatedReader(
            reader,
            client_session.delivered_message_queue,
            INCOMING_BACKLOG,
            binding=binding,
            writer=writer if isinstance(writer, _CoalescingWriter) else None,
            max_packet=self.max_packet_size,
            on_too_large=too_large,
        )
        try:
            await super()._handle_client_session(
                gated, writer, client_session, handler, server, listener_name
            )
        finally:
            self.access.unbind(binding)

    def _packet_too_large(self, session: Session, size: int) -> None:
        self.report(
            "packet_too_large",
            "warning",
            f"announced a packet of {size} bytes (at most {self.max_packet_size}): disconnected",
            session=session,
            size=size,
        )

    # -- incoming PUBLISH

    async def _handle_message_delivery(
        self,
        client_session: Session,
        handler: BrokerProtocolHandler,
        wait_deliver: asyncio.Future[Any],
    ) -> bool:
        return await self._accept_publish(client_session, wait_deliver.result())

    async def _handle_disconnect(
        self,
        client_session: Session,
        handler: BrokerProtocolHandler,
        disconnect_waiter: asyncio.Future[Any],
    ) -> None:
        # Whatever is still queued (see _disconnect_after_backlog) is accepted before the end.
        backlog = client_session.delivered_message_queue
        while not backlog.empty():
            if not await self._accept_publish(client_session, backlog.get_nowait()):
                break
        await super()._handle_disconnect(client_session, handler, disconnect_waiter)

    async def _accept_publish(self, client_session: Session, message: Any) -> bool:
        """Check, learn from, route and retain one received PUBLISH.

        Returns:
            False if the connection must be closed (invalid topic).
        """
        if message is None:
            return True
        topic = message.topic
        if not topic or "#" in topic or "+" in topic or topic.startswith("$"):
            log.warning(
                "%s published on invalid topic %r: closing", client_session.client_id, topic
            )
            return False
        if self.access.may_publish(client_session, topic):
            self.access.confirm(client_session, topic)
        else:
            reason = self.access.claim(client_session, topic)
            if reason is not None:
                self._refuse_publish(client_session, topic, reason)
                return True
        data = message.data
        parts = topic.split("/")
        if len(parts) == 4 and parts[0] == "sys" and parts[1] == "product" and parts[3] == "status":
            refusal = self._topology_refusal(client_session, parts[2], bytes(data))
            if refusal is not None:
                self.refused_publishes += 1
                self.report(
                    "topology_refused",
                    "error",
                    f"update_topo of {parts[2]} refused: {refusal}",
                    session=client_session,
                    sn=parts[2],
                    kind="security",
                )
                return True
            self.access.policy.learn_topology(parts[2], bytes(data))
        await self._broadcast_queue.put(
            {"session": client_session, "topic": topic, "data": data, "pub_qos": message.qos}
        )
        packet = message.publish_packet
        if packet is not None and packet.retain_flag:
            await self.retain_message(client_session, topic, data, message.qos)
        return True

    def _refuse_publish(self, session: Session, topic: str, reason: str) -> None:
        self.refused_publishes += 1
        binding = self.access.binding(session)
        user = self.access.user_of(session)
        serial = topic.split("/")[2] if topic.count("/") >= 3 else None
        # Trying to speak for a serial someone else holds is an identity matter, not a typo.
        security = (
            user is not None
            and user.role != "station"
            and serial is not None
            and (binding is None or serial != binding.gateway)
            and ("held" in reason or "bound" in reason or "dock" in reason)
        )
        self.report(
            "publish_refused",
            "error" if security else "warning",
            f"may not publish on {topic}: {reason}",
            session=session,
            topic=topic,
            sn=serial,
            kind="security" if security else "broker",
        )

    def _topology_refusal(self, session: Session, gateway: str, payload: bytes) -> str | None:
        """Why an update_topo must not be believed (None: learn it)."""
        user = self.access.user_of(session)
        if user is None or user.role == "station":
            return None
        if user.role == "pilot" and update_topo_domain(payload) == "3":
            return "a Pilot login says it is a dock"
        conflicts = self.access.policy.topology_conflicts(gateway, payload)
        return "; ".join(conflicts) if conflicts else None

    # -- outgoing PUBLISH

    async def _broadcast_loop(self) -> None:
        # One message after the other, without amqtt's extra task and wait per message.
        while True:
            try:
                await self._run_broadcast(None)
            except asyncio.CancelledError:
                raise
            except Exception:  # a routing bug must not stop all routing
                log.exception("routing a message failed")

    async def _run_broadcast(self, running_tasks: Any) -> None:
        broadcast = await self._broadcast_queue.get()
        topic: str = broadcast["topic"]
        data: bytes = broadcast["data"]
        pub_qos = broadcast.get("pub_qos", broadcast.get("qos"))
        qos0_packet: bytes | None = None
        for topic_filter, subscriptions in list(self._subscriptions.items()):
            if not topic_matches(topic_filter, topic):
                continue
            for target, sub_qos in list(subscriptions):
                qos = sub_qos if pub_qos is None else min(pub_qos, sub_qos)
                if not self.access.may_receive(target, topic):
                    continue
                if target.transitions.state != "connected":
                    self._keep_for_offline(broadcast, qos, target)
                    continue
                handler = self._get_handler(target)
                if handler is None:
                    continue
                pending = int(target.attributes.get(PENDING_KEY, 0))
                writer = handler.writer
                if (
                    qos == 0
                    and pending == 0
                    and isinstance(writer, _CoalescingWriter)
                    and not writer.is_closed
                    and writer.buffered() < WRITE_HIGH_WATER
                    and not handler._write_lock.locked()
                ):
                    # Fast path: nothing queued before it, so write it now, in order.
                    if qos0_packet is None:
                        qos0_packet = _qos0_publish(topic, data)
                    writer.write(qos0_packet)
                    continue
                if pending >= self.max_queued_messages:
                    self._dropped(target, topic)
                    continue
                target.attributes[PENDING_KEY] = pending + 1
                task = spawn(
                    self._deliver(target, handler, topic, data, qos),
                    name=f"deliver:{target.client_id}",
                )
                self._track(target, task)

    async def _deliver(
        self, target: Session, handler: BrokerProtocolHandler, topic: str, data: bytes, qos: int
    ) -> None:
        try:
            await handler.mqtt_publish(topic, data, qos, retain=False)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed delivery must never stop the broker
            # QoS 1/2 without an acknowledgement within 5 s, a closed connection, or amqtt's
            # ProtocolHandlerError when the delivery is cancelled at shutdown.
            log.debug("delivery to %s on %s failed: %r", target.client_id, topic, exc)
        finally:
            target.attributes[PENDING_KEY] = int(target.attributes.get(PENDING_KEY, 1)) - 1

    async def _publish_session_retained_messages(self, session: Session) -> None:
        # What a persistent session missed while offline, with the retain flag clear (amqtt
        # sent these as retained messages, which they are not).
        handler = self._get_handler(session)
        queue = session.retained_messages
        while handler is not None and not queue.empty():
            kept = queue.get_nowait()
            session.attributes[PENDING_KEY] = int(session.attributes.get(PENDING_KEY, 0)) + 1
            task = spawn(
                self._deliver(session, handler, kept.topic, kept.data, kept.qos or QOS_1),
                name=f"deliver-kept:{session.client_id}",
            )
            self._track(session, task)

    def _track(self, session: Session, task: asyncio.Task[None]) -> None:
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        binding = self.access.binding(session)
        if binding is not None:
            binding.deliveries.add(task)
            task.add_done_callback(binding.deliveries.discard)

    def _keep_for_offline(self, broadcast: dict[str, Any], qos: int, target: Session) -> None:
        if target.clean_session or target.is_anonymous or qos not in (QOS_1, QOS_2):
            return
        queue = target.retained_messages
        while queue.qsize() >= self.max_queued_messages:
            queue.get_nowait()
            self._dropped(target, broadcast["topic"])
        queue.put_nowait(
            RetainedApplicationMessage(
                broadcast["session"], broadcast["topic"], broadcast["data"], qos
            )
        )

    def _dropped(self, target: Session, topic: str) -> None:
        self.dropped_messages += 1
        now = time.monotonic()
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL:
            self._last_drop_log = now
            log.warning(
                "client %s is not reading: dropped a message on %s (%d dropped so far; bound %d)",
                target.client_id,
                topic,
                self.dropped_messages,
                self.max_queued_messages,
            )

    # -- sessions that stay over their bound

    def sweep_stalled(self) -> None:
        """Disconnect device and Pilot sessions whose outgoing queue stayed over its bound
        (a client that stopped reading) for `stall_timeout` seconds; their memory goes with
        them. Station sessions are only bounded (their messages dropped), never disconnected."""
        now = time.monotonic()
        for session, handler in list(self._sessions.values()):
            binding = self.access.binding(session)
            if binding is None or session.transitions.state != "connected":
                continue
            writer = handler.writer
            over = int(session.attributes.get(PENDING_KEY, 0)) >= self.max_queued_messages or (
                isinstance(writer, _CoalescingWriter) and writer.buffered() > WRITE_HIGH_WATER
            )
            if not over:
                binding.stalled_since = None
                continue
            if binding.stalled_since is None:
                binding.stalled_since = now
                continue
            user = self.access.user_of(session)
            if user is not None and user.role == "station":
                continue
            if now - binding.stalled_since < self.stall_timeout:
                continue
            self.dropped_sessions += 1
            self.report(
                "session_dropped",
                "warning",
                f"not reading for {now - binding.stalled_since:.0f} s with its queue over the "
                f"bound ({self.max_queued_messages} messages): disconnected",
                session=session,
                sn=binding.gateway,
            )
            binding.stalled_since = None
            self.access.unbind(binding)
            if isinstance(writer, StreamWriterAdapter):
                writer._writer.transport.abort()

    # -- auth file changes

    async def reload_auth(self) -> None:
        """Re-read the auth file if it changed and drop connections of changed or removed logins."""
        changed = set(self.access.reload())
        if not changed:
            return
        for session, handler in list(self._sessions.values()):
            user = session.attributes.get(USER_KEY)
            if getattr(user, "username", None) in changed:
                log.info("login %s changed: disconnecting %s", user.username, session.client_id)
                await self._close_connection(handler)

    async def shutdown(self) -> None:
        """Stop routing, cancel deliveries in progress and stop amqtt.

        Connections of clients that stopped reading are aborted first: amqtt would otherwise
        wait forever to flush them.
        """
        if self._broadcast_task is not None:
            self._broadcast_task.cancel()
        for task in list(self._deliveries):
            task.cancel()
        for _session, handler in list(self._sessions.values()):
            writer = handler.writer
            if isinstance(writer, StreamWriterAdapter):
                transport = writer._writer.transport
                if transport.get_write_buffer_size() > 0:
                    transport.abort()
        try:
            await asyncio.wait_for(super().shutdown(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            log.warning("broker shutdown took over %.0f s; exiting anyway", SHUTDOWN_TIMEOUT)


class _PrefixedReader(ReaderAdapter):  # type: ignore[misc]
    """Serves bytes already read from the stream first, then reads on."""

    def __init__(self, prefix: bytes, inner: ReaderAdapter) -> None:
        self._prefix = prefix
        self._inner = inner

    async def read(self, n: int = -1) -> bytes:
        if not self._prefix:
            return bytes(await self._inner.read(n))
        if n < 0:
            rest: bytes = await self._inner.read(n)
            data, self._prefix = self._prefix + rest, b""
            return data
        head, self._prefix = self._prefix[:n], self._prefix[n:]
        if len(head) < n:
            head += await self._inner.read(n - len(head))
        return head

    def feed_eof(self) -> None:
        self._inner.feed_eof()


async def _sniff_connect(
    reader: ReaderAdapter,
) -> tuple[ReaderAdapter, Mqtt5Translator | None]:
    """Look at the CONNECT: an MQTT 5 one is rewritten as MQTT 3.1.1 for amqtt.

    Returns:
        A reader that replays the CONNECT (translated if needed) for amqtt to parse, and the
        connection's translator (None for MQTT 3.1.1 clients).

    Raises:
        NoDataError: the connection closed before a whole CONNECT.
        MQTTError: a malformed MQTT 5 CONNECT.
    """
    try:
        seen = bytearray(await reader.read(1))
        length, multiplier = 0, 1
        for _ in range(4):  # remaining length: 1 to 4 bytes, high bit = more
            byte = await reader.read(1)
            seen += byte
            length += (byte[0] & 0x7F) * multiplier
            multiplier *= 128
            if not byte[0] & 0x80:
                break
        header_size = len(seen)
        if length > MAX_CONNECT_SIZE:
            raise MQTTError(f"CONNECT of {length} bytes refused (at most {MAX_CONNECT_SIZE})")
        seen += await reader.read(min(7, length))  # protocol name ("MQTT") and level
        if not (seen[0] == 0x10 and seen[-7:-1] == b"\x00\x04MQTT" and seen[-1] == 5):
            return _PrefixedReader(bytes(seen), reader), None
        body = bytes(seen[header_size:]) + await reader.read(length - 7)
    except (asyncio.IncompleteReadError, ConnectionError, IndexError) as exc:
        raise NoDataError(f"connection closed before a CONNECT: {exc!r}") from exc
    try:
        v311, info = connect_to_v311(body)
    except Mqtt5Error as exc:
        raise MQTTError(f"malformed MQTT 5 CONNECT: {exc}") from exc
    return _PrefixedReader(bytes([0x10]) + encode_varint(len(v311)) + v311, reader), (
        Mqtt5Translator(info)
    )


class _Mqtt5Reader(ReaderAdapter):  # type: ignore[misc]
    """Reads MQTT 5 packets from the client and serves their MQTT 3.1.1 form to amqtt."""

    def __init__(
        self,
        stream: asyncio.StreamReader,
        translator: Mqtt5Translator,
        *,
        max_packet: int = DEFAULT_MAX_PACKET,
        on_too_large: Callable[[int], None] | None = None,
    ) -> None:
        self._stream = stream
        self._translator = translator
        self._raw = bytearray()
        self._ready = bytearray()
        self._max_packet = max_packet
        self._on_too_large = on_too_large

    async def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._ready) < n:
            if not await self._translate_next():
                if n < 0:
                    break
                raise asyncio.IncompleteReadError(bytes(self._ready), n)
        size = len(self._ready) if n < 0 else n
        data = bytes(self._ready[:size])
        del self._ready[:size]
        return data

    async def _translate_next(self) -> bool:
        """Translate every whole packet buffered (reading more first if none); False at the end."""
        while True:
            position, produced = 0, False
            raw = self._raw
            while position + 2 <= len(raw):
                length, multiplier, cursor = 0, 1, position + 1
                while cursor < len(raw) and cursor - position <= 4:
                    byte = raw[cursor]
                    cursor += 1
                    length += (byte & 0x7F) * multiplier
                    multiplier *= 128
                    if not byte & 0x80:
                        break
                else:
                    break
                if length > self._max_packet:
                    if self._on_too_large is not None:
                        self._on_too_large(length)
                    raise PacketTooLarge(f"MQTT 5 packet of {length} bytes")
                if cursor + length > len(raw):
                    break
                try:
                    packet = self._translator.inbound(
                        raw[position], bytes(raw[cursor : cursor + length])
                    )
                except Mqtt5Error as exc:
                    log.warning("MQTT 5 client broke the protocol: %s; closing", exc)
                    return False
                if packet is None:  # DISCONNECT asking for the will: end as if dropped
                    return False
                self._ready += packet
                produced = True
                position = cursor + length
            del raw[:position]
            if produced:
                return True
            chunk = await self._stream.read(65536)
            if not chunk:
                return False
            raw += chunk

    def feed_eof(self) -> None:
        self._stream.feed_eof()


class _GatedReader(ReaderAdapter):  # type: ignore[misc]
    """Buffered reading that pauses while a client's received messages wait for the broker.

    amqtt reads each packet in several tiny `readexactly` calls; on a full asyncio buffer each
    one moves the whole buffer (up to 128 KB), so a fast publisher drops amqtt to ~800 msg/s.
    Reading 64 KB chunks into our own buffer avoids that. And amqtt queues every packet it
    reads without limit; pausing the read lets TCP flow control slow the publisher down
    instead (what mosquitto does).
    """

    def __init__(
        self,
        inner: ReaderAdapter,
        backlog: asyncio.Queue[Any],
        limit: int,
        *,
        binding: Binding | None = None,
        writer: _CoalescingWriter | None = None,
        max_packet: int = DEFAULT_MAX_PACKET,
        on_too_large: Callable[[int], None] | None = None,
    ) -> None:
        self._inner = inner
        self._stream: asyncio.StreamReader | None = (
            inner._reader if isinstance(inner, StreamReaderAdapter) else None
        )
        self._backlog = backlog
        self._limit = limit
        self._binding = binding
        self._writer = writer
        self._buffer = b""
        self._position = 0
        # Packet boundaries of the raw stream, to refuse an oversized packet from its header.
        self._max_packet = max_packet
        self._on_too_large = on_too_large
        self._skip = 0  # bytes of the current packet's body still to come
        self._header = bytearray()  # fixed header bytes of the next packet seen so far

    def _backed_up(self) -> bool:
        # A client that does not read its PUBACKs or deliveries is not read either: every
        # packet read from it makes a task that waits to write to it (amqtt), so reading on
        # would fill memory. TCP flow control slows it instead.
        writer = self._writer
        return writer is not None and not writer.is_closed and writer.buffered() > WRITE_HIGH_WATER

    def _scan(self, chunk: bytes) -> None:
        """Follow packet boundaries through `chunk`; raise `PacketTooLarge` on a big header."""
        position, size = 0, len(chunk)
        while position < size:
            if self._skip:
                step = min(self._skip, size - position)
                self._skip -= step
                position += step
                continue
            byte = chunk[position]
            position += 1
            self._header.append(byte)
            if len(self._header) == 1 or (byte & 0x80 and len(self._header) < 5):
                continue
            length, multiplier = 0, 1
            for value in self._header[1:]:
                length += (value & 0x7F) * multiplier
                multiplier *= 128
            self._header.clear()
            if length > self._max_packet:
                if self._on_too_large is not None:
                    self._on_too_large(length)
                raise PacketTooLarge(f"packet of {length} bytes")
            self._skip = length

    async def read(self, n: int = -1) -> bytes:
        # amqtt's queue signals nothing when it drains, so poll; only while backlogged.
        while self._backlog.qsize() >= self._limit:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        while self._backed_up():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self._stream is None:  # MQTT 5: the translating reader checks packet sizes
            data: bytes = await self._inner.read(n)
            if self._binding is not None:
                self._binding.last_heard = time.monotonic()
            return data
        if n < 0:  # amqtt never reads to the end of a stream; kept for the interface
            rest = self._buffer[self._position :] + await self._stream.read(self._max_packet)
            self._buffer, self._position = b"", 0
            return rest
        while len(self._buffer) - self._position < n:
            chunk = await self._stream.read(65536)
            if not chunk:
                partial_data = self._buffer[self._position :]
                self._buffer, self._position = b"", 0
                raise asyncio.IncompleteReadError(partial_data, n)
            if self._binding is not None:
                self._binding.last_heard = time.monotonic()
            self._scan(chunk)
            self._buffer = self._buffer[self._position :] + chunk
            self._position = 0
        start = self._position
        self._position += n
        return self._buffer[start : self._position]

    def feed_eof(self) -> None:
        self._inner.feed_eof()


class _CoalescingWriter(StreamWriterAdapter):  # type: ignore[misc]
    """Sends what amqtt writes during one loop iteration in one system call.

    amqtt writes every packet separately and the transport sends each at once; on a busy
    broker one send per packet dominates (on sandboxed kernels a loopback send costs ~0.5 ms).
    Writes are collected and handed to the transport once, at the end of the iteration.
    """

    def __init__(
        self, writer: asyncio.StreamWriter, translator: Mqtt5Translator | None = None
    ) -> None:
        super().__init__(writer)
        self._translator = translator
        self._pending = bytearray()
        self._flush_scheduled = False

    def write(self, data: bytes) -> None:
        if self.is_closed:
            return
        self._pending += self._translator.outbound(data) if self._translator else data
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._pending and not self._writer.is_closing():
            self._writer.write(bytes(self._pending))
        self._pending.clear()

    def buffered(self) -> int:
        """Bytes written but not yet sent."""
        return len(self._pending) + int(self._writer.transport.get_write_buffer_size())

    async def drain(self) -> None:
        if self.is_closed:
            return
        if self.buffered() > WRITE_HIGH_WATER:
            self._flush()
            await self._writer.drain()

    async def close(self) -> None:
        self._flush()
        await super().close()


async def _disconnect_after_backlog(
    handler: BrokerProtocolHandler,
    original: Callable[[Any], Awaitable[None]],
    disconnect: Any,
) -> None:
    """Signal a client's end only once the messages it sent before are taken for routing.

    amqtt signals a DISCONNECT (or a closed connection) at once and then drops what that client
    published just before, still queued; the MQTT order says those come first.
    """
    session = handler.session
    if session is not None:
        backlog = session.delivered_message_queue
        deadline = time.monotonic() + DISCONNECT_DRAIN_TIMEOUT
        while not backlog.empty() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    await original(disconnect)


def _qos0_publish(topic: str, data: bytes) -> bytes:
    """An MQTT 3.1.1 PUBLISH at QoS 0, retain clear (MQTT 5 sessions translate it on write)."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + bytes(data)
    return b"\x30" + encode_varint(len(body)) + body


def _keepalive_expired(handler: BrokerProtocolHandler) -> None:
    session = handler.session
    log.info(
        "client %s silent past its keep-alive: disconnecting", session.client_id if session else "?"
    )
    writer = handler.writer
    if isinstance(writer, StreamWriterAdapter):
        writer._writer.transport.abort()


def broker_config(host: str, port: int, auth_path: str) -> dict[str, Any]:
    """Return the amqtt configuration: one TCP listener and only the station's access plugin."""
    # amqtt splits "host:port" at the last colon and wants IPv6 addresses without brackets;
    # an empty host means every interface of both families.
    bind_host = host.strip("[]")
    return {
        "listeners": {
            "default": {"type": "tcp", "bind": f"{bind_host}:{port}", "max_connections": 0}
        },
        "plugins": {
            f"{GcsAccessPlugin.__module__}.{GcsAccessPlugin.__name__}": {"auth_path": auth_path}
        },
    }


class _RepeatFilter(logging.Filter):
    """Lets the same amqtt warning through at most every `REPORT_INTERVAL` seconds.

    amqtt logs one warning per abandoned QoS 1/2 delivery ("Timeout waiting for PUBACK for
    packet ID n"), so a client that stops reading wrote ~1 MB of log per second.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        key = "".join(c for c in str(record.msg)[:48] if not c.isdigit())
        now = time.monotonic()
        if now - self._last.get(key, -math.inf) < REPORT_INTERVAL:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = now
        return True


def _quiet_amqtt() -> None:
    for name in ("amqtt.mqtt.protocol.handler", "amqtt.broker"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RepeatFilter) for f in logger.filters):
            logger.addFilter(_RepeatFilter())


async def serve(
    host: str,
    port: int,
    auth_path: str,
    *,
    max_queued_messages: int = DEFAULT_MAX_QUEUED,
    max_packet_size: int = DEFAULT_MAX_PACKET,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
    idle_takeover: float = DEFAULT_IDLE_TAKEOVER,
    on_event: EventSink | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[GcsBroker], None] | None = None,
    should_exit: Callable[[], bool] | None = None,
    reload_interval: float = 0.5,
) -> None:
    """Run the broker on the current loop until `stop` is set or `should_exit()` returns true.

    Refusals (logins, take-overs, publishes, subscriptions, oversized packets, dropped sessions)
    go to `on_event` as JSON-ready dicts (see `GcsBroker.report`).

    Raises:
        broker.auth.AuthFileError: the auth file is missing or invalid at start.
        amqtt.errors.BrokerError: the port cannot be bound.
    """
    AuthFile(auth_path).load()  # a clear error now rather than a plugin-init traceback
    _quiet_amqtt()
    server = GcsBroker(
        broker_config(host, port, auth_path),
        max_queued_messages=max_queued_messages,
        max_packet_size=max_packet_size,
        stall_timeout=stall_timeout,
        idle_takeover=idle_takeover,
        on_event=on_event,
    )
    await server.start()
    try:
        if on_ready is not None:
            on_ready(server)
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=reload_interval)
            except TimeoutError:
                pass
            await server.reload_auth()
            server.sweep_stalled()
            if should_exit is not None and should_exit():
                log.warning("parent process is gone: stopping the broker")
                break
    finally:
        await server.shutdown()
