"""Live streaming on a simulated gateway: which streams run, and the `live_*` service rules (§7).

A started stream appears in `live_status` (what a station shows), with the result codes a real
dock answers when a request does not fit (513xxx); an RTMP stream also pushes a real H.264
picture to the URL it was given (`gcs.sim.video`, when PyAV is installed), and a WHIP stream
(url_type 4, Dock 3 / Matrice 4) pushes it over WebRTC (`gcs.sim.whip`, when aiortc is too).
An Agora (0) or GB28181 (3) stream is accepted when its url has the keys of §7.3, reported in
`live_status`, and pushed nowhere (the simulator reaches no external service).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gcs.sim import codes, video, whip

Sources = Callable[[], dict[str, list[tuple[str, list[str]]]]]
"""{source SN: [(camera_index, switchable video types)]}, as in `live_capacity`."""


@dataclass(slots=True)
class LiveStream:
    video_id: str
    sn: str
    camera_index: str
    video_index: str
    video_type: str
    video_quality: int
    url_type: int
    url: str


def _video_id(value: Any) -> tuple[str, str, str] | None:
    """(source SN, camera index, video index) of `"{sn}/{camera_index}/{video_index}"`."""
    if not isinstance(value, str) or value.count("/") != 2:
        return None
    sn, camera_index, video_index = value.split("/")
    if not (sn and camera_index and video_index):
        return None
    return sn, camera_index, video_index


def _quality(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4
    return value if ok else None


#: The keys of the `url` of url_types that are key=value lists (protocol §7.3).
URL_KEYS = {
    0: ("channel", "sn", "token", "uid"),
    2: ("userName", "password", "port"),
    3: (
        "serverIP",
        "serverPort",
        "serverID",
        "agentID",
        "agentPassword",
        "localPort",
        "channel",
    ),
}
_NUMERIC_KEYS = ("uid", "port", "serverPort", "localPort")


def url_fits(url_type: int, url: str) -> bool:
    """Whether a key=value `url` has every key of its url_type, each with a value (numbers
    where numbers go); other url_types are full URLs and always fit here."""
    keys = URL_KEYS.get(url_type)
    if keys is None:
        return True
    fields = dict(p.split("=", 1) for p in url.split("&") if "=" in p)
    if any(not fields.get(k) for k in keys):
        return False
    return all(fields[k].isdigit() for k in keys if k in _NUMERIC_KEYS)


def rtsp_url(params: str) -> str:
    """The URL an RC serving RTSP answers `live_start_push` (url_type 2) with."""
    fields = dict(p.split("=", 1) for p in params.split("&") if "=" in p)
    port = fields.get("port", "8554")
    user, password = fields.get("userName", "user"), fields.get("password", "")
    return f"rtsp://{user}:{password}@127.0.0.1:{port}/streaming/live/1"


class LiveStreams:
    """The streams one gateway runs, keyed `"{sn}/{camera_index}"` (DJI matches running
    streams on source and camera, not on the whole video id: protocol §7.2)."""

    def __init__(
        self,
        sources: Sources,
        url_types: frozenset[int],
        source_online: Callable[[str], bool] = lambda sn: True,
    ) -> None:
        self._sources = sources
        self.url_types = url_types
        self._source_online = source_online
        self.streams: dict[str, LiveStream] = {}
        #: Real pictures pushed for RTMP and WHIP streams (when PyAV/aiortc are there), by key.
        self.pushes: dict[str, video.CameraPush | whip.WhipPush] = {}
        self.push_video = video.available()
        self.push_whip = whip.available()

    def status(self) -> list[dict[str, Any]]:
        """The `live_status` state value."""
        return [
            {
                "video_id": s.video_id,
                "video_type": s.video_type,
                "video_quality": s.video_quality,
                "status": 1,
                "error_status": 0,
            }
            for s in self.streams.values()
        ]

    def clear(self, sn: str | None = None) -> bool:
        """Stop every stream (of source `sn` only, if given). Returns True if any stopped."""
        before = len(self.streams)
        self.streams = {k: v for k, v in self.streams.items() if sn is not None and v.sn != sn}
        for key in [k for k in self.pushes if k not in self.streams]:
            self._end_push(key)
        return len(self.streams) != before

    def stop_pushes(self) -> None:
        """End every picture being pushed (the simulator is stopping)."""
        for key in list(self.pushes):
            self._end_push(key)

    def _begin_push(self, key: str) -> None:
        stream = self.streams[key]
        push: video.CameraPush | whip.WhipPush
        if self.push_video and stream.url_type == 1:
            push = video.CameraPush(stream.url, stream.video_quality, stream.video_type)
        elif self.push_whip and stream.url_type == 4:
            push = whip.WhipPush(stream.url, stream.video_quality, stream.video_type)
        else:
            return
        self._end_push(key)
        self.pushes[key] = push
        push.start()

    def _end_push(self, key: str) -> None:
        push = self.pushes.pop(key, None)
        if push is not None:
            push.stop()

    def _types(self, sn: str, camera_index: str) -> list[str] | None:
        for index, types in self._sources().get(sn, []):
            if index == camera_index:
                return types
        return None

    def _running(self, data: dict[str, Any]) -> tuple[LiveStream | None, int]:
        parsed = _video_id(data.get("video_id"))
        if parsed is None:
            return None, codes.LIVE_BAD_PARAMETERS
        stream = self.streams.get(f"{parsed[0]}/{parsed[1]}")
        return stream, codes.OK if stream is not None else codes.LIVE_NOT_LIVE

    def start(self, data: dict[str, Any]) -> tuple[int, Any]:
        """`live_start_push`: (result, output); output is the RTSP URL for url_type 2."""
        parsed = _video_id(data.get("video_id"))
        url, url_type = data.get("url"), data.get("url_type")
        quality = _quality(data.get("video_quality", 0))
        if parsed is None or not isinstance(url, str) or not isinstance(url_type, int):
            return codes.LIVE_BAD_PARAMETERS, None
        if url_type not in self.url_types:
            return codes.LIVE_PROTOCOL_UNSUPPORTED, None
        if not url_fits(url_type, url):
            return codes.LIVE_BAD_PARAMETERS, None
        if quality is None:
            return codes.LIVE_BAD_QUALITY, None
        sn, camera_index, video_index = parsed
        types = self._types(sn, camera_index)
        if types is None:
            return codes.LIVE_CAMERA_MISSING, None
        if not self._source_online(sn):
            return codes.AIRCRAFT_NOT_CONNECTED, None
        key = f"{sn}/{camera_index}"
        if key in self.streams:
            return codes.LIVE_ALREADY, None
        video_type = video_index.split("-")[0]
        self.streams[key] = LiveStream(
            video_id=f"{sn}/{camera_index}/{video_index}",
            sn=sn,
            camera_index=camera_index,
            video_index=video_index,
            video_type=video_type if video_type in types else types[0],
            video_quality=quality,
            url_type=url_type,
            url=url,
        )
        self._begin_push(key)
        return codes.OK, rtsp_url(url) if url_type == 2 else None

    def stop(self, data: dict[str, Any]) -> tuple[int, Any]:
        """`live_stop_push`."""
        stream, result = self._running(data)
        if stream is not None:
            key = f"{stream.sn}/{stream.camera_index}"
            del self.streams[key]
            self._end_push(key)
        return result, None

    def set_quality(self, data: dict[str, Any]) -> tuple[int, Any]:
        """`live_set_quality`."""
        stream, result = self._running(data)
        if stream is None:
            return result, None
        quality = _quality(data.get("video_quality"))
        if quality is None:
            return codes.LIVE_BAD_QUALITY, None
        if quality != stream.video_quality:
            stream.video_quality = quality
            self._begin_push(f"{stream.sn}/{stream.camera_index}")  # a new picture size
        return codes.OK, None

    def change_lens(self, data: dict[str, Any]) -> tuple[int, Any]:
        """`live_lens_change`: the lens must be one the camera can switch to."""
        stream, result = self._running(data)
        if stream is None:
            return result, None
        video_type = data.get("video_type")
        types = self._types(stream.sn, stream.camera_index) or []
        if not isinstance(video_type, str) or video_type not in types:
            return codes.LIVE_BAD_PARAMETERS, None
        stream.video_type = video_type
        push = self.pushes.get(f"{stream.sn}/{stream.camera_index}")
        if push is not None:
            push.lens = video_type
        return codes.OK, None

    def change_camera(self, data: dict[str, Any]) -> tuple[int, Any]:
        """`live_camera_change` (Dock 2/3 camera inside/outside): accepted while live."""
        stream, result = self._running(data)
        if stream is None:
            return result, None
        if data.get("camera_position") not in (0, 1):
            return codes.LIVE_BAD_PARAMETERS, None
        return codes.OK, None
