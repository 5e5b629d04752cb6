"""Pilot's `manage` API (protocol §8.2 #1 and §8.3): login, tokens, user, workspace, binding,
topology. Handlers parse input, call the station and shape the answer; rules live in the station.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from gcs.protocol.errors import StationCode
from gcs.station.bus import LogEntry
from gcs.station.core import Station
from gcs.station.devices import RequestRefused
from gcs.station.onboarding import Onboarding
from gcs.station.records import UserRow
from gcs.web import topology
from gcs.web.auth import Caller, caller, check_token
from gcs.web.envelope import ApiError, json_body, ok
from gcs.web.keys import SIGNER, STATION, TOPOLOGY_CACHE
from gcs.web.login_guard import check_login, note_login
from gcs.web.tokens import TokenSigner

FLAG_WEB, FLAG_PILOT = 1, 2

routes = web.RouteTableDef()


def text_field(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ApiError(400, f"'{name}' is required and must be a non-empty string")
    return value


def mqtt_addr(station: Station) -> str:
    return f"tcp://{station.mqtt_host}:{station.mqtt_port}"


async def user_data(station: Station, user: UserRow, user_type: int) -> dict[str, Any]:
    s = station.settings.station
    if station.users is None:
        raise ApiError(503, "the station is starting; try again in a moment")
    mqtt_user, mqtt_password = station.pilot_mqtt_login(*await station.users.mqtt_login(user))
    return {
        "user_id": user.id,
        "username": user.username,
        "user_type": user_type,
        "role": user.role,
        "workspace_id": user.workspace_id,
        "workspace_name": s.workspace_name,
        "platform_name": s.platform_name,
        "mqtt_username": mqtt_user,
        "mqtt_password": mqtt_password,
        "mqtt_addr": mqtt_addr(station),
    }


def issue(signer: TokenSigner, user: UserRow, user_type: int = 0) -> str:
    """A token for `user`; `user_type` (the login's `flag`) picks the WebSocket pushes it gets."""
    return signer.issue(
        user_id=user.id,
        username=user.username,
        role=user.role,
        workspace_id=user.workspace_id,
        epoch=user.token_epoch,
        user_type=user_type,
    )


def _user_type(user: UserRow) -> int:
    return FLAG_WEB if user.role == "admin" else FLAG_PILOT


@routes.post("/manage/api/v1/login")
async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username = text_field(body, "username")
    password = text_field(body, "password")
    flag = body.get("flag", FLAG_PILOT)
    if flag not in (FLAG_WEB, FLAG_PILOT) or isinstance(flag, bool):
        raise ApiError(400, "'flag' must be 1 (web user) or 2 (pilot user)")
    check_login(request, username)
    station = request.app[STATION]
    users = station.users
    user = await users.authenticate(username, password) if users is not None else None
    note_login(request, username, ok=user is not None)
    if user is None:
        refused = f"login of {username!r} refused: wrong user name or password"
        _log_login(station, request, refused, "warning")
        raise ApiError(403, "wrong user name or password")
    if flag == FLAG_WEB and user.role != "admin":
        raise ApiError(403, f"user {username} is a pilot and may not log in as a web user")
    data = await user_data(station, user, flag)
    data["access_token"] = issue(request.app[SIGNER], user, flag)
    _log_login(station, request, f"{username} logged in ({'web' if flag == FLAG_WEB else 'Pilot'})")
    return ok(data)


def _log_login(station: Station, request: web.Request, message: str, level: str = "info") -> None:
    """A login, or a refused one, as an operator event (with the caller's address)."""
    text = f"{message} from {request.remote or '?'}"
    station.bus.publish(LogEntry(int(time.time() * 1000), "login", level, text))


@routes.post("/manage/api/v1/token/refresh")
async def refresh(request: web.Request) -> web.Response:
    station = request.app[STATION]
    token = request.headers.get("x-auth-token")
    who = await check_token(station, request.app[SIGNER], token)
    await json_body(request)  # must still be well-formed if present
    data = await user_data(station, who.user, _user_type(who.user))
    data["access_token"] = issue(request.app[SIGNER], who.user, who.claims.user_type)
    return ok(data)


@routes.get("/manage/api/v1/users/current")
async def users_current(request: web.Request) -> web.Response:
    who = await caller(request)
    return ok(await user_data(request.app[STATION], who.user, _user_type(who.user)))


@routes.get("/manage/api/v1/workspaces/current")
async def workspaces_current(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    ws = station.registry.workspace(who.claims.workspace_id)
    if ws is None:
        raise ApiError(404, f"workspace {who.claims.workspace_id} does not exist on this station")
    return ok(
        {
            "workspace_id": ws.id,
            "workspace_name": ws.name,
            "workspace_desc": ws.description,
            "platform_name": ws.platform_name,
            "bind_code": ws.bind_code,
        }
    )


def _same_workspace(who: Caller, workspace_id: str) -> None:
    if workspace_id != who.claims.workspace_id:
        raise ApiError(403, f"you are not a member of workspace {workspace_id}")


@routes.post("/manage/api/v1/devices/{device_sn}/binding")
async def bind_device(request: web.Request) -> web.Response:
    who = await caller(request)
    body = await json_body(request)
    sn = request.match_info["device_sn"]
    body_sn = text_field(body, "device_sn", required=False)
    if body_sn and body_sn != sn:
        raise ApiError(400, f"'device_sn' {body_sn!r} differs from the serial in the path {sn!r}")
    workspace_id = text_field(body, "workspace_id", required=False) or who.claims.workspace_id
    _same_workspace(who, workspace_id)
    user_id = text_field(body, "user_id", required=False)
    if user_id and user_id != who.user.id:
        raise ApiError(403, "a device can only be bound for yourself ('user_id' is not yours)")
    station = request.app[STATION]
    try:
        await station.capability(Onboarding).bind_rc(sn, workspace_id, who.user)
    except RequestRefused as exc:
        raise ApiError(404 if exc.code == StationCode.UNKNOWN_DEVICE else 403, str(exc)) from exc
    request.app[TOPOLOGY_CACHE].clear()  # the RC's user is part of the topology
    return ok({})


def _topologies(station: Station, workspace_id: str, user_of: topology.UserOf) -> dict[str, Any]:
    registry = station.registry
    gateways = [g for g in registry.gateways() if g.bound and g.workspace_id == workspace_id]

    def aircraft_of(gw: Any) -> list[Any]:
        return [v for sn in gw.sub_devices if (v := registry.view(sn)) is not None]

    return topology.topologies(gateways, aircraft_of, station.settings.pilot.device_icons, user_of)


def _user_of(station: Station) -> topology.UserOf:
    return station.capability(Onboarding).user_of_rc


@routes.get("/manage/api/v1/workspaces/{workspace_id}/devices/topologies")
async def topologies(request: web.Request) -> web.Response:
    who = await caller(request)
    workspace_id = request.match_info["workspace_id"]
    _same_workspace(who, workspace_id)
    cache = request.app[TOPOLOGY_CACHE]
    body = cache.get(workspace_id)
    if body is None:
        station = request.app[STATION]
        data = _topologies(station, workspace_id, _user_of(station))
        body = orjson.dumps({"code": 0, "message": "success", "data": data})
        cache.put(workspace_id, body)
    return web.Response(body=body, content_type="application/json")


@routes.get("/manage/api/v1/devices/{workspace_id}/devices/{device_sn}")
async def device(request: web.Request) -> web.Response:
    who = await caller(request)
    workspace_id = request.match_info["workspace_id"]
    _same_workspace(who, workspace_id)
    station = request.app[STATION]
    view = station.registry.view(request.match_info["device_sn"])
    if view is None or view.workspace_id != workspace_id:
        raise ApiError(404, f"device {request.match_info['device_sn']} is not in this workspace")
    entry = topology.topo_entry(view, station.settings.pilot.device_icons, _user_of(station))
    entry["workspace_id"] = workspace_id
    entry["firmware_version"] = view.firmware_version
    return ok(entry)


@routes.post("/storage/api/v1/workspaces/{workspace_id}/sts")
async def storage_sts(request: web.Request) -> web.Response:
    """Temporary upload credentials for Pilot's media and wayline uploads (§8.2 #6)."""
    who = await caller(request)
    workspace_id = request.match_info["workspace_id"]
    _same_workspace(who, workspace_id)
    station = request.app[STATION]
    try:
        grant = await station.sts_for(f"pilot/{workspace_id}/")
    except RequestRefused as exc:
        raise ApiError(500, str(exc)) from exc
    return ok(grant)
