"""HMS alarms over HTTP (§8.4 `manage` devices/hms) and the WebSocket (`device_hms`, §9).

* `GET /manage/api/v1/devices/{ws}/devices/hms` — history with the Demo's query parameters:
  `device_sn` (repeatable), `level`, `begin_time`/`end_time` (ms), `message` (text), `update_time`
  (0 → unread only), `active` (1 → not cleared), `page`, `page_size`; answers
  `{list, pagination{page, page_size, total}}`.
* `GET /manage/api/v1/devices/{ws}/devices/hms/{sn}` — the device's active alarms.
* `PUT /manage/api/v1/devices/{ws}/devices/hms/{sn}` — mark the device's alarms read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from gcs.station.bus import HmsChanged
from gcs.station.core import Station
from gcs.station.health import Health
from gcs.station.records import AlarmQuery, AlarmRow
from gcs.web.auth import Caller, caller
from gcs.web.envelope import ApiError, local_time, ok
from gcs.web.keys import STATION
from gcs.web.ws import WsHub

routes = web.RouteTableDef()

MAX_PAGE_SIZE = 500


def alarm_json(a: AlarmRow) -> dict[str, Any]:
    return {
        "hms_id": str(a.id),
        "tid": a.tid,
        "bid": a.bid,
        "sn": a.sn,
        "gateway_sn": a.gateway_sn,
        "level": a.level,
        "module": a.module,
        "key": a.key,
        "code": a.code,
        "in_the_sky": int(a.in_the_sky),
        "imminent": int(a.imminent),
        "message_en": a.text_en,
        "message_zh": a.text_zh,
        # The Demo's web console shows these as text and an active alarm's end as null.
        "create_time": local_time(a.raised_at),
        "update_time": local_time(a.cleared_at),
        "read_time": local_time(a.read_at),
        "create_time_ms": a.raised_at,
        "clear_time_ms": a.cleared_at,
    }


def _workspace(request: web.Request, who: Caller) -> str:
    ws = request.match_info["workspace_id"]
    if ws != who.claims.workspace_id:
        raise ApiError(403, f"you are not a member of workspace {ws}")
    return ws


def _int(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(400, f"'{name}' must be a whole number") from exc


def _devices_of(station: Station, workspace_id: str) -> set[str]:
    return {v.sn for v in station.registry.all() if v.bound and v.workspace_id == workspace_id}


@routes.get("/manage/api/v1/devices/{workspace_id}/devices/hms")
async def list_hms(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = _workspace(request, who)
    mine = _devices_of(station, ws)
    asked = [sn for value in request.query.getall("device_sn", []) for sn in value.split(",") if sn]
    sns = tuple(sn for sn in asked if sn in mine) if asked else tuple(sorted(mine))
    page = max(1, _int(request, "page", 1) or 1)
    size = min(MAX_PAGE_SIZE, max(1, _int(request, "page_size", 50) or 50))
    if not sns:  # no device of this workspace asked for (or none bound yet)
        return ok({"list": [], "pagination": {"page": page, "page_size": size, "total": 0}})
    query = AlarmQuery(
        sns=sns,
        level=_int(request, "level"),
        since_ms=_int(request, "begin_time"),
        until_ms=_int(request, "end_time"),
        text=request.query.get("message", ""),
        unread_only=_int(request, "update_time") == 0,
        active_only=_int(request, "active") == 1,
        offset=(page - 1) * size,
        limit=size,
    )
    rows, total = await station.capability(Health).history(query)
    return ok(
        {
            "list": [alarm_json(r) for r in rows],
            "pagination": {"page": page, "page_size": size, "total": total},
        }
    )


@routes.get("/manage/api/v1/devices/{workspace_id}/devices/hms/{device_sn}")
async def device_hms(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = _workspace(request, who)
    sn = request.match_info["device_sn"]
    if sn not in _devices_of(station, ws):
        raise ApiError(404, f"device {sn} is not bound to your workspace")
    return ok([alarm_json(a) for a in station.capability(Health).active(sn)])


@routes.put("/manage/api/v1/devices/{workspace_id}/devices/hms/{device_sn}")
async def read_hms(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = _workspace(request, who)
    sn = request.match_info["device_sn"]
    if sn not in _devices_of(station, ws):
        raise ApiError(404, f"device {sn} is not bound to your workspace")
    n = await station.capability(Health).mark_read([sn])
    return ok({"read": n})


class HmsFeed:
    """Pushes newly raised alarms to the device's workspace as `device_hms` (the Demo's web
    console shape: one message per alarm) while alive; `close()` unsubscribes."""

    def __init__(self, station: Station, hub: WsHub) -> None:
        self.station = station
        self.hub = hub
        self._unsubscribe: Callable[[], None] = station.bus.subscribe(HmsChanged, self.on_hms)

    def close(self) -> None:
        self._unsubscribe()

    def on_hms(self, event: HmsChanged) -> None:
        if not event.raised:
            return
        view = self.station.registry.view(event.gateway_sn)
        ws = view.workspace_id if view is not None and view.bound else None
        if not self.hub.has_clients(ws):
            return
        for alarm in event.raised:
            self.hub.publish(ws, "device_hms", alarm_json(alarm))
