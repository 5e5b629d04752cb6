"""Recording live video over HTTP (issue 12), beside the §8.4 live endpoints.

`POST /manage/api/v1/live/streams/record` — `{video_id, action: "start" | "stop"}`:

* `start` starts (or reuses) the camera's stream and records it to MP4 without re-encoding;
  answers `{video_id, recording: true, requested_ms, first_picture_ms}` (`first_picture_ms`
  null: the device has not started pushing yet; the recording begins with its first picture).
  Recording a camera that is already being recorded answers the running recording.
* `stop` finishes the file and adds it to the media library; answers `{video_id,
  recording: false, media: {id, object_key, name, size, ...}}` (`media` null when no picture
  was recorded).

`POST /manage/api/v1/live/streams/snapshot` — `{video_id}`: the station starts (or reuses) the
camera's stream, decodes its first picture and saves it as a JPEG in the media library, with
the position of the camera's device, as the desktop's Snapshot button does; answers `{video_id,
media: {...}}`. No picture within 20 s (the device does not push): 211001.

Refusals answer the station's 2xxxxx code (no video engine in this build: 210005; not being
recorded: 201404 with HTTP 404), a device's refusal its own code, as the other live endpoints.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gcs.protocol.errors import StationCode
from gcs.station.commands import CommandFailed, CommandRefused
from gcs.station.live_record import ActiveRecording, LiveRecording
from gcs.station.media import MediaRow
from gcs.web.auth import caller
from gcs.web.control import failed_error, refused_error
from gcs.web.envelope import ApiError, json_body, ok
from gcs.web.keys import STATION
from gcs.web.live import _video_id

routes = web.RouteTableDef()


def _active(rec: ActiveRecording) -> dict[str, Any]:
    return {
        "video_id": rec.video_id,
        "recording": True,
        "device_sn": rec.device_sn,
        "requested_ms": rec.requested_ms,
        "first_picture_ms": rec.first_picture_ms,
    }


def _media(row: MediaRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "object_key": row.object_key,
        "name": row.name,
        "size": row.size,
        "device_sn": row.device_sn,
        "kind": row.kind,
        "lens": row.lens,
        "create_time": row.create_time,
    }


@routes.post("/manage/api/v1/live/streams/record")
async def record(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    body = await json_body(request)
    action = body.get("action")
    if action not in ("start", "stop"):
        raise ApiError(
            400,
            f'\'action\' must be "start" or "stop", not {action!r}',
            StationCode.INVALID_PARAMETER,
        )
    vid = _video_id(station, who, body)
    recordings = station.capability(LiveRecording)
    actor = f"api:{who.user.username}"
    try:
        if action == "start":
            return ok(_active(await recordings.start_recording(vid, actor=actor)))
        row = await recordings.stop_recording(vid, actor=actor)
    except CommandRefused as exc:
        if exc.code == StationCode.NOT_FOUND:
            raise ApiError(404, exc.en, exc.code) from exc
        raise refused_error(exc) from exc
    except CommandFailed as exc:
        raise failed_error(exc) from exc
    return ok({"video_id": vid, "recording": False, "media": _media(row)})


@routes.post("/manage/api/v1/live/streams/snapshot")
async def snapshot(request: web.Request) -> web.Response:
    who = await caller(request)
    station = request.app[STATION]
    body = await json_body(request)
    vid = _video_id(station, who, body)
    recordings = station.capability(LiveRecording)
    try:
        row = await recordings.grab_snapshot(vid, actor=f"api:{who.user.username}")
    except CommandRefused as exc:
        raise refused_error(exc) from exc
    except CommandFailed as exc:
        raise failed_error(exc) from exc
    return ok({"video_id": vid, "media": _media(row)})
