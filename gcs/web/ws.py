"""The WebSocket Pilot 2 connects to (protocol §9): `/api/v1/ws?x-auth-token=...`.

Theory of operation: the token is checked before the handshake (a bad one gets HTTP 401 and no
WebSocket). Each client belongs to the workspace of its token. `WsHub.publish` serialises a
message and builds its WebSocket frame once; at the end of the loop turn the frames of the turn
are written, joined, to the transport of every client of the workspace, without awaiting
anything: fan-out costs one buffered write per client per turn, and a slow or dead RC can never
stall the others. What a client has not taken yet waits in its
transport's buffer; a client whose buffer exceeds `max_buffer` bytes (it stopped reading, or
reads slower than the fleet talks) is dropped -- its connection aborted and its buffer freed --
so the station's memory stays bounded. Frames are never compressed (identical bytes for all
clients) and are always whole, so they interleave safely with aiohttp's own ping/pong/close
frames on the same transport (all on the station's loop). Pilot keeps the connection alive with
WebSocket pings (answered by aiohttp) or a text "ping" (answered "pong"); the station pings every
`HEARTBEAT_S` and closes a connection that stops answering. Anything else Pilot sends is ignored
(as in the Demo).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from gcs.aio import spawn

log = logging.getLogger(__name__)

HEARTBEAT_S = 20.0
MAX_BUFFER = 1024 * 1024  # ~15 s of a 200-gateway fleet's map updates


def envelope(biz_code: str, data: Any, ts_ms: int | None = None) -> bytes:
    """The JSON of one push: ``{biz_code, version, timestamp, data}``."""
    return orjson.dumps(
        {
            "biz_code": biz_code,
            "version": "1.0",
            "timestamp": ts_ms if ts_ms is not None else int(time.time() * 1000),
            "data": data,
        }
    )


def text_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final WebSocket text frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 127, n)
    return header + payload


#: Who a client is, as its login said (§8.3 `flag`): DJI Pilot 2 or a web console. DJI's
#: backend pushes some codes to one kind only (`device_osd`: a few map keys to Pilot, the
#: aircraft's whole OSD to web consoles).
PILOT = "pilot"
WEB = "web"


@dataclass(eq=False)
class WsClient:
    ws: web.WebSocketResponse
    request: web.Request
    workspace_id: str
    user_id: str
    audience: str = PILOT
    dropped: bool = False
    sent: int = 0


class WsHub:
    """Per-workspace fan-out to the connected Pilot WebSockets. Loop-affine (station loop)."""

    def __init__(self, *, max_buffer: int = MAX_BUFFER) -> None:
        self.max_buffer = max_buffer
        self._clients: dict[str, set[WsClient]] = {}
        self._audiences: dict[tuple[str, str], int] = {}
        #: frames of this loop turn per workspace, each with its audience (None: everyone)
        self._pending: dict[str, list[tuple[str | None, bytes]]] = {}
        self._flush_scheduled = False
        self.dropped_clients = 0

    def count(self, workspace_id: str | None = None) -> int:
        if workspace_id is None:
            return sum(len(c) for c in self._clients.values())
        return len(self._clients.get(workspace_id, ()))

    def has_clients(self, workspace_id: str | None, audience: str | None = None) -> bool:
        """Whether the workspace has clients (of `audience`, PILOT or WEB, when given)."""
        if not workspace_id:
            return False
        if audience is None:
            return bool(self._clients.get(workspace_id))
        return self._audiences.get((workspace_id, audience), 0) > 0

    def publish(
        self, workspace_id: str | None, biz_code: str, data: Any, audience: str | None = None
    ) -> int:
        """Queue one message for every client of the workspace (of `audience` only, PILOT or
        WEB, when given); returns how many will get it.

        Messages published during one turn of the event loop (a burst of MQTT messages is
        handled in one turn) leave in one write per client at the end of the turn, in order.
        """
        clients = self._clients.get(workspace_id or "")
        if not clients:
            return 0
        assert workspace_id is not None
        count = len(clients) if audience is None else self._audiences.get((workspace_id, audience))
        if not count:
            return 0
        frame = text_frame(envelope(biz_code, data))
        pending = self._pending.get(workspace_id)
        if pending is None:
            self._pending[workspace_id] = [(audience, frame)]
        else:
            pending.append((audience, frame))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return count

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for workspace_id, frames in pending.items():
            joined: dict[str, tuple[bytes, int]] = {}
            for client in list(self._clients.get(workspace_id, ())):
                out = joined.get(client.audience)
                if out is None:
                    mine = [f for a, f in frames if a is None or a == client.audience]
                    out = joined[client.audience] = (
                        mine[0] if len(mine) == 1 else b"".join(mine),
                        len(mine),
                    )
                if out[1]:
                    self._write(client, out[0], out[1])

    def _write(self, client: WsClient, frame: bytes, count: int = 1) -> bool:
        transport = client.request.transport
        if client.dropped or transport is None or transport.is_closing():
            self._remove(client)
            return False
        if transport.get_write_buffer_size() + len(frame) > self.max_buffer:
            self._drop(client, "it does not keep up with the messages")
            return False
        transport.write(frame)
        client.sent += count
        return True

    def _add(self, client: WsClient) -> None:
        self._clients.setdefault(client.workspace_id, set()).add(client)
        key = (client.workspace_id, client.audience)
        self._audiences[key] = self._audiences.get(key, 0) + 1

    def _remove(self, client: WsClient) -> None:
        clients = self._clients.get(client.workspace_id)
        if clients is not None and client in clients:
            clients.discard(client)
            key = (client.workspace_id, client.audience)
            left = self._audiences.get(key, 1) - 1
            if left > 0:
                self._audiences[key] = left
            else:
                self._audiences.pop(key, None)
            if not clients:
                del self._clients[client.workspace_id]

    def _drop(self, client: WsClient, reason: str) -> None:
        if client.dropped:
            return
        client.dropped = True
        self._remove(client)
        self.dropped_clients += 1
        log.warning("dropped WebSocket client of user %s: %s", client.user_id, reason)
        transport = client.request.transport
        if transport is not None:
            transport.abort()

    async def serve(
        self, request: web.Request, workspace_id: str, user_id: str, audience: str = PILOT
    ) -> web.WebSocketResponse:
        """Run one accepted connection until it closes (the token was checked by the caller);
        `audience` is PILOT or WEB."""
        # No per-message deflate: every client gets the same frame bytes.
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=64 * 1024, compress=False)
        await ws.prepare(request)
        client = WsClient(ws, request, workspace_id, user_id, audience)
        self._add(client)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data.strip().lower() in ("ping", '"ping"'):
                    self._write(client, text_frame(b"pong"))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._remove(client)
            if not ws.closed and not client.dropped:
                await ws.close()
        return ws

    async def close_all(self, within: float = 2.0) -> None:
        """Close every connection with GOING_AWAY (shutdown); abort what does not close in time."""
        clients = [c for cs in self._clients.values() for c in cs]
        self._clients.clear()
        self._audiences.clear()

        async def close(c: WsClient) -> None:
            await c.ws.close(code=1001, message=b"station shutting down")

        if clients:
            await asyncio.wait([spawn(close(c), name="ws-close") for c in clients], timeout=within)
        for c in clients:
            transport = c.request.transport
            if transport is not None and not transport.is_closing():
                transport.abort()
