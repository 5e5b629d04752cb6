"""HTTP routes serving the station's offline base maps (MBTiles) to the desktop map and Pilot.

    GET /tiles/                           JSON index: every tileset with its XYZ URL template
    GET /tiles/{name}.json                one tileset's TileJSON-like description
    GET /tiles/{name}/{z}/{x}/{y}.{ext}   one tile (XYZ scheme, y from the north)
    GET /tiles/_all/{z}/{x}/{y}.png       every tileset layered: the newest that has the tile
                                          (its own format, whatever the extension says)

A missing tile answers 404 with an empty body (Leaflet then leaves the square blank); tiles are
immutable for a given tileset file, so they carry a day of browser caching. Reads run in the
default executor because SQLite blocks.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from gcs.station.tiles import TileError, TileStore

__all__ = ["TILE_STORE", "add_tile_routes", "make_tiles_app"]

TILE_STORE = web.AppKey("tile_store", TileStore)
_CORS = {"Access-Control-Allow-Origin": "*"}


def add_tile_routes(app: web.Application, tiles: TileStore) -> None:
    """Mount the tile routes on `app` and keep `tiles` under `TILE_STORE`."""
    app[TILE_STORE] = tiles
    app.router.add_get("/tiles", _index)
    app.router.add_get("/tiles/", _index)
    app.router.add_get("/tiles/{name}.json", _tileset)
    app.router.add_get(r"/tiles/_all/{z:\d+}/{x:\d+}/{y:\d+}.{ext}", _layered_tile)
    app.router.add_get(r"/tiles/{name}/{z:\d+}/{x:\d+}/{y:\d+}.{ext}", _tile)


def make_tiles_app(tiles: TileStore) -> web.Application:
    """A standalone application serving only the tile routes (tests, tools)."""
    app = web.Application()
    add_tile_routes(app, tiles)
    return app


async def _index(request: web.Request) -> web.Response:
    store = request.app[TILE_STORE]
    sets = await asyncio.get_running_loop().run_in_executor(None, store.list)
    doc: dict[str, object] = {"tilesets": [t.as_json() for t in sets]}
    if sets:
        doc["layered"] = {
            "minzoom": min(t.min_zoom for t in sets),
            "maxzoom": max(t.max_zoom for t in sets),
            "scheme": "xyz",
            "tiles": [LAYERED_URL],
        }
    return web.json_response(doc, headers=_CORS)


LAYERED_URL = "/tiles/_all/{z}/{x}/{y}.png"


async def _layered_tile(request: web.Request) -> web.Response:
    store = request.app[TILE_STORE]
    z, x, y = (int(request.match_info[k]) for k in ("z", "x", "y"))
    found = await asyncio.get_running_loop().run_in_executor(None, store.layered_tile, z, x, y)
    if found is None:
        raise web.HTTPNotFound(headers=_CORS)
    data, content_type = found
    # Not cached for long: a download in progress adds tiles to the layered map.
    return web.Response(
        body=data, content_type=content_type, headers={**_CORS, "Cache-Control": "max-age=60"}
    )


async def _tileset(request: web.Request) -> web.Response:
    store = request.app[TILE_STORE]
    try:
        info = await asyncio.get_running_loop().run_in_executor(
            None, store.get, request.match_info["name"]
        )
    except TileError as exc:
        raise web.HTTPNotFound(text=str(exc), headers=_CORS) from exc
    return web.json_response(info.as_json(), headers=_CORS)


async def _tile(request: web.Request) -> web.Response:
    store = request.app[TILE_STORE]
    name = request.match_info["name"]
    z, x, y = (int(request.match_info[k]) for k in ("z", "x", "y"))
    loop = asyncio.get_running_loop()
    try:
        info = await loop.run_in_executor(None, store.get, name)
        data = await loop.run_in_executor(None, store.tile, name, z, x, y)
    except TileError as exc:
        raise web.HTTPNotFound(text=str(exc), headers=_CORS) from exc
    ext = request.match_info["ext"].lower()
    if {"jpeg": "jpg"}.get(ext, ext) != info.format:
        raise web.HTTPNotFound(
            text=f"tileset {name!r} holds {info.format} tiles, not {ext}", headers=_CORS
        )
    if data is None:
        raise web.HTTPNotFound(headers=_CORS)
    return web.Response(
        body=data,
        content_type=info.content_type,
        headers={**_CORS, "Cache-Control": "public, max-age=86400"},
    )
