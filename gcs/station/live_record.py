"""Recordings and snapshots of live video, into the media library (issue 12).

Theory of operation. `start_recording(video_id)` starts (or reuses) the camera's stream through
`Live`, holds a watch lease on it (so the station does not stop a stream that is being recorded
while nobody looks at it) and starts a `gcs.video.recorder.Recorder` thread: one more reader of
the media server's MPEG-TS, whose H.264 packets are copied into an MP4 in `recordings/` of the
data folder — no decoding or encoding, never on the station loop or the GUI thread.
`stop_recording()` ends it; a stream that ends on its own ends it too. Either way the file is
finished, uploaded into the object store under `live/{device sn}/` and catalogued through
`Media.report()` like a file a dock uploaded (device, camera in `path`, lens, time, the
position and heights of the camera's device from its last OSD), so it shows in the media
browser; `Media` then reads its duration, size and a thumbnail. A recording that produced no
picture, or a file the store refuses, is said on the bus (`LogEntry`) and in
`RecordingChanged`.

`snapshot(video_id, picture)` does the same for one decoded picture (RGB bytes from the window
that shows it): a JPEG encoded in an executor, stored and catalogued with the same metadata.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from gcs.aio import spawn
from gcs.protocol.errors import StationCode
from gcs.station.bus import Event, LogEntry
from gcs.station.capability import Capability
from gcs.station.commands import CommandRefused
from gcs.station.live import Live, parse_video_id, stream_key
from gcs.station.media import Media, MediaRow
from gcs.video.decoder import first_picture
from gcs.video.recorder import Recorder, Recording, have_engine, salvage

log = logging.getLogger(__name__)

__all__ = ["ActiveRecording", "LiveRecording", "RecordingChanged", "encode_jpeg"]

#: How long `start_recording` waits for the first key frame before answering "waiting".
FIRST_PICTURE_WAIT_S = 8.0
#: How long to wait at start for the object store before leftover recordings are saved.
STORE_WAIT_S = 60
#: Lens suffix of the file name, as DJI names its files (`lens_of` reads it back).
LENS_SUFFIX = {"wide": "_W", "zoom": "_Z", "ir": "_T", "thermal": "_T"}
NO_ENGINE_EN = (
    "live video needs the video engine (the FFmpeg libraries that come with Qt), which this "
    "installation does not have: recording and snapshots are not available"
)
NO_ENGINE_ZH = "直播视频需要视频引擎（Qt 附带的 FFmpeg 库），本安装中没有：无法录像和截图"
#: How long the station's own snapshot waits for the camera's first picture.
SNAPSHOT_WAIT_S = 20.0


@dataclass(frozen=True, slots=True)
class RecordingChanged(Event):
    """A recording started, was saved into the media library, or failed."""

    video_id: str
    device_sn: str
    what: str  # started | saved | failed
    media_id: int = 0
    message: str = ""


@dataclass(eq=False)
class ActiveRecording:
    video_id: str
    device_sn: str
    gateway_sn: str
    path: Path
    recorder: Recorder
    requested_ms: int
    osd: Mapping[str, Any]
    actor: str
    first_picture_ms: int | None = None
    finished: asyncio.Future[MediaRow | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def encode_jpeg(picture: Any, width: int, height: int, quality: int = 92) -> bytes:
    """A JPEG of an RGB24 picture (any buffer of width×height×3 bytes). Blocking: run it in
    an executor. Raises ValueError when the buffer does not hold such a picture."""
    import io

    from PIL import Image

    data = picture if isinstance(picture, bytes) else memoryview(picture).tobytes()
    if width <= 0 or height <= 0 or len(data) != width * height * 3:
        raise ValueError(f"not an RGB picture of {width}×{height}")
    image = Image.frombuffer("RGB", (width, height), data, "raw", "RGB", 0, 1)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def position_metadata(osd: Mapping[str, Any], taken_ms: int, camera: str = "") -> dict[str, Any]:
    """The callback `metadata` (protocol §5 shape) from a device's OSD: position, heights
    (ellipsoidal `height` as absolute, `elevation` as relative to take-off) and the yaw of the
    camera's gimbal (the OSD's payload object named by the camera index, protocol §3)."""
    md: dict[str, Any] = {"create_time": taken_ms}
    lat, lng = _number(osd.get("latitude")), _number(osd.get("longitude"))
    if lat is not None and lng is not None:
        md["shoot_position"] = {"lat": lat, "lng": lng}
    for field_name, key in (("absolute_altitude", "height"), ("relative_altitude", "elevation")):
        value = _number(osd.get(key))
        if value is not None:
            md[field_name] = value
    payload = osd.get(camera) if camera else None
    yaw = _number(payload.get("gimbal_yaw")) if isinstance(payload, Mapping) else None
    if yaw is not None:
        md["gimbal_yaw_degree"] = yaw
    return md


def _camera_of(video_id: str) -> str:
    parsed = parse_video_id(video_id)
    return parsed[1] if parsed else ""


def file_name(video_id: str, video_type: str, at_ms: int, ext: str) -> str:
    """`LIVE_20261203114500123_39-0-7_W.mp4`: time, camera, lens (DJI's suffix)."""
    parsed = parse_video_id(video_id)
    camera = parsed[1] if parsed else "camera"
    stamp = datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y%m%d%H%M%S")
    return f"LIVE_{stamp}{at_ms % 1000:03d}_{camera}{LENS_SUFFIX.get(video_type, '')}.{ext}"


class LiveRecording(Capability):
    name = "live_record"

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self.recordings: dict[str, ActiveRecording] = {}  # by stream key
        self.first_picture_wait_s = FIRST_PICTURE_WAIT_S
        self.snapshot_wait_s = SNAPSHOT_WAIT_S
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        spawn(self._leftovers_once_stored(), name="live-record-leftovers")

    async def _leftovers_once_stored(self) -> None:
        """At start: the object store (a component) starts after the capabilities; wait for
        it to answer, then save what a previous run left."""
        folder = self.station.data_dir / "recordings"
        if not await asyncio.get_running_loop().run_in_executor(None, _leftovers, folder):
            return
        for _ in range(STORE_WAIT_S):
            if await self._store_answers():
                await self.save_leftovers()
                return
            await asyncio.sleep(1.0)
        self._say("warning", f"recordings left in {folder}: the object store did not answer")

    async def _store_answers(self) -> bool:
        storage = self.station.storage
        if storage is None:
            return False
        try:
            async with self._http().head(storage.presign_get("live/.probe", 60, method="HEAD")):
                return True  # any answer, 404 included
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    async def save_leftovers(self) -> list[MediaRow]:
        """Recordings a previous run finished but could not store (the station was stopping:
        the object store goes first) go into the media library now; a `.part` file (the station
        died while recording) is salvaged up to its last complete fragment and saved the same
        way, or, if nothing in it is readable, said and kept for a person to look at. Returns
        the rows added."""
        folder = self.station.data_dir / "recordings"
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, _leftovers, folder)
        rows: list[MediaRow] = []
        for path in found:
            sn = path.parent.name
            salvaged = False
            if path.suffix == ".part":
                recovered = await loop.run_in_executor(None, salvage, path)
                if recovered is not None:
                    path, salvaged = recovered, True
            if path.suffix == ".part":
                kept = path.with_name(path.name[: -len(".part")] + ".unfinished")
                await loop.run_in_executor(None, path.replace, kept)
                self._say(
                    "warning",
                    f"a recording the station could not finish (it stopped while recording) "
                    f"is kept in {kept}",
                    sn,
                )
                continue
            parts = path.stem.split("_")
            camera = parts[2] if len(parts) > 2 else "camera"
            metadata = {"create_time": _time_of(parts[1])} if len(parts) > 1 else {}
            row = await self._catalogue(
                f"{sn}/{camera}", sn, sn, path, "video/mp4", metadata, name=path.name
            )
            if row is not None:
                await loop.run_in_executor(None, path.unlink)
                if salvaged:
                    self._say(
                        "warning",
                        f"recording {path.name} was cut short (the station stopped while "
                        "recording); what was written is saved",
                        sn,
                    )
                else:
                    self._say("info", f"recording {path.name} of a previous run saved", sn)
                rows.append(row)
        return rows

    async def stop(self) -> None:
        for rec in list(self.recordings.values()):
            rec.recorder.stop()
        for rec in list(self.recordings.values()):
            try:
                await asyncio.wait_for(asyncio.shield(rec.finished), 20)
            except (TimeoutError, Exception) as exc:  # shutting down: say it, go on
                log.warning("recording %s not saved at shutdown: %s", rec.video_id, exc)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- queries -------------------------------------------------------------------------

    def recording(self, video_id: str) -> ActiveRecording | None:
        return self.recordings.get(stream_key(video_id))

    # -- recording -----------------------------------------------------------------------

    def _refuse(self, code: int, en: str, zh: str, sn: str = "") -> CommandRefused:
        self._say("warning", f"live recording refused: {en}", sn)
        return CommandRefused(code, en, zh, method="live_record", sn=sn)

    async def start_recording(self, video_id: str, *, actor: str = "operator") -> ActiveRecording:
        """Start recording the camera of `video_id` (its stream is started or reused); answers
        once the first key frame is in the file, or after `first_picture_wait_s` with
        `first_picture_ms` None (the device has not started pushing yet). A camera already
        being recorded gives its running recording.

        Raises:
            CommandRefused: no video engine in this build, or the stream cannot be started
                (the live module's refusals).
            CommandFailed: the device refused to stream.
        """
        parsed = parse_video_id(video_id)
        sn = parsed[0] if parsed else ""
        if not have_engine():
            raise self._refuse(StationCode.NOT_SUPPORTED, NO_ENGINE_EN, NO_ENGINE_ZH, sn)
        existing = self.recording(video_id)
        if existing is not None:
            return existing
        live = self.station.capability(Live)
        stream = await live.start_stream(video_id, actor=actor)
        existing = self.recording(video_id)  # started by someone else meanwhile
        if existing is not None:
            return existing
        unwatch = live.watch(video_id)
        now = self.station.now_ms()
        name = file_name(stream.video_id, stream.video_type, now, "mp4")
        path = self.station.data_dir / "recordings" / sn / name
        loop = asyncio.get_running_loop()
        recorder = Recorder(live.playback_url(stream), path, publishing=lambda: stream.publishing)
        rec = ActiveRecording(
            video_id=stream.video_id,
            device_sn=sn,
            gateway_sn=stream.gateway_sn,
            path=path,
            recorder=recorder,
            requested_ms=now,
            osd=self.station.telemetry.current(sn),
            actor=actor,
        )

        def done(result: Recording) -> None:  # on the recorder's thread
            loop.call_soon_threadsafe(self._spawn_finish, rec, result, unwatch)

        recorder.on_done = done
        self.recordings[stream_key(video_id)] = rec
        recorder.start()
        self._say("info", f"recording {video_id} ({actor})", sn)
        if await loop.run_in_executor(None, recorder.wait_started, self.first_picture_wait_s):
            rec.first_picture_ms = self.station.now_ms()
        self.station.bus.publish(RecordingChanged(self.station.now_ms(), video_id, sn, "started"))
        return rec

    async def stop_recording(self, video_id: str, *, actor: str = "operator") -> MediaRow | None:
        """Stop the recording of `video_id`; answers the media library's row of the finished
        file (None when no picture was recorded: said on the bus).

        Raises:
            CommandRefused: that camera is not being recorded.
        """
        rec = self.recording(video_id)
        if rec is None:
            parsed = parse_video_id(video_id)
            raise self._refuse(
                StationCode.NOT_FOUND,
                f"{video_id} is not being recorded",
                f"{video_id} 没有在录像",
                parsed[0] if parsed else "",
            )
        rec.recorder.stop()
        log.info("recording of %s stopped by %s", video_id, actor)
        return await asyncio.shield(rec.finished)

    def _spawn_finish(self, rec: ActiveRecording, result: Recording, unwatch: Any) -> None:
        spawn(self._finish(rec, result, unwatch), name="live-record-finish")

    async def _finish(self, rec: ActiveRecording, result: Recording, unwatch: Any) -> None:
        try:
            row = await self._save_recording(rec, result)
        except Exception as exc:  # the future must end whatever happens
            log.exception("saving the recording of %s", rec.video_id)
            self._failed(rec, f"recording of {rec.video_id} not saved: {exc}")
            row = None
        finally:
            unwatch()
            self.recordings.pop(stream_key(rec.video_id), None)
        if not rec.finished.done():
            rec.finished.set_result(row)

    async def _save_recording(self, rec: ActiveRecording, result: Recording) -> MediaRow | None:
        if result.frames == 0:
            self._failed(rec, f"recording of {rec.video_id} has no picture: {result.problem}")
            return None
        if result.problem:
            self._say("warning", f"recording of {rec.video_id}: {result.problem}", rec.device_sn)
        taken = int(result.started_at * 1000) or rec.requested_ms
        row = await self._catalogue(
            rec.video_id,
            rec.device_sn,
            rec.gateway_sn,
            result.path,
            "video/mp4",
            position_metadata(rec.osd, taken, _camera_of(rec.video_id)),
        )
        if row is None:
            self._failed(rec, f"recording of {rec.video_id} kept in {result.path}")
            return None
        result.path.unlink(missing_ok=True)
        text = (
            f"recording of {rec.video_id} saved: {row.name}, {result.duration_s:.1f} s "
            f"({'the stream ended' if result.ended_by == 'stream ended' else 'stopped'})"
        )
        self._say("info", text, rec.device_sn)
        self.station.bus.publish(
            RecordingChanged(
                self.station.now_ms(), rec.video_id, rec.device_sn, "saved", row.id, text
            )
        )
        return row

    def _failed(self, rec: ActiveRecording, text: str) -> None:
        self._say("warning", text, rec.device_sn)
        self.station.bus.publish(
            RecordingChanged(self.station.now_ms(), rec.video_id, rec.device_sn, "failed", 0, text)
        )

    # -- snapshots -----------------------------------------------------------------------

    async def grab_snapshot(self, video_id: str, *, actor: str = "operator") -> MediaRow:
        """A snapshot the station takes itself (the HTTP API's): the camera's stream is
        started or reused, its first picture decoded and saved as `snapshot` saves one.

        Raises:
            CommandRefused: no video engine, a malformed video id, the live module's refusals,
                or no picture within `snapshot_wait_s` (the device does not push).
            CommandFailed: the device refused to stream.
        """
        parsed = parse_video_id(video_id)
        sn = parsed[0] if parsed else ""
        if not have_engine():
            raise self._refuse(StationCode.NOT_SUPPORTED, NO_ENGINE_EN, NO_ENGINE_ZH, sn)
        live = self.station.capability(Live)
        stream = await live.start_stream(video_id, actor=actor)
        unwatch = live.watch(video_id)
        loop = asyncio.get_running_loop()
        try:
            picture = await loop.run_in_executor(
                None,
                first_picture,
                live.playback_url(stream),
                lambda: stream.publishing,
                self.snapshot_wait_s,
            )
        finally:
            unwatch()
        if picture is None:
            wait = round(self.snapshot_wait_s)
            raise self._refuse(
                StationCode.TIMEOUT,
                f"no picture from {video_id} within {wait} s: the device has not pushed its stream",
                f"{wait} 秒内没有收到 {video_id} 的画面：设备没有推流",
                sn,
            )
        return await self.snapshot(
            video_id, picture.rgb, picture.width, picture.height, actor=actor
        )

    async def snapshot(
        self,
        video_id: str,
        picture: Any,
        width: int,
        height: int,
        *,
        taken_ms: int | None = None,
        actor: str = "operator",
    ) -> MediaRow:
        """Save one decoded picture (RGB24 bytes, `width`×`height`) of `video_id` as a JPEG in
        the media library, with the position and heights of the camera's device from its
        last OSD. Answers its row.

        Raises:
            CommandRefused: a malformed video id or picture, or the store refused the file.
        """
        parsed = parse_video_id(video_id)
        if parsed is None:
            raise self._refuse(
                StationCode.INVALID_PARAMETER,
                f"video_id {video_id!r} is not of the form {{sn}}/{{camera_index}}/{{video_index}}",
                f"video_id {video_id!r} 格式应为 {{sn}}/{{camera_index}}/{{video_index}}",
            )
        sn = parsed[0]
        taken = taken_ms or self.station.now_ms()
        loop = asyncio.get_running_loop()
        try:
            jpeg = await loop.run_in_executor(None, encode_jpeg, picture, width, height)
        except ValueError as exc:
            raise self._refuse(
                StationCode.INVALID_PARAMETER,
                f"snapshot of {video_id}: {exc}",
                f"{video_id} 截图：图像无效（{exc}）",
                sn,
            ) from exc
        live = self.station.capability(Live)
        stream = live.stream(video_id)
        lens = stream.video_type if stream is not None else ""
        gateway = stream.gateway_sn if stream is not None else (live.gateway_of(video_id) or sn)
        name = file_name(video_id, lens, taken, "jpg")
        osd = self.station.telemetry.current(sn)
        row = await self._catalogue(
            video_id,
            sn,
            gateway,
            jpeg,
            "image/jpeg",
            position_metadata(osd, taken, _camera_of(video_id)),
            name=name,
        )
        if row is None:
            raise self._refuse(
                StationCode.INTERNAL_ERROR,
                f"snapshot of {video_id} not saved: the object store refused it",
                f"{video_id} 截图未保存：对象存储拒绝写入",
                sn,
            )
        self._say("info", f"snapshot of {video_id} saved: {row.name} ({actor})", sn)
        return row

    # -- into the media library ----------------------------------------------------------

    async def _catalogue(
        self,
        video_id: str,
        sn: str,
        gateway_sn: str,
        body: Path | bytes,
        content_type: str,
        metadata: dict[str, Any],
        *,
        name: str | None = None,
    ) -> MediaRow | None:
        """Put the file into the store under `live/{sn}/` and report it to the media library;
        None (said on the bus) when the store refuses it."""
        name = name or (body.name if isinstance(body, Path) else "snapshot.jpg")
        key = f"live/{sn}/{name}"
        if not await self._put(key, body, content_type, sn):
            return None
        view = self.station.registry.view(sn)
        gateway_view = self.station.registry.view(gateway_sn)
        workspace = (
            (view.workspace_id if view is not None else "")
            or (gateway_view.workspace_id if gateway_view is not None else "")
            or self.station.settings.station.workspace_id
        )
        model = view.model_key if view is not None else ""
        file = {
            "object_key": key,
            "name": name,
            "path": video_id,
            "metadata": metadata,
            "ext": {"drone_model_key": model, "is_original": True},
        }
        media = self.station.capability(Media)
        return await media.report(
            file, source="live", device_sn=sn, workspace_id=workspace, folder=f"live/{sn}/"
        )

    async def _put(self, key: str, body: Path | bytes, content_type: str, sn: str) -> bool:
        storage = self.station.storage
        if storage is None:
            self._say("warning", f"{key} not stored: object storage is not available", sn)
            return False
        url = storage.presign_get(key, 600, method="PUT")
        session = self._http()
        loop = asyncio.get_running_loop()
        f: Any = None
        try:
            if isinstance(body, Path):
                f = await loop.run_in_executor(None, body.open, "rb")
                size = (await loop.run_in_executor(None, body.stat)).st_size
                data: Any = f
            else:
                data, size = body, len(body)
            headers = {"Content-Type": content_type, "Content-Length": str(size)}
            async with session.put(url, data=data, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    self._say("warning", f"the store refused {key} (HTTP {r.status})", sn)
                    return False
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self._say("warning", f"{key} not stored: {exc}", sn)
            return False
        finally:
            if f is not None:
                await loop.run_in_executor(None, f.close)
        return True

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600))
        return self._session

    def _say(self, level: str, text: str, sn: str = "") -> None:
        log.log(logging.WARNING if level == "warning" else logging.INFO, "%s", text)
        self.station.bus.publish(LogEntry(self.station.now_ms(), "live", level, text, sn))


def _leftovers(folder: Path) -> list[Path]:
    """`recordings/<sn>/*.mp4` and `*.mp4.part`, oldest first (blocking)."""
    if not folder.is_dir():
        return []
    files = [f for f in folder.glob("*/*") if f.name.endswith((".mp4", ".mp4.part"))]
    return sorted(files, key=lambda f: f.stat().st_mtime)


def _time_of(stamp: str) -> int | None:
    """Epoch ms of the `YYYYmmddHHMMSSmmm` (UTC) in a recording's file name."""
    try:
        t = datetime.strptime(stamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        return int(t.timestamp() * 1000) + int(stamp[14:17] or 0)
    except ValueError:
        return None
