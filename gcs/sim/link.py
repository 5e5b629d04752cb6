"""One simulated device's MQTT connection, driven by the running asyncio loop.

Theory of operation: paho-mqtt does the MQTT framing; this module does the I/O scheduling. The
paho client is put in "external loop" mode: its socket callbacks register the socket with the
asyncio loop (`add_reader` → `loop_read`, `add_writer` → `loop_write` while paho has bytes
queued), and a small task calls `loop_misc` every second for keep-alive pings. A whole fleet of
simulated gateways therefore shares one thread and one loop, with no thread per connection.

Only the TCP connect is blocking in paho, so it runs in the default executor; socket callbacks
that paho fires from that thread are forwarded to the loop with `call_soon_threadsafe`, except
the close callback, which must unregister before the file descriptor can be reused and is only
ever fired on the loop thread.

A `Link` is reusable: `connect()` after a lost connection opens a new one. Incoming messages go
to the `on_message(topic, payload)` callback given at construction, on the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from gcs.aio import spawn

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes], None]


class LinkError(ConnectionError):
    """The broker could not be reached or refused the connection; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where and how devices connect: parsed from `mqtt://user:pass@host:port`."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: bool = False
    websocket_path: str | None = None  # MQTT over WebSocket (ws://, wss://) when set

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse `mqtt://user:pass@host:port` (also `tcp://`, `mqtts://`, `ssl://`, and
        `ws://host:port/path`, `wss://…` for MQTT over WebSocket).

        Raises:
            ValueError: unknown scheme or no host.
        """
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        scheme = parts.scheme.lower()
        if scheme not in ("mqtt", "tcp", "mqtts", "ssl", "tls", "ws", "wss"):
            raise ValueError(f"broker URL {url!r}: scheme must be mqtt://, mqtts:// or ws://")
        if not parts.hostname:
            raise ValueError(f"broker URL {url!r} has no host")
        tls = scheme in ("mqtts", "ssl", "tls", "wss")
        websocket = scheme in ("ws", "wss")
        default_port = (443 if tls else 80) if websocket else (8883 if tls else 1883)
        try:
            port = parts.port or default_port
        except ValueError as exc:
            raise ValueError(f"broker URL {url!r}: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            tls=tls,
            websocket_path=(parts.path or "/mqtt") if websocket else None,
        )


class Link:
    """An MQTT 3.1.1 client connection for one simulated gateway (client id = its SN)."""

    def __init__(
        self,
        client_id: str,
        broker: BrokerAddress,
        on_message: OnMessage,
        *,
        on_lost: Callable[[], None] | None = None,
        keepalive: int = 30,
    ) -> None:
        self.client_id = client_id
        self.broker = broker
        self.keepalive = keepalive
        self._on_message_cb = on_message
        self._on_lost_cb = on_lost
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._client: mqtt.Client | None = None
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._subacks: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._misc_task: asyncio.Task[None] | None = None
        self._fds: set[int] = set()
        self._flush_pending = False
        self._watching_write = False
        self.connected = False
        self.lost = asyncio.Event()
        self.bytes_out = 0

    # -- public ---------------------------------------------------------------------------

    async def connect(self, timeout_s: float = 10.0) -> None:
        """Open the TCP connection, send CONNECT and wait for a successful CONNACK.

        Raises:
            LinkError: the broker is unreachable, did not answer in `timeout_s` seconds, or
                refused (the reason code's text, e.g. "Not authorized"). The link is closed
                and can be connected again.
        """
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._teardown()
        client = self._new_client()
        self._client = client
        self._connack = self._loop.create_future()
        self.lost.clear()
        opening = self._loop.run_in_executor(
            None, client.connect, self.broker.host, self.broker.port, self.keepalive
        )
        try:
            await asyncio.wait_for(asyncio.shield(opening), timeout_s)
        except BaseException as exc:
            # The connect thread may still finish later: close what it opens then.
            opening.add_done_callback(lambda _: self._discard(client))
            self._teardown()
            if isinstance(exc, OSError | TimeoutError | ValueError):
                where = f"{self.broker.host}:{self.broker.port}"
                reason = str(exc) or type(exc).__name__
                raise LinkError(f"cannot reach {where}: {reason}") from None
            raise
        try:
            rc = await asyncio.wait_for(asyncio.shield(self._connack), timeout_s)
        except TimeoutError:
            self._teardown()
            raise LinkError("no CONNACK from the broker") from None
        if rc.is_failure:
            self._teardown()
            raise LinkError(f"broker refused the connection: {rc.getName()}")
        self.connected = True
        self._misc_task = spawn(self._misc(), name=f"mqtt-misc-{self.client_id}")

    async def subscribe(
        self, topics: list[str], qos: int = 1, timeout_s: float = 10.0
    ) -> list[str]:
        """Subscribe and wait for the SUBACK.

        Returns:
            The topics the broker refused (SUBACK failure code), normally none.

        Raises:
            LinkError: not connected, or no SUBACK in time.
        """
        client = self._require()
        assert self._loop is not None
        rc, mid = client.subscribe([(t, qos) for t in topics])
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise LinkError(f"subscribe failed: {mqtt.error_string(rc)}")
        fut = self._subacks.setdefault(mid, self._loop.create_future())
        try:
            codes = await asyncio.wait_for(asyncio.shield(fut), timeout_s)
        except TimeoutError:
            raise LinkError("no SUBACK from the broker") from None
        finally:
            self._subacks.pop(mid, None)
        refused = [t for t, rc in zip(topics, codes, strict=False) if rc.is_failure]
        if refused:
            # Not fatal (a broker's ACL may say no); the messages simply will not arrive.
            log.warning("%s: broker refused subscriptions %s", self.client_id, refused)
        return refused

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> bool:
        """Queue one message; False when not connected (the message is dropped)."""
        client = self._client
        if client is None or not self.connected:
            return False
        info = client.publish(topic, payload, qos=qos)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return False
        self.bytes_out += len(payload)
        return True

    async def close(self) -> None:
        """Send DISCONNECT (when connected) and release the socket. Idempotent."""
        client = self._client
        if client is not None and self.connected:
            client.disconnect()
            # Let the writer flush the DISCONNECT packet.
            for _ in range(20):
                if not client.want_write():
                    break
                await asyncio.sleep(0.01)
        self._teardown()

    def drop(self) -> None:
        """Cut the connection without DISCONNECT, as a network loss would (for tests/reboot)."""
        if self._client is None:
            return
        was_connected = self.connected
        self._teardown()
        self.connected = was_connected
        self._mark_lost("dropped")

    # -- paho plumbing -------------------------------------------------------------------

    def _new_client(self) -> mqtt.Client:
        websocket = self.broker.websocket_path is not None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
            transport="websockets" if websocket else "tcp",
        )
        if self.broker.websocket_path is not None:
            client.ws_set_options(path=self.broker.websocket_path)
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password or None)
        if self.broker.tls:
            # Simulated devices accept the station's self-signed certificate.
            client.tls_set(cert_reqs=ssl.CERT_NONE)
            client.tls_insecure_set(True)
        client.connect_timeout = 5.0
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        return client

    def _require(self) -> mqtt.Client:
        if self._client is None or not self.connected:
            raise LinkError("not connected")
        return self._client

    def _call(self, func: Callable[..., None], *args: Any) -> None:
        """Run `func` on the loop thread (now, if already there)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            func(*args)
        else:
            loop.call_soon_threadsafe(func, *args)

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # paho leaves Nagle on: a PUBACK followed by a PUBLISH then waits for the peer's
        # delayed ACK (~40 ms a hop on Linux). Devices answer at once; so do we.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._call(self._add_reader, client, sock)

    def _add_reader(self, client: mqtt.Client, sock: Any) -> None:
        if client is not self._client or self._loop is None:
            return
        fd = sock.fileno()
        if fd < 0:
            return
        self._loop.add_reader(fd, self._readable, client)
        self._fds.add(fd)

    def _readable(self, client: mqtt.Client) -> None:
        if client is not self._client:
            return
        client.loop_read()
        # TLS: decrypted bytes can wait inside the SSL object while the socket itself has
        # nothing more to read, so the loop would never call us again for them.
        sock = client.socket()
        pending = getattr(sock, "pending", None)
        while pending is not None and client is self._client and client.socket() is sock:
            if pending() <= 0:
                break
            client.loop_read()

    def _writable(self, client: mqtt.Client) -> None:
        if client is self._client:
            client.loop_write()

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # Normally on the loop thread (paho closes sockets from loop_read/loop_misc/
        # disconnect), where the fd must be unregistered before it is closed and reused; a
        # connect failing in the executor thread closes a socket not registered yet.
        self._call(self._remove_fd, sock.fileno())

    def _remove_fd(self, fd: int) -> None:
        if self._loop is not None and fd in self._fds:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
            self._fds.discard(fd)
        self._watching_write = False

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._call(self._schedule_flush, client)

    def _schedule_flush(self, client: mqtt.Client) -> None:
        # Write queued packets once per loop iteration, straight away: the socket is nearly
        # always writable, so watching it with add_writer would cost two epoll_ctl calls
        # and a loop pass per message. Only a full socket buffer gets a writer callback.
        if client is not self._client or self._loop is None or self._flush_pending:
            return
        self._flush_pending = True
        self._loop.call_soon(self._flush, client)

    def _flush(self, client: mqtt.Client) -> None:
        self._flush_pending = False
        if client is not self._client or self._loop is None:
            return
        client.loop_write()
        if client is self._client and client.want_write():
            sock = client.socket()
            fd = sock.fileno() if sock is not None else -1
            if fd >= 0:
                self._loop.add_writer(fd, self._writable, client)
                self._watching_write = True

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if self._watching_write:
            self._call(self._remove_writer, sock)

    def _remove_writer(self, sock: Any) -> None:
        self._watching_write = False
        fd = sock.fileno()
        if self._loop is not None and fd >= 0:
            self._loop.remove_writer(fd)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        fut = self._connack
        if client is self._client and fut is not None and not fut.done():
            fut.set_result(rc)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if client is not self._client:
            return
        self._mark_lost(rc.getName() if isinstance(rc, ReasonCode) else str(rc))

    def _mark_lost(self, why: str) -> None:
        if self.connected:
            log.info("%s: connection lost (%s)", self.client_id, why)
        self.connected = False
        fut = self._connack
        if fut is not None and not fut.done():
            fut.set_exception(LinkError(f"connection closed before CONNACK ({why})"))
            fut.exception()  # mark retrieved
        for sub in self._subacks.values():
            if not sub.done():
                sub.set_exception(LinkError("connection lost"))
                sub.exception()
        self.lost.set()
        if self._on_lost_cb is not None:
            self._on_lost_cb()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, rcs: list[ReasonCode], props: Any
    ) -> None:
        if self._loop is None:
            return
        fut = self._subacks.setdefault(mid, self._loop.create_future())
        if not fut.done():
            fut.set_result(rcs)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._on_message_cb(msg.topic, bytes(msg.payload))
        except Exception:
            log.exception("%s: handling a message on %s failed", self.client_id, msg.topic)

    async def _misc(self) -> None:
        client = self._client
        while client is self._client and client is not None:
            await asyncio.sleep(1.0)
            if client is not self._client:
                return
            if client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self._mark_lost("keep-alive")
                return

    def _discard(self, client: mqtt.Client) -> None:
        """Close the socket of a client that is no longer ours."""
        if client is self._client:
            return
        sock = client.socket()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _teardown(self) -> None:
        if self._misc_task is not None and self._misc_task is not asyncio.current_task():
            self._misc_task.cancel()
        self._misc_task = None
        for fd in list(self._fds):
            self._remove_fd(fd)
        client = self._client
        self._client = None
        self.connected = False
        if client is not None:
            sock = client.socket()
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
