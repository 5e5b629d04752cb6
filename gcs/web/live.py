"""Live video over HTTP (§8.4 `manage` live endpoints, the Demo web console's shapes).

* `GET /manage/api/v1/live/capacity` — what the workspace's gateways can stream: per source
  device its cameras and videos (`{sn, name, gateway_sn, cameras_list[{index, name,
  videos_list[{id, index, type, switch_video_types}]}]}`) and the running streams with their
  `error_status` in words.
* `POST /manage/api/v1/live/streams/start` — `{url_type, video_id, video_quality}`: starts the
  stream (a camera already live is reused) and answers `{url, url_type, video_id, ...}`, `url`
  being where a player reads it from the station. Without `url_type`, a Dock 3 streams by WHIP
  (4) when the media server serves it and every other device by RTMP (1). url_type 0 (Agora)
  and 3 (GB28181) send the stream to the service set up in `[live.agora]` / `[live.gb28181]`:
  `url` is then empty and `destination` says where it goes.
* `POST /manage/api/v1/live/streams/stop` — `{video_id}`.
* `POST /manage/api/v1/live/streams/update` — `{video_id, video_quality}`.
* `POST /manage/api/v1/live/streams/switch` — `{video_id, video_type}` (lens) or
  `{video_id, camera_position}` (dock camera inside 0 / outside 1).
* `GET /manage/api/v1/live/streams` — the streams the station runs for the workspace's
  gateways (Pilot's own shares included, `share: true`), with `publishing`.
* `POST /manage/api/v1/live/share` — `{rc_sn}`: the RTMP URL (with its own secret) that the H5
  page sets in Pilot's `liveshare` module for that RC (`gcs.station.liveshare`).

Refusals by the station answer HTTP 400/404 with its 2xxxxx code; a device's refusal answers
HTTP 200 with the device's code (513xxx) and its meaning, as the Demo's web console expects.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gcs.protocol.errors import StationCode
from gcs.station.commands import CommandFailed, CommandRefused
from gcs.station.core import Station
from gcs.station.live import Live, Stream, parse_video_id
from gcs.station.liveshare import LIVESHARE_RTMP, LiveShare
from gcs.web.auth import Caller, caller
from gcs.web.control import failed_error, refused_error
from gcs.web.envelope import ApiError, json_body, ok
from gcs.web.keys import STATION

routes = web.RouteTableDef()


def _mine(station: Station, who: Caller) -> set[str]:
    return {
        v.sn
        for v in station.registry.all()
        if v.bound and v.workspace_id == who.claims.workspace_id
    }


def _video_id(station: Station, who: Caller, body: dict[str, Any]) -> str:
    vid = body.get("video_id")
    parsed = parse_video_id(vid)
    if parsed is None or not isinstance(vid, str):
        raise ApiError(
            400,
            f"video_id {vid!r} is not of the form {{sn}}/{{camera_index}}/{{video_index}}",
            StationCode.INVALID_PARAMETER,
        )
    gw = station.capability(Live).gateway_of(vid)
    if gw is None or gw not in _mine(station, who):
        raise ApiError(
            404,
            f"unknown video_id {vid}: no gateway of your workspace reports it",
            StationCode.NOT_FOUND,
        )
    return vid


def _int_field(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, f"'{name}' must be a whole number", StationCode.INVALID_PARAMETER)
    return value


def stream_json(live: Live, s: Stream) -> dict[str, Any]:
    status = live.status_of(s)
    return {
        "video_id": s.video_id,
        "gateway_sn": s.gateway_sn,
        "url_type": s.url_type,
        "url": live.playback_url(s),
        "video_quality": s.video_quality,
        "video_type": s.video_type,
        "reused": s.reused,
        "device_output": s.device_output,
        "viewers": s.viewers,
        "publishing": s.publishing,
        "share": s.share,
        "external": s.external,
        "destination": s.destination,
        "destination_zh": s.destination_zh,
        "actor": s.actor,
        "status": int(status.live) if status is not None else None,
        "error_status": status.error_status if status is not None else 0,
        "message": status.error_en if status is not None else "",
        "message_zh": status.error_zh if status is not None else "",
    }


@routes.get("/manage/api/v1/live/streams")
async def list_streams(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    live = station.capability(Live)
    mine = _mine(station, who)
    streams = sorted(live.streams.values(), key=lambda s: s.video_id)
    return ok([stream_json(live, s) for s in streams if s.gateway_sn in mine])


@routes.post("/manage/api/v1/live/share")
async def share(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    body = await json_body(request)
    rc_sn = body.get("rc_sn")
    if not isinstance(rc_sn, str) or rc_sn not in _mine(station, who):
        raise ApiError(
            404,
            f"remote controller {rc_sn!r} is not bound to your workspace",
            StationCode.NOT_FOUND,
        )
    try:
        stream = await station.capability(LiveShare).issue(
            rc_sn, actor=f"pilot:{who.user.username}"
        )
    except CommandRefused as exc:
        raise refused_error(exc) from exc
    return ok(
        {
            "rc_sn": rc_sn,
            "video_id": stream.video_id,
            "url": stream.ingest_url,
            "liveshare_type": LIVESHARE_RTMP,
            "publishing": stream.publishing,
        }
    )


@routes.get("/manage/api/v1/live/capacity")
async def capacity(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    live = station.capability(Live)
    mine = _mine(station, who)
    out: list[dict[str, Any]] = []
    for gw_sn, g in sorted(live.gateways.items()):
        if gw_sn not in mine:
            continue
        devices: dict[str, dict[str, Any]] = {}
        for src in g.sources:
            view = station.registry.view(src.sn)
            dev = devices.setdefault(
                src.sn,
                {
                    "sn": src.sn,
                    "name": (view.callsign or view.model_name) if view is not None else src.sn,
                    "gateway_sn": gw_sn,
                    "cameras_list": [],
                },
            )
            cams = dev["cameras_list"]
            cam = next((c for c in cams if c["index"] == src.camera_index), None)
            if cam is None:
                cam = {"index": src.camera_index, "name": src.camera_index, "videos_list": []}
                cams.append(cam)
            cam["videos_list"].append(
                {
                    "id": src.video_id,
                    "index": src.video_index,
                    "type": src.video_type,
                    "switch_video_types": list(src.switchable),
                }
            )
        status: list[dict[str, Any]] = [
            {
                "video_id": e.video_id,
                "video_type": e.video_type,
                "video_quality": e.video_quality,
                "status": int(e.live),
                "error_status": e.error_status,
                "message": e.error_en,
                "message_zh": e.error_zh,
            }
            for e in g.status
        ]
        for dev in devices.values():
            dev["live_status"] = [
                s for s in status if str(s["video_id"]).startswith(dev["sn"] + "/")
            ]
            out.append(dev)
    return ok(out)


@routes.post("/manage/api/v1/live/streams/{action}")
async def streams(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    live = station.capability(Live)
    action = request.match_info["action"]
    if action not in ("start", "stop", "update", "switch"):
        raise ApiError(404, f"no live action {action!r} (start, stop, update, switch)")
    body = await json_body(request)
    vid = _video_id(station, who, body)
    actor = f"api:{who.user.username}"
    try:
        if action == "start":
            stream = await live.start_stream(
                vid,
                url_type=None if body.get("url_type") is None else _int_field(body, "url_type"),
                video_quality=_int_field(body, "video_quality", 0),
                actor=actor,
            )
            return ok(stream_json(live, stream))
        if action == "stop":
            await live.stop_stream(vid, actor=actor)
        elif action == "update":
            await live.set_quality(vid, _int_field(body, "video_quality"), actor=actor)
        elif "camera_position" in body:
            await live.change_camera(vid, _int_field(body, "camera_position"), actor=actor)
        else:
            lens = body.get("video_type")
            if not isinstance(lens, str):
                raise ApiError(
                    400,
                    "'video_type' (lens) or 'camera_position' is needed",
                    StationCode.INVALID_PARAMETER,
                )
            await live.change_lens(vid, lens, actor=actor)
    except CommandRefused as exc:
        raise refused_error(exc) from exc
    except CommandFailed as exc:
        raise failed_error(exc) from exc
    s = live.stream(vid)
    return ok(stream_json(live, s) if s is not None else {"video_id": vid})
