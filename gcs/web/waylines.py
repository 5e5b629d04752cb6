"""Pilot 2's wayline module (protocol §8.2 #11–#16) and the web console's wayline library import
(§8.4 `POST .../waylines/file/upload`, `DELETE .../waylines/{id}`).

Handlers parse the request, call the station's wayline library (`gcs.station.waylines`) and
translate its refusals: a refused file answers 400 with the library's code, its reason and, in
`data.findings`, every finding of `gcs.wpml` (English and Chinese).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import BodyPartReader, web

from gcs.station.core import Station
from gcs.station.waylines import (
    MAX_KMZ_BYTES,
    ORDER_COLUMNS,
    WaylineError,
    WaylineQuery,
    Waylines,
    to_pilot,
)
from gcs.web.auth import Caller, caller
from gcs.web.envelope import ApiError, ok
from gcs.web.keys import STATION

routes = web.RouteTableDef()

BASE = "/wayline/api/v1/workspaces/{workspace_id}"
#: How long the `/url` redirect's presigned GET stays valid (Pilot downloads at once).
REDIRECT_TTL_S = 600
MAX_PAGE_SIZE = 1000


def refused(exc: WaylineError) -> web.Response:
    """The DJI envelope for a refused library operation, findings included."""
    body = {
        "code": exc.code,
        "message": exc.en,
        "data": {
            "message_zh": exc.zh,
            "findings": [f.to_dict() for f in exc.findings],
        },
    }
    return web.json_response(body, status=exc.status, dumps=lambda d: orjson.dumps(d).decode())


async def member(request: web.Request) -> tuple[Station, Caller, str]:
    """The station, the caller and the workspace of the path (403 for another workspace)."""
    who = await caller(request)
    workspace_id = request.match_info["workspace_id"]
    if workspace_id != who.claims.workspace_id:
        raise ApiError(403, "you are not a member of that workspace")
    return request.app[STATION], who, workspace_id


def library(station: Station) -> Any:
    try:
        return station.capability(Waylines).library
    except LookupError as exc:
        raise ApiError(404, "this station has no wayline library") from exc


def _bool(value: str, name: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"'{name}' must be true or false")


def _int(value: str, name: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise ApiError(400, f"'{name}' must be a whole number") from None
    if not low <= n <= high:
        raise ApiError(400, f"'{name}' must be between {low} and {high}")
    return n


def _order(text: str) -> tuple[tuple[str, bool], ...]:
    out = []
    for part in text.split(","):
        words = part.strip().split()
        if not words:
            continue
        column = words[0]
        direction = words[1].lower() if len(words) > 1 else "asc"
        if column not in ORDER_COLUMNS or direction not in ("asc", "desc") or len(words) > 2:
            raise ApiError(
                400,
                f"'order_by' {part.strip()!r}: use name, update_time or create_time, "
                "then asc or desc",
            )
        out.append((column, direction == "desc"))
    return tuple(out) or (("update_time", True),)


def parse_query(query: Any) -> WaylineQuery:
    """Pilot's listing parameters; repeated and `[]`-suffixed keys both accepted."""

    def many(*names: str) -> list[str]:
        return [v for n in names for v in query.getall(n, [])]

    favorited = query.get("favorited")
    action_type = query.get("action_type")
    return WaylineQuery(
        order_by=_order(query.get("order_by", "update_time desc")),
        page=_int(query.get("page", "1"), "page", 1, 10**6),
        page_size=_int(query.get("page_size", "10"), "page_size", 1, MAX_PAGE_SIZE),
        favorited=_bool(favorited, "favorited") if favorited else None,
        template_types=tuple(
            _int(v, "template_type", 0, 3) for v in many("template_type", "template_type[]")
        ),
        action_type=_int(action_type, "action_type", 0, 10) if action_type else None,
        drone_model_keys=tuple(many("drone_model_keys", "drone_model_keys[]", "drone_model_key")),
        payload_model_keys=tuple(
            many("payload_model_key", "payload_model_key[]", "payload_model_keys")
        ),
        key=query.get("key", ""),
    )


@routes.get(BASE + "/waylines")
async def list_waylines(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    query = parse_query(request.query)
    rows, total = await library(station).search(ws, query)
    return ok(
        {
            "list": [to_pilot(r) for r in rows],
            "pagination": {"page": query.page, "page_size": query.page_size, "total": total},
        }
    )


@routes.get(BASE + "/waylines/duplicate-names")
async def duplicate_names(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    names = request.query.getall("name", []) + request.query.getall("name[]", [])
    return ok(await library(station).duplicate_names(ws, names))


@routes.get(BASE + "/waylines/{wayline_id}/url")
async def wayline_url(request: web.Request) -> web.StreamResponse:
    station, _, ws = await member(request)
    lib = library(station)
    try:
        row = await lib.get(ws, request.match_info["wayline_id"])
    except WaylineError as exc:
        return refused(exc)
    raise web.HTTPFound(lib.url(row, REDIRECT_TTL_S))


@routes.delete(BASE + "/waylines/{wayline_id}")
async def delete_wayline(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    try:
        await library(station).delete(ws, request.match_info["wayline_id"])
    except WaylineError as exc:
        return refused(exc)
    return ok()


@routes.put(BASE + "/waylines/{wayline_id}")
async def rename_wayline(request: web.Request) -> web.Response:
    """Rename (our addition to the console API): body `{"name": "..."}`."""
    station, _, ws = await member(request)
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str):
        raise ApiError(400, 'give the new name: {"name": "..."}')
    try:
        row = await library(station).rename(ws, request.match_info["wayline_id"], name)
    except WaylineError as exc:
        return refused(exc)
    return ok(to_pilot(row))


@routes.post(BASE + "/upload-callback")
async def upload_callback(request: web.Request) -> web.Response:
    """Pilot put a KMZ in the bucket with its STS credentials (§8.2 #14)."""
    station, who, ws = await member(request)
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    object_key, name = body.get("object_key"), body.get("name")
    if not isinstance(object_key, str) or not object_key:
        raise ApiError(400, "'object_key' is missing")
    if not isinstance(name, str) or not name:
        raise ApiError(400, "'name' is missing")
    if not object_key.startswith(f"pilot/{ws}/"):
        raise ApiError(403, "the object is not in this workspace's upload folder")
    try:
        await library(station).register_object(
            object_key, workspace_id=ws, name=name, author=who.user.username
        )
    except WaylineError as exc:
        return refused(exc)
    return ok({})


def _ids(request: web.Request) -> list[str]:
    ids = request.query.getall("id", []) + request.query.getall("id[]", [])
    if not ids:
        raise ApiError(400, "name at least one wayline: ?id=...")
    return ids


@routes.post(BASE + "/favorites")
async def add_favorites(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    await library(station).set_favorited(ws, _ids(request), True)
    return ok({})


@routes.delete(BASE + "/favorites")
async def remove_favorites(request: web.Request) -> web.Response:
    station, _, ws = await member(request)
    await library(station).set_favorited(ws, _ids(request), False)
    return ok({})


@routes.post(BASE + "/waylines/file/upload")
async def upload_file(request: web.Request) -> web.Response:
    """Multipart KMZ import (§8.4): the part named `file` (or the first file part)."""
    station, who, ws = await member(request)
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError) as exc:
        raise ApiError(400, "send the KMZ as multipart/form-data (field 'file')") from exc
    filename = data = None
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.filename is None:
            continue
        filename = part.filename
        chunks = []
        size = 0
        while chunk := await part.read_chunk(256 * 1024):
            size += len(chunk)
            if size > MAX_KMZ_BYTES:
                raise ApiError(413, f"the file is larger than {MAX_KMZ_BYTES} bytes")
            chunks.append(chunk)
        data = b"".join(chunks)
        break
    if filename is None or data is None:
        raise ApiError(400, "no file in the upload (multipart field 'file')")
    if not filename.lower().endswith(".kmz"):
        raise ApiError(400, f"{filename} is not a .kmz file")
    try:
        imported = await library(station).import_kmz(
            data, filename=filename, workspace_id=ws, author=who.user.username
        )
    except WaylineError as exc:
        return refused(exc)
    return ok(
        {
            **to_pilot(imported.row),
            "warnings": [f.to_dict() for f in imported.findings],
        }
    )
