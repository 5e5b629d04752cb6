"""The Pilot web application: `init_app()` builds it around a station (tests build their own).

Routes: the `manage` API (gcs.web.manage), the WebSocket (gcs.web.ws), the H5 pages and CA
download (gcs.web.h5). Middlewares answer CORS pre-flights, add CORS headers, and turn refused
requests and unexpected errors into the DJI envelope (protocol §8.1) for API paths.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from gcs.station.core import Station
from gcs.web import control, h5, manage, waylines
from gcs.web.auth import check_token
from gcs.web.envelope import ApiError, failure
from gcs.web.feed import PilotFeed, TopologyCache
from gcs.web.keys import HUB, SIGNER, STATION, TLS, TOPOLOGY_CACHE
from gcs.web.tiles import add_tile_routes
from gcs.web.tls import TlsFiles
from gcs.web.tokens import TokenSigner
from gcs.web.ws import WsHub

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_PREFIXES = ("/manage/", "/map/", "/media/", "/storage/", "/wayline/", "/control/", "/api/")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Content-Type, x-auth-token, X-Auth-Token, X-Request-ID, X-Device-ID, X-Firmware-Version"
    ),
    "Access-Control-Max-Age": "3600",
}


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIXES)


@web.middleware
async def cors_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return web.Response(status=200, headers=CORS)
    try:
        response = await handler(request)
    except ApiError as exc:
        response = failure(exc.status, exc.message, exc.code)
    except web.HTTPException as exc:
        if not _is_api(request.path) or exc.status < 400:
            raise
        response = failure(exc.status, f"{exc.reason}: {request.method} {request.path}")
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        response = failure(500, "the station failed to answer this request; see its log")
    if not response.prepared:
        response.headers.update(CORS)
    return response


async def websocket(request: web.Request) -> web.StreamResponse:
    """GET /api/v1/ws?x-auth-token=...: the token is checked before the handshake."""
    token = request.query.get("x-auth-token") or request.headers.get("x-auth-token")
    who = await check_token(request.app[STATION], request.app[SIGNER], token)
    return await request.app[HUB].serve(request, who.claims.workspace_id, who.user.id)


def init_app(
    station: Station,
    *,
    signer: TokenSigner | None = None,
    tls: TlsFiles | None = None,
    h5_folder: Path | None = None,
) -> web.Application:
    """Build the application. The station must be started."""
    app = web.Application(middlewares=[cors_and_errors], client_max_size=1024**2)
    app[STATION] = station
    app[SIGNER] = signer or TokenSigner(
        station.settings.station.token_secret, station.settings.pilot.token_ttl_s
    )
    app[HUB] = WsHub()
    app[TLS] = tls
    app[TOPOLOGY_CACHE] = TopologyCache()
    app.add_routes(manage.routes)
    app.add_routes(control.routes)
    waylines.setup(app)
    app.router.add_get("/api/v1/ws", websocket)
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
    yield
    commands.close()
    feed.close()
