"""The Pilot web application: `init_app()` builds it around a station (tests build their own).

Routes: the `manage` API (gcs.web.manage), the WebSocket (gcs.web.ws), the H5 pages and CA
download (gcs.web.h5). A middleware refuses API calls from other sites' pages (CORS: only the
station's own pages, see `OriginPolicy`), answers pre-flights, and turns refused requests and
unexpected errors into the DJI envelope (protocol §8.1) for API paths.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from gcs.station.core import Station
from gcs.web import (
    control,
    devices,
    firmware,
    h5,
    health,
    live,
    live_record,
    logs,
    manage,
    maps,
    media,
    waylines,
)
from gcs.web.auth import check_token
from gcs.web.console import http_status
from gcs.web.envelope import ApiError, failure
from gcs.web.feed import PilotFeed, TopologyCache
from gcs.web.keys import HUB, LOGIN_GUARD, ORIGINS, SIGNER, STATION, TLS, TOPOLOGY_CACHE
from gcs.web.login_guard import LoginGuard
from gcs.web.tiles import add_tile_routes
from gcs.web.tls import TlsFiles
from gcs.web.tokens import TokenSigner
from gcs.web.ws import PILOT, WEB, WsHub

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WS_PATH = "/api/v1/ws"
API_PREFIXES = ("/manage/", "/map/", "/media/", "/storage/", "/wayline/", "/control/", "/api/")
PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Content-Type, x-auth-token, X-Auth-Token, X-Request-ID, X-Device-ID, X-Firmware-Version"
    ),
    "Access-Control-Max-Age": "3600",
}
CROSS_SITE = (
    "requests from pages of other sites are refused; open the station's own pages "
    "(Pilot: Cloud Service -> Other platforms -> the station's /pilot/ address) "
    "/ 拒绝来自其他网站页面的请求"
)


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


class OriginPolicy:
    """Which browser origins may call the API: the station's own pages, nothing else.

    Pilot 2 calls the API natively (no ``Origin`` header) and its WebView runs the H5 pages
    the station serves, so their requests are same-origin. The only cross-origin callers we
    accept are the station's other listener (an HTTP page calling the HTTPS port or back) at
    one of the machine's names or addresses. `ports` is filled once the listeners are bound.
    """

    def __init__(
        self, hosts: Iterable[str] = (), ports: Iterable[int] = (), extra: Iterable[str] = ()
    ) -> None:
        self.hosts = {h.lower().strip("[]") for h in hosts}
        self.ports = set(ports)
        #: origins the operator allowed in `[http] allowed_origins` (a web console elsewhere)
        self.extra = {o.lower().rstrip("/") for o in extra}

    def allows(self, origin: str, request: web.BaseRequest) -> bool:
        """Whether a request carrying `origin` comes from one of the station's pages."""
        if origin.lower() == f"{request.scheme}://{request.host}".lower():
            return True
        if origin.lower().rstrip("/") in self.extra:
            return True
        try:
            url = urlsplit(origin)
            port = url.port or (443 if url.scheme == "https" else 80)
        except ValueError:
            return False
        if url.scheme not in ("http", "https") or url.path not in ("", "/") or not url.hostname:
            return False
        return url.hostname.strip("[]") in self.hosts and port in self.ports


@web.middleware
async def cors_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    allowed = origin is None or request.app[ORIGINS].allows(origin, request)
    # The WebSocket is exempt: Pilot opens it natively (its client's headers are not
    # documented) and the token in its URL, which another site's page cannot read, guards it.
    if not allowed and request.path != WS_PATH:
        log.info("refused %s %s from origin %r", request.method, request.path, origin)
        if request.method == "OPTIONS" or _is_api(request.path):
            return failure(403, CROSS_SITE)
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=200, headers=PREFLIGHT)
    else:
        # errors: HTTP 200 + code on web-console endpoints, the status on Pilot's (console.py)
        try:
            response = await handler(request)
        except ApiError as exc:
            http = http_status(request, exc.status)
            response = failure(exc.status, exc.message, exc.code, http_status=http)
            response.headers.update(exc.headers)
        except web.HTTPException as exc:
            if not _is_api(request.path) or exc.status < 400:
                raise
            response = failure(
                exc.status,
                f"{exc.reason}: {request.method} {request.path}",
                http_status=http_status(request, exc.status),
            )
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = failure(
                500,
                "the station failed to answer this request; see its log",
                http_status=http_status(request, 500),
            )
    if origin is not None and allowed and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


async def websocket(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/ws?x-auth-token=...: the token is checked before the handshake."""
    token = request.query.get("x-auth-token") or request.headers.get("x-auth-token")
    who = await check_token(request.app[STATION], request.app[SIGNER], token)
    audience = WEB if who.claims.user_type == 1 else PILOT  # the login's flag (§8.3)
    return await request.app[HUB].serve(request, who.claims.workspace_id, who.user.id, audience)


def init_app(
    station: Station,
    *,
    signer: TokenSigner | None = None,
    tls: TlsFiles | None = None,
    h5_folder: Path | None = None,
    origins: OriginPolicy | None = None,
    login_guard: LoginGuard | None = None,
) -> web.Application:
    """Build the application. The station must be started.

    Args:
        origins: the browser origins allowed besides same-origin pages (default: none).
        login_guard: the login back-off (default: one with the standard limits).
    """
    app = web.Application(middlewares=[cors_and_errors], client_max_size=1024**2)
    app[STATION] = station
    app[SIGNER] = signer or TokenSigner(
        station.settings.station.token_secret, station.settings.pilot.token_ttl_s
    )
    app[HUB] = WsHub()
    app[TLS] = tls
    app[TOPOLOGY_CACHE] = TopologyCache()
    app[ORIGINS] = origins or OriginPolicy()
    app[LOGIN_GUARD] = login_guard or LoginGuard()
    # health and devices before manage: `.../devices/hms` and `.../devices/bound` must not
    # read as devices called "hms" and "bound"
    app.add_routes(health.routes)
    app.add_routes(devices.routes)
    app.add_routes(firmware.routes)
    app.add_routes(logs.routes)
    maps.setup(app)  # the map module (§8.2 #2-#5, §8.4 map) and its pushes
    app.add_routes(media.routes)
    app.add_routes(manage.routes)
    app.add_routes(control.routes)
    waylines.setup(app)
    app.add_routes(live_record.routes)  # before live: `streams/record` is not `{action}`
    app.add_routes(live.routes)
    app.router.add_get(WS_PATH, websocket)
    h5.add_routes(app, h5_folder)
    if station.tiles is not None:
        add_tile_routes(app, station.tiles)
    app.cleanup_ctx.append(_feed_ctx)
    app.on_shutdown.append(_close_websockets)
    return app


async def _close_websockets(app: web.Application) -> None:
    await app[HUB].close_all()


async def _feed_ctx(app: web.Application) -> AsyncIterator[None]:
    feed = PilotFeed(app[STATION], app[HUB], app[TOPOLOGY_CACHE])
    commands = control.CommandFeed(app[STATION], app[HUB])
    alarms = health.HmsFeed(app[STATION], app[HUB])
    device_feed = devices.DeviceFeed(app[STATION], app[HUB])
    ota = firmware.OtaFeed(app[STATION], app[HUB])
    uploads = logs.LogsFeed(app[STATION], app[HUB])
    media_feed = media.MediaFeed(app[STATION], app[HUB])
    yield
    media_feed.close()
    uploads.close()
    ota.close()
    device_feed.close()
    alarms.close()
    commands.close()
    feed.close()
