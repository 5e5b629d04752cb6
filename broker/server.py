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
  clean sessions.
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
from amqtt.mqtt.connack import BAD_USERNAME_PASSWORD, NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.session import Session
from amqtt.utils import gen_client_id

from broker.auth import AuthFile, topic_matches
from broker.limits import DEFAULT_MAX_QUEUED
from broker.mqtt5 import Mqtt5Error, Mqtt5Translator, connect_to_v311, encode_varint
from broker.plugin import USER_KEY, GcsAccessPlugin
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


class GcsBroker(Broker):  # type: ignore[misc]
    """amqtt broker with the station's access rules and bounded per-session queues."""

    def __init__(self, config: dict[str, Any], *, max_queued_messages: int) -> None:
        super().__init__(config)
        if max_queued_messages < 1:
            raise ValueError("max_queued_messages must be at least 1")
        self.max_queued_messages = max_queued_messages
        plugin = self.plugins_manager.get_plugin(GcsAccessPlugin.__name__)
        if not isinstance(plugin, GcsAccessPlugin):
            raise RuntimeError("GcsAccessPlugin is not loaded")
        self.access: GcsAccessPlugin = plugin
        # Bounded: a publisher faster than delivery waits here instead of filling memory.
        self._broadcast_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(INCOMING_BACKLOG)
        self.dropped_messages = 0
        self.refused_publishes = 0
        self._deliveries: set[asyncio.Task[None]] = set()
        self._last_drop_log = 0.0
        self._last_refusal_log: dict[str, float] = {}

    # -- listening address

    def bound_port(self, listener: str = "default") -> int:
        """Return the TCP port the listener is bound to (useful after asking for port 0)."""
        server: Server = self._servers[listener]
        sockets = server.instance.sockets if server.instance else ()
        if not sockets:
            raise RuntimeError(f"listener {listener!r} is not bound")
        return int(sockets[0].getsockname()[1])

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
        return handler, session

    async def _authenticate(self, session: Session, listener: Any) -> bool:
        if session.attributes.pop(PREAUTH_KEY, False):
            return True
        return bool(await super()._authenticate(session, listener))

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
        translator = client_session.attributes.get(MQTT5_KEY)
        if translator is not None and isinstance(reader, StreamReaderAdapter):
            reader = _Mqtt5Reader(reader._reader, translator)
        gated = _GatedReader(reader, client_session.delivered_message_queue, INCOMING_BACKLOG)
        if isinstance(writer, StreamWriterAdapter):
            writer = _CoalescingWriter(writer._writer, translator)
        await super()._handle_client_session(
            gated, writer, client_session, handler, server, listener_name
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
        if not self.access.may_publish(client_session, topic):
            self.refused_publishes += 1
            now = time.monotonic()
            client_id = client_session.client_id or "?"
            if now - self._last_refusal_log.get(client_id, 0.0) >= _DROP_LOG_INTERVAL:
                self._last_refusal_log[client_id] = now
                log.warning(
                    "%s may not publish on %s: refused (%d refusals so far, logged every %.0f s)",
                    client_id,
                    topic,
                    self.refused_publishes,
                    _DROP_LOG_INTERVAL,
                )
            return True
        data = message.data
        parts = topic.split("/")
        if len(parts) == 4 and parts[0] == "sys" and parts[1] == "product" and parts[3] == "status":
            self.access.policy.learn_topology(parts[2], bytes(data))
        await self._broadcast_queue.put(
            {"session": client_session, "topic": topic, "data": data, "pub_qos": message.qos}
        )
        packet = message.publish_packet
        if packet is not None and packet.retain_flag:
            await self.retain_message(client_session, topic, data, message.qos)
        return True

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
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)

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
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

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

    def __init__(self, stream: asyncio.StreamReader, translator: Mqtt5Translator) -> None:
        self._stream = stream
        self._translator = translator
        self._raw = bytearray()
        self._ready = bytearray()

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

    def __init__(self, inner: ReaderAdapter, backlog: asyncio.Queue[Any], limit: int) -> None:
        self._inner = inner
        self._stream: asyncio.StreamReader | None = (
            inner._reader if isinstance(inner, StreamReaderAdapter) else None
        )
        self._backlog = backlog
        self._limit = limit
        self._buffer = b""
        self._position = 0

    async def read(self, n: int = -1) -> bytes:
        # amqtt's queue signals nothing when it drains, so poll; only while backlogged.
        while self._backlog.qsize() >= self._limit:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        if self._stream is None:
            data: bytes = await self._inner.read(n)
            return data
        if n < 0:
            rest = self._buffer[self._position :] + await self._stream.read()
            self._buffer, self._position = b"", 0
            return rest
        while len(self._buffer) - self._position < n:
            chunk = await self._stream.read(65536)
            if not chunk:
                partial_data = self._buffer[self._position :]
                self._buffer, self._position = b"", 0
                raise asyncio.IncompleteReadError(partial_data, n)
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


async def serve(
    host: str,
    port: int,
    auth_path: str,
    *,
    max_queued_messages: int = DEFAULT_MAX_QUEUED,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[GcsBroker], None] | None = None,
    should_exit: Callable[[], bool] | None = None,
    reload_interval: float = 0.5,
) -> None:
    """Run the broker on the current loop until `stop` is set or `should_exit()` returns true.

    Raises:
        broker.auth.AuthFileError: the auth file is missing or invalid at start.
        amqtt.errors.BrokerError: the port cannot be bound.
    """
    AuthFile(auth_path).load()  # a clear error now rather than a plugin-init traceback
    server = GcsBroker(
        broker_config(host, port, auth_path), max_queued_messages=max_queued_messages
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
            if should_exit is not None and should_exit():
                log.warning("parent process is gone: stopping the broker")
                break
    finally:
        await server.shutdown()
