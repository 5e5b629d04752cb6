"""The command API (protocol §8.4 `control` and the `property` endpoint of `manage`), and the
WebSocket push of command progress (§9 web-console codes).

Every route goes through the station's one command path (`gcs.station.commands`): the same
preconditions, history rows and progress as the desktop's buttons. A command the station refuses
answers HTTP 400 (409 for one that needs a confirmation) with the station's 2xxxxx code; a device
that refuses or fails it answers HTTP 200 with the device's DJI code in `code` and its meaning in
`message`, as the Demo's web console expects.

* `POST /control/api/v1/devices/{sn}/jobs/{service_identifier}` — body `{"action": n}` (Demo
  remote-debug switches), `{"data": {...}}` (the service's data as it is) or nothing; optional
  `"confirmed": true` for dangerous commands. Answers once the device has answered: `{job_id,
  bid, status}`; a job's progress then arrives on the WebSocket with the method as `biz_code`.
* `GET /control/api/v1/devices/{sn}/jobs` — that device's command history (newest first).
* `GET /control/api/v1/jobs/{job_id}` — one command's state.
* `PUT /manage/api/v1/devices/{ws}/devices/{sn}/property` — body `{"<property>": value, …}`: one
  `property/set` per property, in order, stopping at the first that fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from gcs.protocol.errors import StationCode
from gcs.station.bus import CommandChanged
from gcs.station.commands import CommandFailed, CommandOutcome, CommandRefused
from gcs.station.core import Station
from gcs.web.auth import Caller, caller
from gcs.web.envelope import ApiError, json_body, ok
from gcs.web.keys import STATION
from gcs.web.ws import WsHub

routes = web.RouteTableDef()

#: History rows one request may ask for.
MAX_HISTORY = 1000


def _device_in_workspace(station: Station, who: Caller, sn: str) -> None:
    view = station.registry.view(sn)
    if view is None or view.workspace_id != who.claims.workspace_id or not view.bound:
        raise ApiError(404, f"device {sn} is not bound to your workspace")


def refused_error(exc: CommandRefused) -> ApiError:
    status = 409 if exc.code == StationCode.CONFIRMATION_REQUIRED else 400
    if exc.code == StationCode.UNKNOWN_DEVICE:
        status = 404
    return ApiError(status, exc.en, exc.code)


def failed_error(exc: CommandFailed) -> ApiError:
    o = exc.outcome
    return ApiError(200, f"{o.method} {o.status}: {o.message_en}", exc.code)


def _outcome(o: CommandOutcome, bid: str = "") -> dict[str, Any]:
    p = o.progress
    return {
        "job_id": o.id,
        "sn": o.gateway_sn,
        "method": o.method,
        "bid": bid,
        "status": o.status,
        "result": o.result,
        "message": o.message_en,
        "message_zh": o.message_zh,
        "percent": p.percent if p is not None else None,
        "output": o.output,
    }


@routes.post("/control/api/v1/devices/{sn}/jobs/{service_identifier}")
async def post_job(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    sn = request.match_info["sn"]
    method = request.match_info["service_identifier"]
    _device_in_workspace(station, who, sn)
    body = await json_body(request)
    if "data" in body:
        data = body["data"]
    elif "action" in body:
        data = {"action": body["action"]}
    else:
        data = None
    confirmed = body.get("confirmed") is True
    commands = station.commands
    try:
        outcome = await commands.start_accepted(
            sn, method, data, actor=f"api:{who.user.username}", confirmed=confirmed
        )
    except CommandRefused as exc:
        raise refused_error(exc) from exc
    except CommandFailed as exc:
        raise failed_error(exc) from exc
    job = commands.job(outcome.id)
    return ok(_outcome(outcome, job.bid if job is not None else ""))


@routes.get("/control/api/v1/devices/{sn}/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    sn = request.match_info["sn"]
    _device_in_workspace(station, who, sn)
    try:
        limit = min(MAX_HISTORY, max(1, int(request.query.get("limit", "100"))))
    except ValueError as exc:
        raise ApiError(400, "'limit' must be a whole number") from exc
    rows = await station.commands.history(sn, limit)
    return ok(
        {
            "list": [
                {
                    "job_id": r.id,
                    "sn": r.gateway_sn,
                    "method": r.method,
                    "actor": r.actor,
                    "status": r.status,
                    "result": r.result,
                    "message": r.message,
                    "percent": r.percent,
                    "step": r.step,
                    "data": r.data,
                    "bid": r.bid,
                    "attempts": r.attempts,
                    "create_time": r.created_at,
                    "update_time": r.updated_at,
                }
                for r in rows
            ]
        }
    )


@routes.get("/control/api/v1/jobs/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    job = station.commands.job(request.match_info["job_id"])
    if job is None:
        raise ApiError(404, "no command with that id is in flight (see the device's history)")
    _device_in_workspace(station, who, job.gateway_sn)
    return ok(_outcome(station.commands.snapshot(job), job.bid))


@routes.put("/manage/api/v1/devices/{workspace_id}/devices/{sn}/property")
async def put_property(request: web.Request) -> web.Response:
    who = await caller(request)
    if request.match_info["workspace_id"] != who.claims.workspace_id:
        raise ApiError(403, "you are not a member of that workspace")
    station = request.app[STATION]
    sn = request.match_info["sn"]
    _device_in_workspace(station, who, sn)
    body = await json_body(request)
    if not body:
        raise ApiError(400, 'name at least one property: {"<property>": value}')
    done: dict[str, Any] = {}
    for name, value in body.items():
        try:
            outcome = await station.commands.set_property(
                sn, name, value, actor=f"api:{who.user.username}"
            )
        except CommandRefused as exc:
            raise refused_error(exc) from exc
        except CommandFailed as exc:
            raise failed_error(exc) from exc
        done[name] = _outcome(outcome)
    return ok(done)


class CommandFeed:
    """Pushes command progress to the device's workspace on the WebSocket (web-console codes:
    the method as `biz_code`, `{sn, bid, result, output{status, progress{percent, step_key}}}`),
    while alive; `close()` unsubscribes."""

    def __init__(self, station: Station, hub: WsHub) -> None:
        self.station = station
        self.hub = hub
        self._unsubscribe: Callable[[], None] = station.bus.subscribe(
            CommandChanged, self.on_command
        )

    def close(self) -> None:
        self._unsubscribe()

    def on_command(self, event: CommandChanged) -> None:
        if event.status in ("refused", "sent"):
            return
        view = self.station.registry.view(event.gateway_sn)
        ws = view.workspace_id if view is not None and view.bound else None
        if not self.hub.has_clients(ws):
            return
        self.hub.publish(
            ws,
            event.method if event.method != "property/set" else "property_set",
            {
                "sn": event.gateway_sn,
                "bid": event.bid,
                "job_id": event.job_id,
                "result": event.result or 0,
                "message": event.message_en,
                "output": {
                    "status": event.status,
                    "progress": {"percent": event.percent, "step_key": event.step},
                },
            },
        )
