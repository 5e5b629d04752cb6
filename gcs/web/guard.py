"""Connection limits shared by the Pilot web server and the S3 store: a cap and a header deadline.

Theory of operation. aiohttp's `RequestHandler` arms its keep-alive timer when a connection
opens and again after every response, and when the timer fires while the handler is still
waiting for a complete request head it closes the connection. So `keepalive_timeout` is both
the idle timeout between requests and the deadline for the head of the next request: a client
that opens a socket and trickles header lines (slowloris) is dropped when it expires, whatever
it sends meanwhile. A request whose head is complete is not cut by it (bodies are the handlers'
business). The TLS handshake gets the same deadline.

`GuardedSite` is a `TCPSite` whose protocol factory counts the open connections of the runner's
server: beyond `max_connections` a new connection is answered ``503`` and closed at once, so a
flood of idle sockets cannot exhaust file descriptors or memory. Refusals are counted and
reported through `on_refused` at most once per `report_every_s`.

Use: ``web.AppRunner(app, keepalive_timeout=IDLE_TIMEOUT_S)`` and `GuardedSite` for each
listener.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 20.0
MAX_CONNECTIONS = 512
REPORT_EVERY_S = 60.0
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 50\r\n\r\n"
    b"too many open connections to the station; retry\r\n"
)


class _Refuse(asyncio.Protocol):
    """Answers 503 and closes: a connection over the cap."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class GuardedSite(web.TCPSite):
    """A `TCPSite` that refuses connections beyond `max_connections` (see the module notes).

    Args:
        on_refused: called with the number of connections refused since the last report
            (at most once per `report_every_s`), on the loop's thread.
    """

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str | None,
        port: int,
        *,
        max_connections: int = MAX_CONNECTIONS,
        handshake_timeout_s: float = IDLE_TIMEOUT_S,
        on_refused: Callable[[int], None] | None = None,
        report_every_s: float = REPORT_EVERY_S,
        **kwargs: object,
    ) -> None:
        super().__init__(runner, host, port, **kwargs)  # type: ignore[arg-type]
        self.max_connections = max_connections
        self.refused = 0
        self._handshake_timeout_s = handshake_timeout_s
        self._on_refused = on_refused
        self._report_every_s = report_every_s
        self._unreported = 0
        self._last_report = float("-inf")

    def _protocol(self) -> asyncio.BaseProtocol:
        server = self._runner.server
        assert server is not None
        if len(server.connections) < self.max_connections:
            return server()
        self.refused += 1
        self._unreported += 1
        now = time.monotonic()
        if now - self._last_report >= self._report_every_s:
            count, self._unreported, self._last_report = self._unreported, 0, now
            log.warning(
                "%s: %d connection(s) refused, %d already open (the cap)",
                self.name,
                count,
                self.max_connections,
            )
            if self._on_refused is not None:
                self._on_refused(count)
        return _Refuse()

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            self._host,
            self._port,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._handshake_timeout_s if self._ssl_context else None,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port

    @property
    def bound_port(self) -> int:
        """The port listened on (the real one when 0 was asked)."""
        return self.port
