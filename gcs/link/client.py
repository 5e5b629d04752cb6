"""The station's MQTT client: paho-mqtt 2.x on its network thread, asyncio on the station side.

Theory of operation: paho runs its socket loop on its own thread (`loop_start`), reconnects by
itself with back-off, and on every (re)connection we subscribe again. paho callbacks never touch
station state: an inbound message is appended to a deque and one drain callback is scheduled on
the station loop with `call_soon_threadsafe` (one wake-up per burst, not per message). The drain
decodes each message with `gcs.protocol.envelope.decode`; replies to our own commands resolve the
matching future (correlation by tid + bid, resends and timeouts decided by
`gcs.protocol.calls.PendingCalls`); every decoded message is then handed to `on_message`, and
every undecodable one to `on_reject` with the typed error.

The client subscribes with a persistent session (clean_session False, fixed client id) so that
QoS 1 messages sent while the station was briefly disconnected are delivered on reconnect.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from gcs.aio import spawn
from gcs.link.errors import CommandError, CommandTimeout, LinkError, NotConnected
from gcs.link.url import BrokerUrl
from gcs.protocol.calls import CallPolicy, PendingCalls, Reply, Resend, Timeout
from gcs.protocol.envelope import DecodeError, Message, decode
from gcs.protocol.errors import describe
from gcs.protocol.replies import SUBSCRIBE_QOS

log = logging.getLogger(__name__)

MessageHandler = Callable[[Message], None]
RejectHandler = Callable[[str, DecodeError], None]
StateHandler = Callable[[bool, str], None]

# DJI result code we report for a call that never got an answer (Demo SDK: publish failed).
NO_REPLY_CODE = 211001


def _no_delay(_client: mqtt.Client, _userdata: Any, sock: Any) -> None:
    """Turn Nagle's algorithm off: paho leaves it on, which adds ~40 ms to each reply hop."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass  # not a TCP socket (e.g. a WebSocket transport wrapper)


def _now_ms() -> int:
    return int(time.time() * 1000)


class MqttLink:
    """One MQTT connection for the station.

    Usable after `await start()` until `await stop()`; `start` may be called again after `stop`.
    """

    def __init__(
        self,
        url: BrokerUrl,
        *,
        client_id: str,
        subscriptions: list[str],
        on_message: MessageHandler,
        on_reject: RejectHandler | None = None,
        on_state: StateHandler | None = None,
        max_payload_bytes: int | None = None,
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.subscriptions = list(subscriptions)
        self._on_message = on_message
        self._on_reject = on_reject
        self._on_state = on_state
        self._max_payload = max_payload_bytes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._inbox: collections.deque[tuple[str, bytes | bytearray]] = collections.deque()
        self._drain_scheduled = False
        self._connected = asyncio.Event()
        self._first_connect: asyncio.Future[None] | None = None
        self._calls = PendingCalls()
        self._futures: dict[int, tuple[asyncio.Future[Reply], Message]] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.received = 0
        self.rejected = 0
        self.connect_count = 0

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def start(self, connect_timeout: float = 10.0) -> None:
        """Connect and subscribe; returns after the first successful CONNACK.

        Raises:
            LinkError: the broker refused us (the reason says why) or did not answer in time.
        """
        self._loop = asyncio.get_running_loop()
        self._first_connect = self._loop.create_future()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        if self.url.username:
            client.username_pw_set(self.url.username, self.url.password or None)
        if self.url.tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.max_queued_messages_set(10_000)
        client.max_inflight_messages_set(100)
        client.on_connect = self._paho_connect
        client.on_socket_open = _no_delay
        client.on_disconnect = self._paho_disconnect
        client.on_message = self._paho_message
        self._client = client
        client.connect_async(self.url.host, self.url.port, keepalive=20)
        client.loop_start()
        self._ticker = spawn(self._tick_loop(), name=f"mqtt-link-ticker:{self.client_id}")
        try:
            await asyncio.wait_for(asyncio.shield(self._first_connect), connect_timeout)
        except TimeoutError:
            await self.stop()
            raise LinkError(
                f"broker {self.url.redacted()} did not accept us in {connect_timeout:.0f} s"
            ) from None
        except LinkError:
            await self.stop()
            raise

    async def stop(self) -> None:
        client, self._client = self._client, None
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if client is not None:
            client.disconnect()
            await asyncio.get_running_loop().run_in_executor(None, client.loop_stop)
        self._connected.clear()
        for fut, _ in self._futures.values():
            if not fut.done():
                fut.set_exception(NotConnected("link stopped"))
        self._futures.clear()

    # -- paho thread ---------------------------------------------------------------------

    def _paho_connect(
        self, client: mqtt.Client, _ud: Any, _flags: Any, rc: ReasonCode, _props: Any
    ) -> None:
        loop = self._loop
        if loop is None:
            return
        if rc.is_failure:
            loop.call_soon_threadsafe(self._connect_failed, str(rc))
            return
        for sub in self.subscriptions:
            client.subscribe(sub, qos=SUBSCRIBE_QOS)
        loop.call_soon_threadsafe(self._set_connected, True, "connected")

    def _paho_disconnect(
        self, _client: mqtt.Client, _ud: Any, _flags: Any, rc: ReasonCode, _props: Any
    ) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._set_connected, False, f"disconnected: {rc}")

    def _paho_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.append((msg.topic, msg.payload))
        if not self._drain_scheduled and self._loop is not None:
            self._drain_scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # loop closed during shutdown
                pass

    # -- station loop --------------------------------------------------------------------

    def _connect_failed(self, reason: str) -> None:
        fut = self._first_connect
        if fut is not None and not fut.done():
            fut.set_exception(LinkError(f"broker {self.url.redacted()} refused us: {reason}"))
        log.warning("MQTT connection refused: %s", reason)

    def _set_connected(self, up: bool, detail: str) -> None:
        if up:
            self.connect_count += 1
            self._connected.set()
            fut = self._first_connect
            if fut is not None and not fut.done():
                fut.set_result(None)
        else:
            self._connected.clear()
        log.info("MQTT link %s (%s)", "up" if up else "down", detail)
        if self._on_state is not None:
            self._on_state(up, detail)

    def _drain(self) -> None:
        # The flag stays set while we work, so the paho thread does not wake the loop for
        # every message of a burst; it is cleared only once the inbox is seen empty (and the
        # inbox checked once more, for a message appended in between).
        inbox = self._inbox
        budget = 2000  # yield to other callbacks between bursts
        while inbox and budget:
            budget -= 1
            topic, payload = inbox.popleft()
            self._handle(topic, payload)
        loop = self._loop
        if inbox:
            if loop is not None:
                loop.call_soon(self._drain)
            return
        self._drain_scheduled = False
        if inbox and loop is not None:
            self._drain_scheduled = True
            loop.call_soon(self._drain)

    def _handle(self, topic: str, payload: bytes | bytearray) -> None:
        self.received += 1
        try:
            message = (
                decode(topic, payload)
                if self._max_payload is None
                else decode(topic, payload, max_bytes=self._max_payload)
            )
        except DecodeError as exc:
            self.rejected += 1
            if self._on_reject is not None:
                self._on_reject(topic, exc)
            return
        reply = self._calls.on_reply(message)
        if reply is not None:
            message = reply.message  # a reply without a method gets its call's
            entry = self._futures.pop(reply.call_id, None)
            if entry is not None and not entry[0].done():
                entry[0].set_result(reply)
        try:
            self._on_message(message)
        except Exception:
            log.exception("handler failed on %s", topic)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            if not len(self._calls):
                continue
            for action in self._calls.on_tick(time.monotonic()):
                if isinstance(action, Resend):
                    log.info(
                        "no reply to %s on %s, resending", action.message.method, action.message.sn
                    )
                    self._publish_message(action.message, 0)
                elif isinstance(action, Timeout):
                    entry = self._futures.pop(action.call_id, None)
                    if entry is not None and not entry[0].done():
                        sent = entry[1]
                        entry[0].set_exception(
                            CommandTimeout(
                                sent.sn,
                                sent.method or "property/set",
                                action.attempts,
                                NO_REPLY_CODE,
                            )
                        )

    # -- sending -------------------------------------------------------------------------

    def _publish_message(self, message: Message, qos: int) -> None:
        client = self._client
        if client is None:
            raise NotConnected("link not started")
        message = replace(message, timestamp=_now_ms())
        client.publish(str(message.topic), message.encode(), qos=qos)

    def publish(self, message: Message, qos: int = 0) -> None:
        """Publish without waiting. While disconnected paho queues QoS 1/2 messages.

        Raises:
            NotConnected: the link was never started or has been stopped.
        """
        self._publish_message(message, qos)

    def publish_raw(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        client = self._client
        if client is None:
            raise NotConnected("link not started")
        client.publish(topic, payload, qos=qos, retain=retain)

    async def call(self, message: Message, policy: CallPolicy | None = None) -> Reply:
        """Send a `services` or `property/set` message and wait for its reply.

        Returns:
            The matched Reply with `result` 0.

        Raises:
            CommandTimeout: no reply after the policy's retries.
            CommandError: the device answered with a non-zero result (`code` carries it).
            NotConnected: the link is stopped.
        """
        loop = asyncio.get_running_loop()
        call_id = self._calls.start(message, time.monotonic(), policy)
        fut: asyncio.Future[Reply] = loop.create_future()
        self._futures[call_id] = (fut, message)
        method = message.method or "property/set"
        try:
            self._publish_message(message, 0)
            reply = await fut
        finally:
            self._calls.cancel(call_id)
            self._futures.pop(call_id, None)
        if reply.result != 0:
            meaning = describe(reply.result)
            raise CommandError(message.sn, method, reply.result, meaning.en, meaning.zh)
        return reply
