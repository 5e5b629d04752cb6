"""Live video (protocol §7, §4.1): what each gateway can stream, and starting, changing and
stopping its streams through the station's one command path.

Theory of operation. Every dock and RC reports `live_capacity` (the video sources it can stream:
devices → cameras → videos) and `live_status` (the streams running, with an `error_status`) in
its `state`; `properties()` keeps both per gateway, the status entries worded in EN/ZH, and
announces a change as `LiveChanged`. A stream is started with `start()`: the `video_id` is
checked against the gateway's capacity (a precondition of the `live_start_push` spec, so a
refusal is recorded and shown like any other), the station's own ingest URL is built with a
secret made for this stream only (`Ingest`), and `live_start_push` is sent (reply timeout 20 s,
§1.3). A camera already streaming — ours, or the device answers 513003 — is reused, not
restarted. Quality, lens and dock camera changes go to the running stream; `stop()` sends
`live_stop_push` and forgets the secret, so the URL stops working. Streams nobody watches (no
`watch()` lease for `idle_stop_s`) are stopped by the station.

The media server that receives the pushes asks `authorize(name, secret)`: a push to an unknown
stream or with a wrong secret is refused.

Agora (url_type 0) and GB28181 (url_type 3) are passed through: the url is built from the
operator's `[live.agora]` / `[live.gb28181]` settings (`gcs.station.live_external`), refused
before sending when they are missing, and the stream is kept (state, who started it, where it
goes) but never played nor reaped by the station. With no url_type asked for, a Dock 3 (and its
Matrice 4D/4TD) streams by WHIP when the media server serves it, every other device by RTMP.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from gcs.aio import spawn
from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode, describe
from gcs.protocol.topics import TopicKind
from gcs.station import live_external
from gcs.station.bus import Event, LogEntry
from gcs.station.capability import Capability, PropertyHandler
from gcs.station.commands import (
    ONLINE,
    CommandFailed,
    CommandRefused,
    CommandSpec,
    Precondition,
    Refusal,
    Target,
)
from gcs.video.process import MediaError, MediaProcess

log = logging.getLogger(__name__)

#: §1.3: the reference platform waits 20 s for the reply of a live-stream service.
LIVE_REPLY_TIMEOUT_S = 20.0
#: §7.4: "this camera is already streaming" (dock 513003; the last five digits for RC/Pilot).
ALREADY_LIVE = 13003
#: A stream nobody watches is stopped after this many seconds.
IDLE_STOP_S = 120.0

URL_TYPES = {0: "Agora", 1: "RTMP", 2: "RTSP", 3: "GB28181", 4: "WHIP"}
#: url_types the station's own media server receives: RTMP push, RTSP pulled from an RC, and
#: WHIP (WebRTC, aiortc in the media server: Dock 3 / Matrice 4). Agora and GB28181 need
#: external services.
OWN_URL_TYPES = (1, 2, 4)
#: url_types sent on to a service the operator set up (gcs.station.live_external).
EXTERNAL_URL_TYPES = live_external.EXTERNAL_URL_TYPES
#: Gateways that stream by WHIP by default (protocol §2.2 model keys: DJI Dock 3), and the
#: aircraft that come with them (Matrice 4D / 4TD).
WHIP_GATEWAYS = frozenset({"3-3-0"})
WHIP_AIRCRAFT = frozenset({"0-100-0", "0-100-1"})
LENSES = ("normal", "wide", "zoom", "ir", "thermal")

_VIDEO_ID = re.compile(r"^([A-Za-z0-9]{1,64})/(\d{1,3}-\d{1,3}-\d{1,3})/([a-z]{1,16}-\d{1,3})$")


def parse_video_id(value: Any) -> tuple[str, str, str] | None:
    """(source SN, camera index, video index) of `"{sn}/{camera_index}/{video_index}"` (§7.2)."""
    if not isinstance(value, str):
        return None
    m = _VIDEO_ID.match(value)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def stream_key(video_id: str) -> str:
    """The source and camera of a video id: running streams match on it, not on the video
    index (a Dock 3 reports `…/99-0-0/wide-0` for a stream started as `…/99-0-0/normal-0`)."""
    parsed = parse_video_id(video_id)
    return f"{parsed[0]}/{parsed[1]}" if parsed else video_id


def is_already_live(code: int | None) -> bool:
    return bool(code) and code is not None and code % 100000 == ALREADY_LIVE


# -- what gateways report --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VideoSource:
    """One streamable video of a gateway's `live_capacity`."""

    video_id: str
    sn: str
    camera_index: str
    video_index: str
    video_type: str
    switchable: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One `live_status` entry with its `error_status` in words."""

    video_id: str
    video_type: str
    video_quality: int | None
    live: bool
    error_status: int
    error_en: str
    error_zh: str


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def capacity_sources(capacity: Any) -> list[VideoSource]:
    """The videos a `live_capacity` object lists; malformed parts are skipped."""
    out: list[VideoSource] = []
    if not isinstance(capacity, dict):
        return out
    for device in _list(capacity.get("device_list")):
        if not isinstance(device, dict) or not isinstance(device.get("sn"), str):
            continue
        for camera in _list(device.get("camera_list")):
            if not isinstance(camera, dict) or not isinstance(camera.get("camera_index"), str):
                continue
            for video in _list(camera.get("video_list")):
                if not isinstance(video, dict) or not isinstance(video.get("video_index"), str):
                    continue
                switchable = _list(video.get("switchable_video_types"))
                vid = f"{device['sn']}/{camera['camera_index']}/{video['video_index']}"
                out.append(
                    VideoSource(
                        video_id=vid,
                        sn=device["sn"],
                        camera_index=camera["camera_index"],
                        video_index=video["video_index"],
                        video_type=str(video.get("video_type") or ""),
                        switchable=tuple(t for t in switchable if isinstance(t, str)),
                    )
                )
    return out


def status_entries(status: Any) -> list[StatusEntry]:
    """The `live_status` array with each `error_status` explained (EN/ZH)."""
    out: list[StatusEntry] = []
    if not isinstance(status, list):
        return out
    for item in status:
        if not isinstance(item, dict) or not isinstance(item.get("video_id"), str):
            continue
        err = item.get("error_status")
        code = err if isinstance(err, int) and not isinstance(err, bool) else 0
        meaning = describe(code)
        quality = item.get("video_quality")
        out.append(
            StatusEntry(
                video_id=item["video_id"],
                video_type=str(item.get("video_type") or ""),
                video_quality=quality if isinstance(quality, int) else None,
                live=item.get("status") == 1,
                error_status=code,
                error_en="" if code == 0 else meaning.en,
                error_zh="" if code == 0 else meaning.zh,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class GatewayLive:
    """What one gateway last reported: its streamable videos and its running streams."""

    gateway_sn: str
    capacity: Mapping[str, Any] | None = None
    sources: tuple[VideoSource, ...] = ()
    status: tuple[StatusEntry, ...] = ()
    updated_ms: int = 0


# -- the streams the station runs ------------------------------------------------------------


@dataclass(slots=True)
class Stream:
    """A stream the station asked for. `secret` is in the ingest URL handed to the device."""

    video_id: str
    gateway_sn: str
    name: str
    secret: str
    url_type: int
    video_quality: int
    ingest_url: str
    video_type: str = ""
    reused: bool = False
    device_output: Any = None
    started_ms: int = 0
    viewers: int = 0
    remote_viewers: int = 0
    publishing: bool = False
    token: str = ""
    idle_since: float = field(default_factory=time.monotonic)
    #: Pilot's own live share (H5 `liveshare`, `gcs.station.liveshare`): the pilot starts and
    #: stops it on the RC, so the station neither reaps it nor sends `live_stop_push` for it.
    share: bool = False
    #: Who asked for it (`actor` of the command), and for Agora/GB28181 where it goes (EN/ZH).
    actor: str = ""
    destination: str = ""
    destination_zh: str = ""

    @property
    def key(self) -> str:
        return stream_key(self.video_id)

    @property
    def external(self) -> bool:
        """Sent to an external service (Agora, GB28181): the station cannot play it."""
        return self.url_type in EXTERNAL_URL_TYPES


@dataclass(frozen=True, slots=True)
class LiveChanged(Event):
    """A gateway's capacity/status changed, or a stream started or stopped."""

    gateway_sn: str
    video_id: str = ""
    what: str = "status"


@dataclass(frozen=True, slots=True)
class Ingest:
    """Where devices push and players read: the station's media server as devices reach it
    (§7.3 URL formats)."""

    host: str
    rtmp_port: int = 1935
    http_port: int = 8090
    rtsp_port: int = 8554

    def url(self, url_type: int, name: str, secret: str) -> str:
        """The `url` of `live_start_push` for this stream (secret included)."""
        if url_type == 1:
            return f"rtmp://{self.host}:{self.rtmp_port}/live/{name}?secret={secret}"
        if url_type == 2:  # the RC serves RTSP itself; it gets the credentials to protect it
            return f"userName=gcs&password={quote(secret, safe='')}&port={self.rtsp_port}"
        if url_type == 4:  # WHIP on the media server's HTTP port, SRS-style as in §7.3
            return (
                f"http://{self.host}:{self.http_port}/rtc/v1/whip/"
                f"?app=live&stream={name}&secret={secret}"
            )
        raise ValueError(f"url_type {url_type} is not served by the station")

    def playback(self, name: str, token: str) -> str:
        """Where a player reads the stream (MPEG-TS over HTTP from the media server)."""
        return f"http://{self.host}:{self.http_port}/live/{name}.ts?token={token}"


def rtsp_source(output: Any) -> str | None:
    """The RTSP URL an RC answers `live_start_push` (url_type 2) with (§4.1: `output` is the
    URL; a `{"url": ...}` object is accepted too)."""
    if isinstance(output, dict):
        output = output.get("url")
    if isinstance(output, str) and output.startswith(("rtsp://", "rtsps://")):
        return output
    return None


def stream_name(video_id: str) -> str:
    """A URL-safe name of a video source: `{sn}-{camera_index}` (the Demo's convention)."""
    parsed = parse_video_id(video_id)
    if parsed is None:
        raise ValueError(f"not a video_id: {video_id!r}")
    return f"{parsed[0]}-{parsed[1]}"


# -- preconditions ---------------------------------------------------------------------------


def _capacity_of(t: Target) -> list[VideoSource]:
    return capacity_sources(t.gateway_state.get("live_capacity"))


def _known_video(t: Target) -> Refusal | None:
    data = t.data if isinstance(t.data, dict) else {}
    vid = data.get("video_id")
    parsed = parse_video_id(vid)
    if parsed is None:
        return Refusal(
            StationCode.INVALID_PARAMETER,
            f"video_id {vid!r} is not of the form {{sn}}/{{camera_index}}/{{video_index}}",
            f"video_id {vid!r} 格式应为 {{sn}}/{{camera_index}}/{{video_index}}",
        )
    sources = _capacity_of(t)
    if not sources:
        return Refusal(
            StationCode.PRECONDITION_FAILED,
            f"{t.gateway.sn} has not reported what it can stream (live_capacity) yet",
            f"{t.gateway.sn} 尚未上报直播能力（live_capacity）",
        )
    sn, camera, _video = parsed
    if not any(s.sn == sn and s.camera_index == camera for s in sources):
        return Refusal(
            StationCode.NOT_FOUND,
            f"unknown video_id {vid}: {t.gateway.sn} offers no camera {camera} on {sn}",
            f"未知的 video_id {vid}：{t.gateway.sn} 没有 {sn} 的相机 {camera}",
        )
    return None


def _quality_ok(t: Target) -> Refusal | None:
    data = t.data if isinstance(t.data, dict) else {}
    q = data.get("video_quality", 0)
    if isinstance(q, int) and not isinstance(q, bool) and 0 <= q <= 4:
        return None
    return Refusal(
        StationCode.INVALID_PARAMETER,
        f"video_quality must be 0 (auto) to 4 (ultra HD), not {q!r}",
        f"video_quality 应为 0（自动）到 4（超清），而不是 {q!r}",
    )


def _lens_ok(t: Target) -> Refusal | None:
    data = t.data if isinstance(t.data, dict) else {}
    lens = data.get("video_type")
    if lens in LENSES:
        return None
    return Refusal(
        StationCode.INVALID_PARAMETER,
        f"video_type must be one of {', '.join(LENSES)}, not {lens!r}",
        f"video_type 应为 {'、'.join(LENSES)} 之一，而不是 {lens!r}",
    )


def _camera_position_ok(t: Target) -> Refusal | None:
    data = t.data if isinstance(t.data, dict) else {}
    if data.get("camera_position") in (0, 1):
        return None
    return Refusal(
        StationCode.INVALID_PARAMETER,
        "camera_position must be 0 (inside the dock) or 1 (outside)",
        "camera_position 应为 0（舱内）或 1（舱外）",
    )


KNOWN_VIDEO = Precondition("known_video", _known_video)
QUALITY_OK = Precondition("video_quality", _quality_ok)
LENS_OK = Precondition("video_type", _lens_ok)
CAMERA_POSITION_OK = Precondition("camera_position", _camera_position_ok)


def _live(method: str, en: str, zh: str, *pre: Precondition) -> CommandSpec:
    return CommandSpec(
        method, en, zh, reply_timeout_s=LIVE_REPLY_TIMEOUT_S, preconditions=(ONLINE, *pre)
    )


LIVE_COMMANDS: tuple[CommandSpec, ...] = (
    _live("live_start_push", "Start live video", "开始直播", KNOWN_VIDEO, QUALITY_OK),
    _live("live_stop_push", "Stop live video", "停止直播", KNOWN_VIDEO),
    _live("live_set_quality", "Live video quality", "直播清晰度", KNOWN_VIDEO, QUALITY_OK),
    _live("live_lens_change", "Live video lens", "直播镜头切换", KNOWN_VIDEO, LENS_OK),
    _live(
        "live_camera_change",
        "Dock camera inside/outside",
        "机场舱内/舱外相机切换",
        KNOWN_VIDEO,
        CAMERA_POSITION_OK,
    ),
)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Live(Capability):
    name = "live"

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self.gateways: dict[str, GatewayLive] = {}
        self.streams: dict[str, Stream] = {}  # by stream_key (source SN/camera index)
        self.idle_stop_s = IDLE_STOP_S
        self.ingest: Ingest | None = None
        self.media: MediaProcess | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # -- capability hooks ------------------------------------------------------------------

    def commands(self) -> Sequence[CommandSpec]:
        return LIVE_COMMANDS

    def properties(self) -> PropertyHandler | None:
        return self._on_state

    async def start(self) -> None:
        cfg = self.station.settings.live
        self.idle_stop_s = cfg.idle_stop_s
        if self.ingest is None:
            self.ingest = Ingest(self.station.public_host, cfg.rtmp_port, cfg.http_port)
        self._reaper = spawn(self._reap_loop(), name="live-reaper")

    async def ensure_media(self) -> MediaProcess | None:
        """The media server, started on first use (a station nobody streams from runs none)."""
        cfg = self.station.settings.live
        if self.media is not None or not cfg.enabled:
            return self.media
        loop = asyncio.get_running_loop()
        media = MediaProcess(
            host=self.station.settings.station.host or "0.0.0.0",
            rtmp_port=cfg.rtmp_port,
            http_port=cfg.http_port,
            log_path=self.station.data_dir / "logs" / "media.log",
            on_event=lambda ev: self._from_media(loop, ev),
        )
        try:
            await loop.run_in_executor(None, media.start)
        except MediaError as exc:
            self._say("", "error", f"live video: {exc}")
            return None
        self.media = media
        assert self.ingest is not None
        self.ingest = replace(self.ingest, rtmp_port=media.rtmp_port, http_port=media.http_port)
        self._watchdog = spawn(self._watch_media(), name="live-media-watchdog")
        return media

    async def stop(self) -> None:
        for task in (self._reaper, self._watchdog):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._reaper = self._watchdog = None
        if self.media is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.media.stop)
            self.media = None

    async def _watch_media(self) -> None:
        """Restart the media server when it dies (its streams are added again)."""
        while True:
            await asyncio.sleep(0.5)
            media = self.media
            if media is None or media.alive():
                continue
            self._say("", "warning", "live video: the media server stopped; restarting it")
            for stream in self.streams.values():
                stream.publishing = False
            try:
                await asyncio.get_running_loop().run_in_executor(None, media.restart)
            except MediaError as exc:
                self._say("", "error", f"live video: {exc}")
                await asyncio.sleep(5.0)

    def _from_media(self, loop: asyncio.AbstractEventLoop, ev: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(self._on_media_event, ev)

    def _on_media_event(self, ev: dict[str, Any]) -> None:
        name = str(ev.get("name", ""))
        stream = next((s for s in self.streams.values() if s.name == name), None)
        kind = ev.get("event")
        if kind == "refused":
            self._say(stream.gateway_sn if stream else "", "warning", str(ev.get("message")))
        elif stream is None:
            return
        elif kind == "pull_failed":
            self._say(stream.gateway_sn, "warning", str(ev.get("message")))
        elif kind in ("publishing", "unpublished"):
            stream.publishing = kind == "publishing"
            self.station.bus.publish(
                LiveChanged(_now_ms(), stream.gateway_sn, stream.video_id, kind)
            )
        elif kind == "viewers":
            n = ev.get("n")
            stream.remote_viewers = n if isinstance(n, int) else 0
            if stream.remote_viewers == 0 and stream.viewers == 0:
                stream.idle_since = time.monotonic()

    def playback_url(self, stream: Stream) -> str:
        """Where a player reads the stream from the station ("" when it goes elsewhere)."""
        if stream.external:
            return ""
        assert self.ingest is not None
        return self.ingest.playback(stream.name, stream.token)

    def _on_state(self, msg: Message) -> None:
        if msg.kind is not TopicKind.STATE or not isinstance(msg.data, dict):
            return
        data = msg.data
        if "live_capacity" not in data and "live_status" not in data:
            return
        sn = msg.sn
        current = self.gateways.get(sn) or GatewayLive(sn)
        if "live_capacity" in data:
            cap = data["live_capacity"]
            current = replace(
                current,
                capacity=cap if isinstance(cap, dict) else None,
                sources=tuple(capacity_sources(cap)),
            )
        if "live_status" in data:
            entries = tuple(status_entries(data["live_status"]))
            for e in entries:
                if e.error_status and e not in current.status:
                    self._say(sn, "warning", f"live video {e.video_id}: {e.error_en}")
            current = replace(current, status=entries)
            self._follow_status(sn, entries)
        self.gateways[sn] = replace(current, updated_ms=_now_ms())
        self.station.bus.publish(LiveChanged(_now_ms(), sn))

    def _follow_status(self, gateway_sn: str, entries: tuple[StatusEntry, ...]) -> None:
        """Keep the lens of our streams as the device reports it."""
        by_key = {stream_key(e.video_id): e for e in entries}
        for stream in self.streams.values():
            if stream.gateway_sn == gateway_sn and stream.key in by_key:
                stream.video_type = by_key[stream.key].video_type or stream.video_type

    # -- what the station shows ------------------------------------------------------------

    def gateway_of(self, video_id: str) -> str | None:
        """The gateway whose capacity lists the camera of `video_id`."""
        key = stream_key(video_id)
        for sn, g in self.gateways.items():
            if any(f"{s.sn}/{s.camera_index}" == key for s in g.sources):
                return sn
        return None

    def stream(self, video_id: str) -> Stream | None:
        return self.streams.get(stream_key(video_id))

    def authorize(self, name: str, secret: str) -> Stream | None:
        """The stream a media server may accept a push for (name and secret must match)."""
        for s in self.streams.values():
            if s.external or not s.secret:
                continue
            if s.name == name and secrets.compare_digest(s.secret, secret):
                return s
        return None

    def status_of(self, stream: Stream) -> StatusEntry | None:
        """What the stream's gateway last reported about it in `live_status`."""
        g = self.gateways.get(stream.gateway_sn)
        if g is None:
            return None
        return next((e for e in g.status if stream_key(e.video_id) == stream.key), None)

    def prefers_whip(self, gateway_sn: str, video_id: str) -> bool:
        """Whether this device streams by WHIP by default: a Dock 3, or a Matrice 4D/4TD
        under a dock (model keys of the registry, §2.2)."""
        registry = self.station.registry
        gw = registry.view(gateway_sn)
        if gw is not None and gw.model_key in WHIP_GATEWAYS:
            return True
        parsed = parse_video_id(video_id)
        source = registry.view(parsed[0]) if parsed is not None else None
        return (
            source is not None
            and source.model_key in WHIP_AIRCRAFT
            and gw is not None
            and gw.domain == 3
        )

    async def choose_url_type(self, gateway_sn: str, video_id: str, asked: int | None) -> int:
        """The url_type to use: WHIP (4) for a Dock 3 when nothing was asked for (or RTMP
        was, with `[live] prefer_whip` on) and the media server serves WHIP; else RTMP (1)
        when nothing was asked for; else what was asked."""
        cfg = self.station.settings.live
        if asked is None or (asked == 1 and cfg.prefer_whip):
            if self.prefers_whip(gateway_sn, video_id):
                media = await self.ensure_media()
                if media is not None and media.whip:
                    return 4
            return 1
        return asked

    # -- commands --------------------------------------------------------------------------

    def _gateway(self, video_id: Any, actor: str, method: str) -> str:
        gw = self.gateway_of(video_id) if isinstance(video_id, str) else None
        if gw is None:
            parsed = parse_video_id(video_id)
            view = self.station.registry.view(parsed[0]) if parsed is not None else None
            if view is not None:
                gw = view.sn if view.is_gateway else (view.gateway_sn or None)
        if gw is None:
            exc = CommandRefused(
                StationCode.NOT_FOUND,
                f"unknown video_id {video_id!r}: no gateway reports that camera",
                f"未知的 video_id {video_id!r}：没有网关上报这个相机",
                method=method,
            )
            self._say("", "warning", f"{method} refused: {exc.en}")
            raise exc
        return gw

    async def start_stream(
        self,
        video_id: str,
        *,
        url_type: int | None = None,
        video_quality: int = 0,
        actor: str = "operator",
    ) -> Stream:
        """Start (or reuse) the stream of `video_id`; returns it once the device accepted.
        `url_type` None: WHIP for a Dock 3 when served, else RTMP (`choose_url_type`).

        Raises:
            CommandRefused: bad parameters, unknown video, url_type not served or its external
                service not set up, device offline.
            CommandFailed: the device refused or did not answer.
        """
        gw = self._gateway(video_id, actor, "live_start_push")
        url_type = await self.choose_url_type(gw, video_id, url_type)
        if url_type in EXTERNAL_URL_TYPES:
            return await self._send_external(gw, video_id, url_type, video_quality, actor)
        if url_type not in OWN_URL_TYPES:
            name = URL_TYPES.get(url_type, str(url_type))
            exc = CommandRefused(
                StationCode.NOT_SUPPORTED,
                f"url_type {url_type!r} ({name}) is not served by the station's media "
                "server; use 1 (RTMP), 2 (RTSP) or 4 (WHIP)",
                f"url_type {url_type!r}（{name}）不受地面站媒体服务器支持；"
                "请使用 1（RTMP）、2（RTSP）或 4（WHIP）",
                method="live_start_push",
                sn=gw,
            )
            self._say(gw, "warning", f"live_start_push refused: {exc.en}")
            raise exc
        async with self._lock:
            existing = self.stream(video_id)
            if existing is not None and existing.external:
                self._refuse_busy(gw, existing)
            if existing is not None:
                existing.reused = True
                return existing
            assert self.ingest is not None
            try:
                name = stream_name(video_id)
            except ValueError:
                name = "invalid"
            media = await self.ensure_media()  # first: its ports go into the URL
            if url_type == 4:
                self._whip_served(media, gw)
            secret = secrets.token_urlsafe(16)
            url = self.ingest.url(url_type, name, secret) if name != "invalid" else ""
            data = {
                "url_type": url_type,
                "url": url,
                "video_id": video_id,
                "video_quality": video_quality,
            }
            stream = Stream(video_id, gw, name, secret, url_type, video_quality, url, actor=actor)
            stream.token = secrets.token_urlsafe(16)
            if media is not None and url_type in (1, 4):
                media.add(name, secret, stream.token)
            reused = False
            try:
                outcome = await self.station.commands.run(gw, "live_start_push", data, actor=actor)
                stream.device_output = outcome.output
                source = rtsp_source(outcome.output) if url_type == 2 else None
                if media is not None and source is not None:
                    media.pull(name, source, stream.token)
            except CommandFailed as exc:
                if not is_already_live(exc.outcome.result):
                    self._forget(stream)
                    raise
                reused = True
                self._say(gw, "info", f"{video_id} is already live on the device: reused")
            except CommandRefused:
                self._forget(stream)
                raise
            stream.reused = reused
            stream.started_ms = _now_ms()
            stream.idle_since = time.monotonic()
            self.streams[stream.key] = stream
        self.station.bus.publish(LiveChanged(_now_ms(), gw, video_id, "started"))
        return stream

    def _refuse_busy(self, gw: str, existing: Stream) -> None:
        """The camera already streams somewhere else than asked (one stream per camera)."""
        where = existing.destination or URL_TYPES.get(existing.url_type, "")
        where_zh = existing.destination_zh or where
        exc = CommandRefused(
            StationCode.PRECONDITION_FAILED,
            f"{existing.video_id} is already being sent to {where}; stop that stream first",
            f"{existing.video_id} 正在推送到{where_zh}；请先停止该直播",
            method="live_start_push",
            sn=gw,
        )
        self._say(gw, "warning", f"live_start_push refused: {exc.en}")
        raise exc

    async def _send_external(
        self, gw: str, video_id: str, url_type: int, video_quality: int, actor: str
    ) -> Stream:
        """Agora / GB28181: build the §7.3 url from the operator's settings and send it."""
        name = URL_TYPES[url_type]
        parsed = parse_video_id(video_id)
        cfg = self.station.settings.live
        try:
            url = live_external.external_url(url_type, cfg, parsed[0] if parsed else "")
        except live_external.NotSetUp as err:
            exc = CommandRefused(
                StationCode.PRECONDITION_FAILED, err.en, err.zh, method="live_start_push", sn=gw
            )
            self._say(gw, "warning", f"live_start_push refused: {exc.en}")
            raise exc from None
        where_en, where_zh = live_external.destination(url_type, cfg)
        async with self._lock:
            existing = self.stream(video_id)
            if existing is not None and existing.url_type == url_type:
                existing.reused = True
                return existing
            if existing is not None:
                self._refuse_busy(gw, existing)
            other = next((s for s in self.streams.values() if s.url_type == url_type), None)
            if other is not None:  # one device identity (uid / agent + channel) per setting
                exc = CommandRefused(
                    StationCode.PRECONDITION_FAILED,
                    f"{name} already carries {other.video_id} ({other.destination}); the "
                    f"{name} settings name one sender, so stop that stream first",
                    f"{name} 正在传输 {other.video_id}（{other.destination_zh}）；"
                    f"{name} 设置只对应一个发送端，请先停止该直播",
                    method="live_start_push",
                    sn=gw,
                )
                self._say(gw, "warning", f"live_start_push refused: {exc.en}")
                raise exc
            data = {
                "url_type": url_type,
                "url": url,
                "video_id": video_id,
                "video_quality": video_quality,
            }
            stream = Stream(
                video_id,
                gw,
                stream_name(video_id) if parsed else "invalid",
                "",
                url_type,
                video_quality,
                url,
                actor=actor,
                destination=where_en,
                destination_zh=where_zh,
            )
            try:
                outcome = await self.station.commands.run(gw, "live_start_push", data, actor=actor)
                stream.device_output = outcome.output
            except CommandFailed as exc:
                if not is_already_live(exc.outcome.result):
                    raise
                stream.reused = True
            stream.started_ms = _now_ms()
            self.streams[stream.key] = stream
        self._say(gw, "info", f"live video {video_id} goes to {where_en} (not played here)")
        self.station.bus.publish(LiveChanged(_now_ms(), gw, video_id, "started"))
        return stream

    def _whip_served(self, media: MediaProcess | None, gw: str) -> None:
        """Refuse url_type 4 when the media server has no WebRTC stack (aiortc) or is down."""
        if media is not None and media.whip:
            return
        why = media.whip_message if media is not None else "the media server is not running"
        exc = CommandRefused(
            StationCode.NOT_SUPPORTED,
            f"url_type 4 (WHIP) cannot be received: {why}; use 1 (RTMP)",
            f"无法接收 url_type 4（WHIP）：{why}；请使用 1（RTMP）",
            method="live_start_push",
            sn=gw,
        )
        self._say(gw, "warning", f"live_start_push refused: {exc.en}")
        raise exc

    async def stop_stream(self, video_id: str, *, actor: str = "operator") -> None:
        """Stop the stream: `live_stop_push`, and its ingest secret is forgotten either way."""
        gw = self._gateway(video_id, actor, "live_stop_push")
        stream = self.streams.pop(stream_key(video_id), None)
        if stream is not None and not stream.external:
            self._forget(stream)
        if stream is not None and stream.share:  # the pilot's share: no service to send
            self.station.bus.publish(LiveChanged(_now_ms(), gw, video_id, "stopped"))
            return
        sent_id = stream.video_id if stream is not None else video_id
        try:
            await self.station.commands.run(
                gw, "live_stop_push", {"video_id": sent_id}, actor=actor
            )
        finally:
            self.station.bus.publish(LiveChanged(_now_ms(), gw, video_id, "stopped"))

    async def set_quality(
        self, video_id: str, video_quality: int, *, actor: str = "operator"
    ) -> None:
        gw = self._gateway(video_id, actor, "live_set_quality")
        data = {"video_id": video_id, "video_quality": video_quality}
        await self.station.commands.run(gw, "live_set_quality", data, actor=actor)
        stream = self.stream(video_id)
        if stream is not None:
            stream.video_quality = video_quality

    async def change_lens(self, video_id: str, video_type: str, *, actor: str = "operator") -> None:
        gw = self._gateway(video_id, actor, "live_lens_change")
        data = {"video_id": video_id, "video_type": video_type}
        await self.station.commands.run(gw, "live_lens_change", data, actor=actor)
        stream = self.stream(video_id)
        if stream is not None:
            stream.video_type = video_type

    async def change_camera(
        self, video_id: str, camera_position: int, *, actor: str = "operator"
    ) -> None:
        gw = self._gateway(video_id, actor, "live_camera_change")
        data = {"video_id": video_id, "camera_position": camera_position}
        await self.station.commands.run(gw, "live_camera_change", data, actor=actor)

    def _forget(self, stream: Stream) -> None:
        if self.media is not None:
            self.media.remove(stream.name)

    # -- watchers --------------------------------------------------------------------------

    def watch(self, video_id: str) -> Callable[[], None]:
        """Say someone watches the stream; call the returned function when they stop."""
        stream = self.stream(video_id)
        if stream is None:
            raise KeyError(video_id)
        stream.viewers += 1
        done = False

        def unwatch() -> None:
            nonlocal done
            if done:
                return
            done = True
            stream.viewers = max(0, stream.viewers - 1)
            if stream.viewers == 0:
                stream.idle_since = time.monotonic()

        return unwatch

    async def reap(self) -> list[str]:
        """Stop the streams nobody has watched for `idle_stop_s`; returns their video ids."""
        now = time.monotonic()
        idle = [
            s
            for s in list(self.streams.values())
            if not s.share
            and not s.external  # watched elsewhere: the operator stops it
            and s.viewers == 0
            and s.remote_viewers == 0
            and now - s.idle_since >= self.idle_stop_s
        ]
        stopped: list[str] = []
        for s in idle:
            self._say(s.gateway_sn, "info", f"live video {s.video_id}: nobody watches, stopped")
            try:
                await self.stop_stream(s.video_id, actor="station:idle")
            except (CommandRefused, CommandFailed) as exc:
                log.warning("stopping idle stream %s: %s", s.video_id, exc)
            stopped.append(s.video_id)
        return stopped

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(min(5.0, max(0.05, self.idle_stop_s / 4)))
            try:
                await self.reap()
            except Exception:  # the loop must outlive one bad pass
                log.exception("live reaper")

    def _say(self, sn: str, level: str, message: str) -> None:
        log.log(logging.WARNING if level == "warning" else logging.INFO, "%s", message)
        self.station.bus.publish(LogEntry(_now_ms(), "live", level, message, sn))
