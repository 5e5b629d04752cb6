"""The Pilot web server as a runtime component: HTTP and HTTPS listeners on one application.

`start(station)` makes sure the local CA and a server certificate for the current addresses
exist, builds the application and listens on `settings.http.port` (HTTP) and
`settings.http.https_port` (HTTPS) on the station's listen address (all interfaces by default).
Both serve the same routes. A port of 0 asks the OS for a free one; `endpoints()` reports the
real ports. The URL to type into Pilot ("Cloud Service -> Other platforms") is the `pilot`
endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiohttp import web

from gcs.station import netinfo
from gcs.station.bus import LogEntry
from gcs.station.core import Endpoint, Station, now_ms
from gcs.web import guard
from gcs.web.app import OriginPolicy, init_app
from gcs.web.keys import HUB
from gcs.web.login_guard import LoginGuard
from gcs.web.tls import TlsFiles, ensure_certificates, server_names
from gcs.web.ws import WsHub

log = logging.getLogger(__name__)


class WebServer:
    """Usable after `start()` until `stop()`.

    Args:
        idle_timeout_s: idle keep-alive connections, and request heads that have not fully
            arrived, are closed after this (see `gcs.web.guard`).
        max_connections: connections beyond this (per listener) are answered 503 and closed.
        login_guard: the login back-off (default: the standard limits).
    """

    def __init__(
        self,
        station: Station,
        *,
        idle_timeout_s: float = guard.IDLE_TIMEOUT_S,
        max_connections: int = guard.MAX_CONNECTIONS,
        login_guard: LoginGuard | None = None,
    ) -> None:
        self.station = station
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.login_guard = login_guard
        self.runner: web.AppRunner | None = None
        self.http_port: int | None = None
        self.https_port: int | None = None
        self.tls: TlsFiles | None = None
        self.app: web.Application | None = None

    @property
    def hub(self) -> WsHub:
        assert self.app is not None
        return self.app[HUB]

    async def start(self) -> None:
        """Listen. Raises OSError (port in use, ...) with what failed; nothing stays open."""
        s = self.station.settings
        names = server_names(netinfo.lan_addresses(), [self.station.public_host])
        loop = asyncio.get_running_loop()
        self.tls = await loop.run_in_executor(
            None, ensure_certificates, self.station.data_dir, names, s.station.platform_name
        )
        origins = OriginPolicy(names, extra=s.http.allowed_origins)
        self.app = init_app(
            self.station, tls=self.tls, origins=origins, login_guard=self.login_guard
        )
        self.runner = web.AppRunner(
            self.app,
            access_log=None,
            shutdown_timeout=5.0,
            keepalive_timeout=self.idle_timeout_s,  # also the request-head deadline
        )
        await self.runner.setup()
        host = s.station.host or "0.0.0.0"
        try:
            http = self._site(host, s.http.port, None)
            await http.start()
            self.http_port = http.bound_port
            https = self._site(host, s.http.https_port, self.tls.server_context())
            await https.start()
            self.https_port = https.bound_port
            origins.ports.update((self.http_port, self.https_port))
        except OSError as exc:
            await self.stop()
            raise OSError(
                exc.errno,
                f"the Pilot web server cannot listen on {host} (HTTP {s.http.port}, HTTPS "
                f"{s.http.https_port}): {exc.strerror or exc}; choose other ports with "
                "--http-port/--https-port",
            ) from exc

    def _site(self, host: str, port: int, context: ssl.SSLContext | None) -> guard.GuardedSite:
        assert self.runner is not None
        return guard.GuardedSite(
            self.runner,
            host,
            port,
            ssl_context=context,
            reuse_address=True,
            max_connections=self.max_connections,
            handshake_timeout_s=self.idle_timeout_s,
            on_refused=self._refused,
        )

    def _refused(self, count: int) -> None:
        self.station.bus.publish(
            LogEntry(
                now_ms(),
                "web",
                "warning",
                f"{count} connection(s) to the Pilot web server refused: {self.max_connections} "
                "already open / 连接数已达上限",
            )
        )

    def endpoints(self) -> list[Endpoint]:
        host = self.station.public_host
        out = []
        if self.http_port is not None:
            out.append(Endpoint("http", f"http://{host}:{self.http_port}/"))
        if self.https_port is not None:
            out.append(Endpoint("https", f"https://{host}:{self.https_port}/"))
        if self.http_port is not None:
            out.append(Endpoint("pilot", f"http://{host}:{self.http_port}/pilot/"))
            out.append(Endpoint("ca", f"http://{host}:{self.http_port}/ca.crt"))
        return out

    def pilot_urls(self) -> list[str]:
        """The URL to type into Pilot at every address of this machine (public host first)."""
        if self.http_port is None:
            return []
        hosts = [self.station.public_host]
        host = self.station.settings.station.host
        if host in ("", "0.0.0.0", "::"):
            hosts += [a for a in netinfo.lan_addresses() if a not in hosts]
        return [f"http://{h}:{self.http_port}/pilot/" for h in hosts]

    async def stop(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await runner.cleanup()


async def start(station: Station) -> WebServer:
    """The runtime's factory: a started web server for `station`."""
    server = WebServer(station)
    await server.start()
    return server
