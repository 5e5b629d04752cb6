"""The WebSocket Pilot 2 connects to (protocol §9): `/api/v1/ws?x-auth-token=...`.

Theory of operation: the token is checked before the handshake (a bad one gets HTTP 401 and no
WebSocket). Each client belongs to the workspace of its token. `WsHub.publish` serialises a
message once and appends the text to every client queue of that workspace without waiting; a
per-client writer task drains its queue onto the socket. A client whose queue reaches
`max_queue` (it does not read, or reads slower than the fleet talks) is dropped: its connection
is aborted and its queue freed, so one slow RC can neither stall the others nor grow the
station's memory. Pilot keeps the connection alive with WebSocket pings (answered by aiohttp)
or a text "ping" (answered with "pong"); the station pings every `HEARTBEAT_S` and closes a
connection that stops answering. Anything else Pilot sends is ignored (as in the Demo).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from gcs.aio import spawn

log = logging.getLogger(__name__)

HEARTBEAT_S = 20.0
MAX_QUEUE = 512


def envelope(biz_code: str, data: Any, ts_ms: int | None = None) -> str:
    """The text of one push: ``{biz_code, version, timestamp, data}``."""
    return orjson.dumps(
        {
            "biz_code": biz_code,
            "version": "1.0",
            "timestamp": ts_ms if ts_ms is not None else int(time.time() * 1000),
            "data": data,
        }
    ).decode()


@dataclass(eq=False)
class WsClient:
    ws: web.WebSocketResponse
    request: web.Request
    workspace_id: str
    user_id: str
    queue: collections.deque[str] = field(default_factory=collections.deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: bool = False
    sent: int = 0


class WsHub:
    """Per-workspace fan-out to the connected Pilot WebSockets. Loop-affine (station loop)."""

    def __init__(self, *, max_queue: int = MAX_QUEUE) -> None:
        self.max_queue = max_queue
        self._clients: dict[str, set[WsClient]] = {}
        self.dropped_clients = 0

    def count(self, workspace_id: str | None = None) -> int:
        if workspace_id is None:
            return sum(len(c) for c in self._clients.values())
        return len(self._clients.get(workspace_id, ()))

    def has_clients(self, workspace_id: str | None) -> bool:
        return bool(workspace_id) and bool(self._clients.get(workspace_id or ""))

    def publish(self, workspace_id: str | None, biz_code: str, data: Any) -> int:
        """Queue one message for every client of the workspace; returns how many got it."""
        clients = self._clients.get(workspace_id or "")
        if not clients:
            return 0
        text = envelope(biz_code, data)
        n = 0
        for client in list(clients):
            if len(client.queue) >= self.max_queue:
                self._drop(client, "it does not keep up with the messages")
                continue
            client.queue.append(text)
            client.wake.set()
            n += 1
        return n

    def _add(self, client: WsClient) -> None:
        self._clients.setdefault(client.workspace_id, set()).add(client)

    def _remove(self, client: WsClient) -> None:
        clients = self._clients.get(client.workspace_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._clients[client.workspace_id]

    def _drop(self, client: WsClient, reason: str) -> None:
        if client.dropped:
            return
        client.dropped = True
        client.queue.clear()
        client.wake.set()
        self._remove(client)
        self.dropped_clients += 1
        log.warning("dropped WebSocket client of user %s: %s", client.user_id, reason)
        transport = client.request.transport
        if transport is not None:
            transport.abort()

    async def serve(
        self, request: web.Request, workspace_id: str, user_id: str
    ) -> web.WebSocketResponse:
        """Run one accepted connection until it closes (the token was checked by the caller)."""
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=64 * 1024)
        await ws.prepare(request)
        client = WsClient(ws, request, workspace_id, user_id)
        self._add(client)
        writer = spawn(self._writer(client), name=f"ws-writer:{user_id}")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and msg.data.strip().lower() in ("ping", '"ping"'):
                    client.queue.append("pong")
                    client.wake.set()
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._remove(client)
            writer.cancel()
            if not ws.closed and not client.dropped:
                await ws.close()
        return ws

    async def _writer(self, client: WsClient) -> None:
        ws = client.ws
        try:
            while not client.dropped and not ws.closed:
                await client.wake.wait()
                client.wake.clear()
                while client.queue and not client.dropped:
                    await ws.send_str(client.queue.popleft())
                    client.sent += 1
        except (ConnectionError, RuntimeError) as exc:
            log.info("WebSocket to user %s ended: %s", client.user_id, exc)
            self._drop(client, "the connection broke")

    async def close_all(self) -> None:
        """Close every connection with GOING_AWAY (shutdown)."""
        clients = [c for cs in self._clients.values() for c in cs]
        self._clients.clear()
        for c in clients:
            try:
                await asyncio.wait_for(c.ws.close(code=1001, message=b"station shutting down"), 2.0)
            except (TimeoutError, ConnectionError, RuntimeError):
                transport = c.request.transport
                if transport is not None:
                    transport.abort()
