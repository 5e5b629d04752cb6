"""Devices and users for web front ends (§8.4 `manage`, the Demo web console's API), and the
web-console WebSocket codes for devices (§9): to web-console logins `gateway_osd`, `dock_osd` and
an aircraft's whole `device_osd` (Pilot logins get the map keys of `device_osd`, and everyone
`device_online` / `device_offline`, from the Pilot feed, `gcs.web.feed`).

* `GET /manage/api/v1/devices/{ws}/devices` — the workspace's gateways with their aircraft as
  `children` (online ones first).
* `GET /manage/api/v1/devices/{ws}/devices/bound?domain=&page=&page_size=` — bound devices of a
  domain (0 aircraft, 2 RC, 3 dock), paged.
* `PUT /manage/api/v1/devices/{ws}/devices/{sn}` — rename (`nickname`).
* `DELETE /manage/api/v1/devices/{sn}/unbinding` — unbind (an admin, or the RC's own pilot).
* `GET /manage/api/v1/users/{ws}/users?page=&page_size=` — the workspace's users.
* `PUT /manage/api/v1/users/{ws}/users/{user_id}` — change a user's password (`password`): an
  admin for anyone, a pilot for themself. MQTT logins are the station's to manage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from gcs.protocol.models import payload_name
from gcs.station.bus import TelemetryUpdated
from gcs.station.core import Station
from gcs.station.devices import DeviceView
from gcs.station.firmware import Firmware
from gcs.station.onboarding import Onboarding
from gcs.station.users import UserError
from gcs.web.auth import Caller, caller
from gcs.web.envelope import ApiError, json_body, local_time, ok
from gcs.web.keys import STATION
from gcs.web.ws import WEB, WsHub

routes = web.RouteTableDef()

DOMAINS = {0: "aircraft", 1: "payload", 2: "remote controller", 3: "dock"}
MAX_PAGE_SIZE = 500


def _workspace(request: web.Request, who: Caller) -> str:
    ws = request.match_info["workspace_id"]
    if ws != who.claims.workspace_id:
        raise ApiError(403, f"you are not a member of workspace {ws}")
    return ws


def _page(request: web.Request) -> tuple[int, int]:
    try:
        page = max(1, int(request.query.get("page", "1")))
        size = min(MAX_PAGE_SIZE, max(1, int(request.query.get("page_size", "50"))))
    except ValueError as exc:
        raise ApiError(400, "'page' and 'page_size' must be whole numbers") from exc
    return page, size


#: `firmware_status` of the Demo's DeviceDTO: 1 up to date, 2 normal upgrade, 3 consistency
#: upgrade, 4 upgrading.
FIRMWARE_STATUS = {"": 1, "normal": 2, "consistency": 3}


PAYLOAD_KEY = re.compile(r"^\d+-\d+-\d+$")


def payloads_json(station: Station, aircraft_sn: str) -> list[dict[str, Any]]:
    """The aircraft's payloads as the web console reads them (DJI backend: DevicePayloadDTO):
    one per `{type}-{sub_type}-{position}` key of its OSD or entry of its `payloads` state, with
    the controlling side (`control_source`) the aircraft reports."""
    state = station.telemetry.current(aircraft_sn)
    reported = state.get("payloads")
    listed = {
        str(p["payload_index"]): p
        for p in (reported if isinstance(reported, list) else [])
        if isinstance(p, Mapping) and p.get("payload_index")
    }
    found = {k for k, v in state.items() if PAYLOAD_KEY.match(k) and isinstance(v, Mapping)}
    out = []
    for index in sorted(found | {k for k in listed if PAYLOAD_KEY.match(k)}):
        kind, sub, position = index.split("-")
        entry = listed.get(index, {})
        osd = state.get(index)
        sn = entry.get("sn") or (osd.get("sn") if isinstance(osd, Mapping) else "") or ""
        out.append(
            {
                "payload_sn": str(sn),
                "payload_name": payload_name(index) or index,
                "index": int(position),
                "payload_index": index,
                "model": f"1-{kind}-{sub}",
                "control_source": str(entry.get("control_source", "")),
            }
        )
    return out


def device_json(
    station: Station,
    view: DeviceView,
    *,
    children: bool = True,
    needs: dict[str, tuple[str, bool]] | None = None,
) -> dict[str, Any]:
    """A device the way the Demo's web console reads it (DeviceDTO): `children` is the
    gateway's aircraft as one object (or null), times are local-time strings."""
    domain, type_, sub = [*view.model_key.split("-"), "", "", ""][:3]
    user = station.capability(Onboarding).user_of_rc(view.sn)
    out: dict[str, Any] = {
        "device_sn": view.sn,
        "device_name": view.model_name,
        "nickname": view.callsign or view.model_name,
        "workspace_id": view.workspace_id or "",
        "device_desc": "",
        "domain": int(domain) if domain.isdigit() else view.domain,
        "type": int(type_) if type_.isdigit() else None,
        "sub_type": int(sub) if sub.isdigit() else None,
        "model_key": view.model_key,
        "status": view.online,
        "bound_status": view.bound,
        "firmware_version": view.firmware_version,
        "thing_version": view.thing_version,
        "login_time": local_time(view.last_seen),
        "bound_time": local_time(view.first_seen) if view.bound else None,
        "workspace_name": station.settings.station.workspace_name if view.bound else "",
        "payloads_list": payloads_json(station, view.sn) if view.domain == 0 else [],
        "child_device_sn": view.sub_devices[0] if view.sub_devices else "",
        "parent_sn": view.gateway_sn if view.gateway_sn != view.sn else "",
        "user_id": user[0] if user else "",
        "username": user[1] if user else "",
        "icon_url": {"normal_icon_url": view.icon_normal, "selected_icon_url": view.icon_selected},
    }
    need, upgrading = (needs or {}).get(view.sn, ("", False))
    out["firmware_status"] = 4 if upgrading else FIRMWARE_STATUS.get(need, 1)
    if children and view.is_gateway:
        kids = [station.registry.view(sn) for sn in view.sub_devices]
        first = next((k for k in kids if k is not None), None)
        out["children"] = (
            device_json(station, first, children=False, needs=needs) if first else None
        )
    return out


async def firmware_needs(station: Station, workspace_id: str) -> dict[str, tuple[str, bool]]:
    """Each device's (upgrade it needs, upgrading now), from the firmware library."""
    try:
        fw = station.capability(Firmware)
    except LookupError:
        return {}
    return {d.sn: (d.need, d.upgrading) for d in await fw.devices(workspace_id)}


@routes.get("/manage/api/v1/devices/{workspace_id}/devices")
async def list_devices(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = _workspace(request, who)
    gateways = [v for v in station.registry.gateways() if v.bound and v.workspace_id == ws]
    gateways.sort(key=lambda v: (not v.online, v.callsign or v.model_name, v.sn))
    needs = await firmware_needs(station, ws)
    return ok([device_json(station, g, needs=needs) for g in gateways])


@routes.get("/manage/api/v1/devices/{workspace_id}/devices/bound")
async def bound_devices(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = _workspace(request, who)
    page, size = _page(request)
    raw_domain = request.query.get("domain", "")
    domain: int | None = None
    if raw_domain != "":
        if not raw_domain.isdigit() or int(raw_domain) not in DOMAINS:
            raise ApiError(400, "'domain' must be 0 (aircraft), 2 (RC) or 3 (dock)")
        domain = int(raw_domain)
    views = [
        v
        for v in station.registry.all()
        if v.bound and v.workspace_id == ws and (domain is None or v.domain == domain)
    ]
    views.sort(key=lambda v: (not v.online, v.callsign or v.model_name, v.sn))
    chunk = views[(page - 1) * size : page * size]
    needs = await firmware_needs(station, ws)
    return ok(
        {
            "list": [device_json(station, v, needs=needs) for v in chunk],
            "pagination": {"page": page, "page_size": size, "total": len(views)},
        }
    )


@routes.put("/manage/api/v1/devices/{workspace_id}/devices/{device_sn}")
async def update_device(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = _workspace(request, who)
    sn = request.match_info["device_sn"]
    view = station.registry.view(sn)
    if view is None or view.workspace_id != ws:
        raise ApiError(404, f"device {sn} is not in this workspace")
    body = await json_body(request)
    nickname = body.get("nickname")
    if not isinstance(nickname, str) or not nickname.strip() or len(nickname) > 64:
        raise ApiError(400, "'nickname' must be a name of 1 to 64 characters")
    await station.registry.set_callsign(sn, nickname.strip())
    return ok({})


@routes.delete("/manage/api/v1/devices/{device_sn}/unbinding")
async def unbind_device(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    sn = request.match_info["device_sn"]
    view = station.registry.view(sn)
    if view is None or view.workspace_id != who.claims.workspace_id:
        raise ApiError(404, f"device {sn} is not in your workspace")
    pilot = station.capability(Onboarding).user_of_rc(sn)
    if who.user.role != "admin" and (pilot is None or pilot[0] != who.user.id):
        raise ApiError(403, "only an administrator, or the pilot of this RC, may unbind it")
    unbound = await station.registry.unbind(sn)
    return ok({"unbound": unbound})


@routes.get("/manage/api/v1/users/{workspace_id}/users")
async def list_users(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = _workspace(request, who)
    page, size = _page(request)
    users = [u for u in (station.users.all() if station.users else []) if u.workspace_id == ws]
    chunk = users[(page - 1) * size : page * size]
    name = station.settings.station.workspace_name
    return ok(
        {
            "list": [
                {
                    "user_id": u.id,
                    "username": u.username,
                    "role": u.role,
                    "user_type": 1 if u.role == "admin" else 2,
                    "workspace_name": name,
                    "mqtt_username": u.mqtt_username,
                    "create_time": u.created_at,
                }
                for u in chunk
            ],
            "pagination": {"page": page, "page_size": size, "total": len(users)},
        }
    )


@routes.put("/manage/api/v1/users/{workspace_id}/users/{user_id}")
async def update_user(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    _workspace(request, who)
    user_id = request.match_info["user_id"]
    if who.user.role != "admin" and user_id != who.user.id:
        raise ApiError(403, "a pilot may change only their own password")
    body = await json_body(request)
    password = body.get("password")
    if not isinstance(password, str):
        raise ApiError(400, 'send {"password": "..."}; MQTT logins are managed by the station')
    if station.users is None or station.users.get(user_id) is None:
        raise ApiError(404, f"no user {user_id}")
    try:
        await station.users.set_password(user_id, password)
    except UserError as exc:
        raise ApiError(400, str(exc)) from exc
    return ok({})


class DeviceFeed:
    """The web console's device codes on the WebSocket (§9), while alive."""

    def __init__(self, station: Station, hub: WsHub) -> None:
        self.station = station
        self.hub = hub
        # `device_online` / `device_offline` go to every client from the Pilot feed (DJI's
        # backend sends them once, in the topology shape, to Pilots and web consoles alike)
        self._unsubscribe: list[Callable[[], None]] = [
            station.bus.subscribe(TelemetryUpdated, self.on_telemetry),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def _ws(self, sn: str) -> str | None:
        view = self.station.registry.view(sn)
        return view.workspace_id if view is not None and view.bound else None

    def on_telemetry(self, event: TelemetryUpdated) -> None:
        if event.topic_kind != "osd":
            return
        ws = self._ws(event.sn)
        if not self.hub.has_clients(ws, WEB):
            return
        view = self.station.registry.view(event.sn)
        if view is None:
            return
        # As DJI's backend: docks and RCs send their OSD as reported (a dock reports in three
        # partial messages the console tells apart by their keys); an aircraft's `device_osd`
        # carries its whole current state (the console reads battery, mode_code, ... from it),
        # so a partial report never blanks its panel. Pilot logins get the map keys instead.
        if view.domain == 0:
            host: Mapping[str, Any] = dict(event.state)
            self.hub.publish(ws, "device_osd", {"sn": event.sn, "host": host}, WEB)
            return
        code = {3: "dock_osd", 2: "gateway_osd"}.get(view.domain)
        if code is not None:
            self.hub.publish(ws, code, {"sn": event.sn, "host": event.changed}, WEB)
