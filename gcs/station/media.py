"""The media library (issue 11): every file a dock or Pilot uploads, catalogued.

Theory of operation. A dock reports each file it put in the store with a `file_upload_callback`
event (protocol §5); Pilot 2 with its HTTP upload-callback (§8.2 #9, `gcs.web.media`). Both go
through `report()`: the object key must lie in the folder the reporter was given credentials
for (`media/{gateway_sn}/` for a dock, `pilot/{workspace_id}/` for Pilot — see `uploads.py`),
the object is looked up in the store (HEAD through a presigned URL, so an external store works
the same), and one row is written, keyed by the object key: a repeated callback (same key, or
same tid/bid from the same device) finds the row already there and adds nothing. A callback
for an object the store does not have is still recorded, with status `missing` and a note.

Then, off the event loop, the file itself is read (`enrich`, a queue and one worker, the file
parsed in an executor): EXIF and DJI XMP for photos (`gcs.protocol.mediafile`), which win over
the callback's values (each difference is logged), a thumbnail put beside the object
(`thumbnails/<object key>.jpg`), and the track of a DJI `.SRT` given to the video beside it.
A file that cannot be read keeps its row, with a note saying why.

Every refusal and every unreadable file is a `LogEntry` on the bus, so the operator sees it.
Changes to the catalogue are announced as `MediaChanged`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from gcs.aio import spawn
from gcs.protocol import mediafile
from gcs.protocol.envelope import Message
from gcs.protocol.mediafile import MediaFileError, MediaMeta, number, parse_time
from gcs.station.bus import Event, LogEntry
from gcs.station.capability import Capability, EventHandler
from gcs.station.commands import CommandSpec
from gcs.store import media as q
from gcs.store.db import Store
from gcs.store.media import ORDER_COLUMNS, MediaQuery, MediaRow, order_clause

log = logging.getLogger(__name__)

__all__ = [
    "ORDER_COLUMNS",
    "Media",
    "MediaChanged",
    "MediaPriority",
    "MediaQuery",
    "MediaRefused",
    "MediaRow",
    "order_clause",
]

PHOTO_EXT = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".dng"}
VIDEO_EXT = {".mp4", ".mov", ".m4v"}
#: A photo larger than this is catalogued but not read (no metadata, no thumbnail).
MAX_READ_BYTES = 64 * 1024 * 1024
MAX_SRT_BYTES = 16 * 1024 * 1024
CALLBACK_WORKERS = 4
FILE_WORKERS = 4
#: A photo larger than this is first read only this far (EXIF, XMP and the embedded preview).
HEAD_BYTES = 256 * 1024
THUMB_PREFIX = "thumbnails/"
#: How far the file's value may be from the callback's before the difference is logged.
TOLERANCE = {"lat": 1e-5, "lng": 1e-5}
DEFAULT_TOLERANCE = 0.05
#: Lens from the DJI file-name suffix (DJI_20240101120000_0001_W.JPG) or XMP ImageSource.
LENS_SUFFIX = {"W": "wide", "Z": "zoom", "T": "thermal", "V": "visible", "IR": "ir"}
LENS_SOURCE = {
    "WideCamera": "wide",
    "ZoomCamera": "zoom",
    "InfraredCamera": "thermal",
    "VisibleCamera": "visible",
}

PRIORITIZE = CommandSpec(
    "upload_flighttask_media_prioritize",
    "Upload this flight task's media first",
    "优先上传该航线任务的媒体文件",
)


@dataclass(frozen=True, slots=True)
class MediaChanged(Event):
    """A media item was added, updated (metadata, thumbnail) or deleted."""

    change: str  # added | updated | deleted
    item: MediaRow


@dataclass(frozen=True, slots=True)
class MediaPriority(Event):
    """A dock now uploads this flight task's media first (`highest_priority_upload_...`)."""

    gateway_sn: str
    flight_id: str
    workspace_id: str


class MediaRefused(ValueError):
    """A callback the station does not catalogue; the message says why (EN / ZH)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh


def kind_of(name: str) -> str:
    ext = posixpath.splitext(name)[1].lower()
    if ext in PHOTO_EXT:
        return "photo"
    if ext in VIDEO_EXT:
        return "video"
    if ext == ".srt":
        return "srt"
    return "other"


def lens_of(name: str, image_source: str | None = None) -> str:
    if image_source and image_source in LENS_SOURCE:
        return LENS_SOURCE[image_source]
    stem = posixpath.splitext(posixpath.basename(name))[0]
    suffix = stem.rsplit("_", 1)[-1].upper() if "_" in stem else ""
    return LENS_SUFFIX.get(suffix, "")


@dataclass(frozen=True, slots=True)
class Callback:
    """A file report, dock or Pilot, in one shape."""

    object_key: str
    name: str
    path: str
    fingerprint: str
    tiny_fingerprint: str
    drone_model_key: str
    payload_model_key: str
    flight_id: str
    file_group_id: str
    is_original: bool
    sub_file_type: int
    meta: MediaMeta
    bad_fields: tuple[str, ...]  # metadata fields that were present but not numbers


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_callback(file: Any, extra_ext: Mapping[str, Any] | None = None) -> Callback:
    """Read a `file_upload_callback.file` / Pilot upload-callback body.

    Raises:
        MediaRefused: no object key or no name.
    """
    if not isinstance(file, dict):
        raise MediaRefused("the callback has no 'file' object", "回调缺少 file 对象")
    key = _text(file.get("object_key"))
    if not key:
        raise MediaRefused("the callback names no object_key", "回调缺少 object_key")
    name = _text(file.get("name")) or posixpath.basename(key)
    ext = {**(extra_ext or {}), **_obj(file.get("ext"))}
    md = _obj(file.get("metadata"))
    pos = _obj(md.get("shoot_position"))
    bad: list[str] = []

    def num(where: Mapping[str, Any], field: str, label: str) -> float | None:
        raw = where.get(field)
        value = number(raw)
        if raw is not None and raw != "" and value is None:
            bad.append(f"{label}={raw!r}")
        return value

    lat, lng = num(pos, "lat", "shoot_position.lat"), num(pos, "lng", "shoot_position.lng")
    if (
        lat is not None
        and lng is not None
        and ((lat == 0 and lng == 0) or abs(lat) > 90 or abs(lng) > 180)
    ):
        lat = lng = None
    raw_time = md.get("create_time", md.get("created_time"))
    created = parse_time(raw_time)
    if raw_time not in (None, "") and created is None:
        bad.append(f"create_time={raw_time!r}")
    is_original = ext.get("is_original", True)
    sub_type = file.get("sub_file_type", 0)
    return Callback(
        object_key=key,
        name=name,
        path=_text(file.get("path")),
        fingerprint=_text(file.get("fingerprint")).lower(),
        tiny_fingerprint=_text(ext.get("tinny_fingerprint", ext.get("tiny_fingerprint"))),
        drone_model_key=_text(ext.get("drone_model_key")),
        payload_model_key=_text(ext.get("payload_model_key")),
        flight_id=_text(ext.get("flight_id")),
        file_group_id=_text(ext.get("file_group_id")),
        is_original=is_original not in (False, 0, "false", "0"),
        sub_file_type=sub_type if isinstance(sub_type, int) else 0,
        meta=MediaMeta(
            lat=lat,
            lng=lng,
            absolute_altitude=num(md, "absolute_altitude", "absolute_altitude"),
            relative_altitude=num(md, "relative_altitude", "relative_altitude"),
            gimbal_yaw=num(md, "gimbal_yaw_degree", "gimbal_yaw_degree"),
            create_time_ms=created,
        ),
        bad_fields=tuple(bad),
    )


_META_COLUMNS = {
    "lat": "lat",
    "lng": "lng",
    "absolute_altitude": "absolute_altitude",
    "relative_altitude": "relative_altitude",
    "gimbal_yaw": "gimbal_yaw",
    "gimbal_pitch": "gimbal_pitch",
    "aircraft_yaw": "aircraft_yaw",
    "aircraft_pitch": "aircraft_pitch",
    "create_time_ms": "create_time",
    "width": "width",
    "height": "height",
}


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the worker learnt from one file (computed in an executor)."""

    meta: MediaMeta | None = None
    thumbnail: bytes | None = None
    thumb_how: str = ""
    track: list[list[float | None]] | None = None
    problem: str = ""


def read_file_facts(kind: str, data: bytes, head_only: bool = False) -> FileFacts | None:
    """Parse a downloaded file (blocking: run in an executor).

    `head_only`: `data` is the file's first `HEAD_BYTES`; returns None when that is not enough
    (no embedded preview, or the image header lies further in) and the whole file is needed.
    """
    if kind == "srt":
        points = mediafile.parse_srt(data.decode("utf-8", errors="replace"))
        if not points:
            return FileFacts(problem="the .SRT subtitle carries no position")
        return FileFacts(track=[[p.t_ms, p.lat, p.lng, p.abs_alt] for p in points])
    try:
        meta = mediafile.read_photo(data)
    except MediaFileError as exc:
        return None if head_only else FileFacts(problem=str(exc))
    if head_only:
        preview = mediafile.preview_thumbnail(data)
        return None if preview is None else FileFacts(meta, preview, "embedded")
    try:
        thumb, how = mediafile.thumbnail(data)
    except MediaFileError as exc:
        return FileFacts(meta=meta, problem=str(exc))
    return FileFacts(meta=meta, thumbnail=thumb, thumb_how=how)


@dataclass(frozen=True, slots=True)
class VideoFacts:
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    codec: str = ""
    create_time_ms: int | None = None
    thumbnail: bytes | None = None
    problem: str = ""


def read_video(source: str, timeout_s: float = 20.0) -> VideoFacts:
    """Container metadata and the first key frame of a video (blocking: run in an executor).

    `source` is a URL (a presigned GET): FFmpeg reads only what it needs with ranged requests
    (the `moov` box, wherever it is, and the first frames), so a 4 GB video is never fetched.
    FFmpeg (`gcs.video.ffmpeg`, the libraries Qt ships) reads every container and codec DJI
    aircraft record (MP4/MOV, H.264/H.265).
    """
    from PIL import Image

    from gcs.video import ffmpeg

    try:
        with ffmpeg.Input(source, open_timeout=timeout_s, read_timeout=timeout_s) as container:
            stream = container.video
            if stream is None:
                return VideoFacts(problem="the file has no video stream")
            seconds = container.duration_s or stream.duration_s
            facts = VideoFacts(
                width=stream.width or None,
                height=stream.height or None,
                duration_ms=None if seconds is None else int(seconds * 1000),
                codec=stream.codec,
                create_time_ms=parse_time(
                    container.metadata.get("creation_time") or stream.metadata.get("creation_time")
                ),
            )
            thumb = None
            decoder = ffmpeg.Decoder(stream)
            try:
                for packet in container.packets(stream):
                    pictures = decoder.decode(packet)
                    if pictures:
                        pic = pictures[0]
                        image = Image.frombytes("RGB", (pic.width, pic.height), pic.rgb)
                        image.thumbnail((mediafile.THUMB_SIZE, mediafile.THUMB_SIZE))
                        out = io.BytesIO()
                        image.save(out, "JPEG", quality=80)
                        thumb = out.getvalue()
                        break
            finally:
                decoder.close()
            return replace(facts, thumbnail=thumb)
    except ffmpeg.Unavailable as exc:
        return VideoFacts(problem=f"video metadata cannot be read: {exc}")
    except (ffmpeg.FFmpegError, OSError, ValueError) as exc:
        return VideoFacts(problem=f"not a readable video: {exc}")


class Media(Capability):
    name = "media"

    def __init__(self, station: Any) -> None:
        super().__init__(station)
        self._callbacks: asyncio.Queue[Message] = asyncio.Queue()
        self._enrich: asyncio.Queue[int] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self.priority: dict[str, str] = {}  # gateway → flight_id uploading first
        self.expected: dict[str, int] = {}  # flight_id → media_count of its last progress
        self._busy = 0  # callbacks and files queued or being handled
        self._idle = asyncio.Event()
        self._idle.set()

    # -- hooks ---------------------------------------------------------------------------

    def events(self) -> Mapping[str, EventHandler]:
        return {
            "file_upload_callback": self._queue_callback,
            "highest_priority_upload_flighttask_media": self._on_priority,
            "flighttask_progress": self._on_progress,
        }

    def _queue_callback(self, msg: Message) -> None:
        self._started_work()
        self._callbacks.put_nowait(msg)

    def _started_work(self) -> None:
        self._busy += 1
        self._idle.clear()

    def _finished_work(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    def commands(self) -> Sequence[CommandSpec]:
        return (PRIORITIZE,)

    async def start(self) -> None:
        # Callbacks wait on the store (HEAD) and the database, not the CPU: a few at once keep
        # a burst from five docks from queueing. Files likewise (a ranged read, a parse on the
        # executor, a thumbnail PUT), four at once.
        self._workers = [
            *(
                spawn(self._callback_worker(), name="media-callbacks")
                for _ in range(CALLBACK_WORKERS)
            ),
            *(spawn(self._enrich_worker(), name="media-files") for _ in range(FILE_WORKERS)),
        ]

    async def stop(self) -> None:
        for w in self._workers:
            w.cancel()
        for w in self._workers:
            try:
                await w
            except asyncio.CancelledError:
                pass
        self._workers = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- queries ---------------------------------------------------------------------------

    async def query(self, query: MediaQuery) -> tuple[list[MediaRow], int]:
        return await self._store().call(q.query, query)

    async def get(self, media_id: int) -> MediaRow | None:
        return await self._store().call(q.get, media_id)

    async def has_fingerprint(self, workspace_id: str, fingerprint: str) -> bool:
        return await self._store().call(q.has_fingerprint, workspace_id, fingerprint)

    async def known_tiny(self, workspace_id: str, tiny: list[str]) -> list[str]:
        return await self._store().call(q.known_tiny, workspace_id, tiny)

    async def flight_counts(self, flight_id: str) -> tuple[int, int | None]:
        """(files received, files the task's last progress said to expect)."""
        got = await self._store().call(q.count_flight, flight_id)
        return got, self.expected.get(flight_id)

    def download_url(self, row: MediaRow, ttl_s: int = 300, *, thumbnail: bool = False) -> str:
        """A short-lived presigned GET of the file (or its thumbnail)."""
        assert self.station.storage is not None
        key = row.thumbnail_key if thumbnail else row.object_key
        return self.station.storage.presign_get(key, ttl_s)

    async def delete(self, media_id: int, *, actor: str = "operator") -> MediaRow | None:
        """Delete the object, its thumbnail and its row; returns the row (None if unknown)."""
        row = await self.get(media_id)
        if row is None:
            return None
        for key in (row.object_key, row.thumbnail_key):
            if key:
                status = await self._s3("DELETE", key)
                if status not in (200, 204, 404):
                    raise OSError(f"the store refused to delete {key} (HTTP {status})")
        await self._store().call(q.delete, media_id)
        self._say("info", f"media deleted by {actor}: {row.object_key}", row.device_sn)
        self._publish("deleted", row)
        return row

    async def thumbnail(self, row: MediaRow) -> bytes | None:
        """The item's thumbnail JPEG (None if it has none or the store cannot give it)."""
        if not row.thumbnail_key:
            return None
        try:
            return await self._get(row.thumbnail_key, MAX_READ_BYTES)
        except OSError as exc:
            log.warning("thumbnail of %s: %s", row.object_key, exc)
            return None

    async def content(self, row: MediaRow, limit: int = MAX_READ_BYTES) -> bytes:
        """The file's bytes, for a viewer (at most `limit`).

        Raises:
            OSError: the item is not in the store, the store refused, or the file is larger
                than `limit` (the message says which).
        """
        if row.status != "ok":
            raise OSError(f"{row.name} is not in the store: {row.note or row.status}")
        if row.size is not None and row.size > limit:
            raise OSError(f"{row.name} is {row.size} bytes, too large to show (> {limit})")
        return await self._get(row.object_key, limit)

    async def export(self, row: MediaRow, target: Path) -> int:
        """Copy the file to `target` (streamed: a 4 GB video never sits in memory); returns
        its size. A partial file is removed on failure.

        Raises:
            OSError: the store cannot give it or the target cannot be written.
        """
        loop = asyncio.get_running_loop()
        tmp = target.with_name(target.name + ".part")
        size = 0
        await loop.run_in_executor(None, lambda: target.parent.mkdir(parents=True, exist_ok=True))
        try:
            f = await loop.run_in_executor(None, tmp.open, "wb")
            try:
                async with self._http().get(self._url("GET", row.object_key)) as r:
                    if r.status != 200:
                        raise OSError(f"the store answered HTTP {r.status} for {row.object_key}")
                    async for chunk in r.content.iter_chunked(1024 * 1024):
                        await loop.run_in_executor(None, f.write, chunk)
                        size += len(chunk)
            finally:
                await loop.run_in_executor(None, f.close)
            await loop.run_in_executor(None, tmp.replace, target)
        except (aiohttp.ClientError, TimeoutError) as exc:
            tmp.unlink(missing_ok=True)
            raise OSError(f"{row.object_key}: {exc}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    async def wait_idle(self) -> None:
        """Until every queued callback and file has been handled (for tests and tools)."""
        await self._idle.wait()

    # -- reports -----------------------------------------------------------------------------

    async def report(
        self,
        file: Any,
        *,
        source: str,
        device_sn: str,
        workspace_id: str,
        folder: str,
        tid: str = "",
        bid: str = "",
        extra_ext: Mapping[str, Any] | None = None,
    ) -> MediaRow:
        """Catalogue one reported file (dock or Pilot); returns its row (existing if repeated).

        Raises:
            MediaRefused: a malformed callback or an object key outside `folder` (logged and
                shown to the operator).
        """
        st = self.station
        try:
            cb = parse_callback(file, extra_ext)
            key = cb.object_key
            if (
                not key.startswith(folder)
                or ".." in key.split("/")
                or key.startswith(THUMB_PREFIX)
                or "//" in key
            ):
                raise MediaRefused(
                    f"object key {key!r} is outside the folder {folder!r} this device uploads to",
                    f"对象键 {key!r} 不在该设备的上传目录 {folder!r} 内",
                )
        except MediaRefused as exc:
            text = f"file_upload_callback from {device_sn} refused: {exc.en} / {exc.zh}"
            log.warning("%s", text)
            st.bus.publish(LogEntry(st.now_ms(), "rejected", "warning", text, device_sn))
            raise
        if cb.bad_fields:
            text = (
                f"media {key} from {device_sn}: metadata that is not a number ignored: "
                + ", ".join(cb.bad_fields)
            )
            log.warning("%s", text)
            self._say("warning", text, device_sn)
        existing = await self._store().call(q.get_by_key, key)
        if existing is not None:
            log.info("repeated upload callback for %s from %s: already catalogued", key, device_sn)
            return existing
        size, status, note = await self._head(key)
        if status == "missing":
            text = f"media {key} reported by {device_sn} is not in the store: {note}"
            log.warning("%s", text)
            self._say("warning", text, device_sn)
        now = st.now_ms()
        m = cb.meta
        row = MediaRow(
            id=0,
            workspace_id=workspace_id,
            object_key=key,
            name=cb.name,
            source=source,
            received_at=now,
            updated_at=now,
            path=cb.path,
            size=size,
            fingerprint=cb.fingerprint,
            tiny_fingerprint=cb.tiny_fingerprint,
            device_sn=device_sn,
            drone_model_key=cb.drone_model_key,
            payload_model_key=cb.payload_model_key,
            lens=lens_of(cb.name),
            kind=kind_of(cb.name),
            flight_id=cb.flight_id,
            file_group_id=cb.file_group_id,
            is_original=cb.is_original,
            sub_file_type=cb.sub_file_type,
            create_time=m.create_time_ms,
            lat=m.lat,
            lng=m.lng,
            absolute_altitude=m.absolute_altitude,
            relative_altitude=m.relative_altitude,
            gimbal_yaw=m.gimbal_yaw,
            status=status,
            note=note,
            tid=tid,
            bid=bid,
        )
        stored, new = await self._store().call(q.insert, row)
        if not new:
            log.info("repeated upload callback (tid %s bid %s) from %s", tid, bid, device_sn)
            return stored
        log.info("media catalogued: %s from %s (%s)", key, device_sn, status)
        self._publish("added", stored)
        if status == "ok" and stored.kind in ("photo", "srt", "video"):
            self._started_work()
            self._enrich.put_nowait(stored.id)
        return stored

    async def _callback_worker(self) -> None:
        while True:
            msg = await self._callbacks.get()
            try:
                await self._dock_callback(msg)
            except MediaRefused:
                pass
            except Exception:
                log.exception("file_upload_callback from %s failed", msg.sn)
            finally:
                self._finished_work()

    async def _dock_callback(self, msg: Message) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        gateway = msg.gateway_sn or msg.sn
        result = data.get("result", 0)
        if result not in (0, None):
            text = f"{gateway} reports a media upload that failed (result {result!r})"
            log.warning("%s", text)
            self._say("warning", text, gateway)
            return
        await self.report(
            data.get("file"),
            source="dock",
            device_sn=gateway,
            workspace_id=self._workspace_of(gateway),
            folder=f"media/{gateway}/",
            tid=msg.tid,
            bid=msg.bid,
        )

    def _workspace_of(self, gateway: str) -> str:
        """The gateway's workspace; the station's own for a dock not bound yet (one workspace
        per station today)."""
        view = self.station.registry.view(gateway)
        if view is not None and view.workspace_id:
            return view.workspace_id
        return self.station.settings.station.workspace_id

    def _on_priority(self, msg: Message) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        flight_id = _text(data.get("flight_id"))
        gateway = msg.gateway_sn or msg.sn
        self.priority[gateway] = flight_id
        st = self.station
        self._say("info", f"{gateway} now uploads the media of task {flight_id} first", gateway)
        st.bus.publish(MediaPriority(st.now_ms(), gateway, flight_id, self._workspace_of(gateway)))

    def _on_progress(self, msg: Message) -> None:
        data = msg.data if isinstance(msg.data, dict) else {}
        ext = _obj(_obj(data.get("output")).get("ext"))
        flight_id, count = _text(ext.get("flight_id")), ext.get("media_count")
        if flight_id and isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            self.expected[flight_id] = count

    # -- the file itself ---------------------------------------------------------------------

    async def _enrich_worker(self) -> None:
        while True:
            media_id = await self._enrich.get()
            try:
                await self.enrich(media_id)
            except Exception:
                log.exception("reading media %s failed", media_id)
            finally:
                self._finished_work()

    async def enrich(self, media_id: int) -> MediaRow | None:
        """Read the file: metadata (the file wins), thumbnail, SRT track. Never raises for a
        bad file: the row keeps a note."""
        row = await self.get(media_id)
        if row is None:
            return None
        if row.kind == "video":
            return await self._read_video(row)
        limit = MAX_SRT_BYTES if row.kind == "srt" else MAX_READ_BYTES
        if row.size is not None and row.size > limit:
            return await self._note(row, f"{row.size} bytes: too large to read metadata from")
        loop = asyncio.get_running_loop()
        head_only = row.kind == "photo" and row.size is not None and row.size > HEAD_BYTES
        try:
            data = await self._get(row.object_key, limit, HEAD_BYTES if head_only else None)
            facts = await loop.run_in_executor(None, read_file_facts, row.kind, data, head_only)
            if facts is None:  # the head was not enough: the whole file
                data = await self._get(row.object_key, limit)
                facts = await loop.run_in_executor(None, read_file_facts, row.kind, data)
        except OSError as exc:
            return await self._note(row, f"cannot read the file: {exc}")
        assert facts is not None
        changes: dict[str, Any] = {}
        if facts.meta is not None:
            changes.update(self._compare(row, facts.meta))
        if facts.thumbnail is not None:
            thumb_key = f"{THUMB_PREFIX}{row.object_key}.jpg"
            status = await self._s3("PUT", thumb_key, facts.thumbnail)
            if status == 200:
                changes["thumbnail_key"] = thumb_key
            else:
                facts = replace(facts, problem=f"the thumbnail was not stored (HTTP {status})")
        if facts.track is not None:
            changes["track"] = json.dumps(facts.track)
        if facts.problem:
            changes["note"] = facts.problem
            text = f"media {row.object_key} from {row.device_sn}: {facts.problem}"
            log.warning("%s", text)
            self._say("warning", text, row.device_sn)
        updated = await self._update(row, changes)
        if row.kind == "srt" and facts.track is not None:
            await self._give_track_to_video(updated)
        return updated

    def _compare(self, row: MediaRow, meta: MediaMeta) -> dict[str, Any]:
        """Columns to set from the file; each disagreement with the callback is logged."""
        changes: dict[str, Any] = {}
        differences = []
        for attr, column in _META_COLUMNS.items():
            value = getattr(meta, attr)
            if value is None:
                continue
            before = getattr(row, column)
            if before is not None and isinstance(value, float):
                if abs(before - value) > TOLERANCE.get(attr, DEFAULT_TOLERANCE):
                    differences.append(f"{column} {before} → {value}")
            elif before is not None and before != value and column == "create_time":
                differences.append(f"{column} {before} → {value}")
            if before != value:
                changes[column] = value
        if meta.camera_model:
            changes["camera_model"] = meta.camera_model
        lens = lens_of(row.name, meta.image_source)
        if lens and lens != row.lens:
            changes["lens"] = lens
        if differences:
            text = (
                f"media {row.object_key}: the file's metadata differs from the callback's "
                f"(the file's is kept): {', '.join(differences)}"
            )
            log.info("%s", text)
            self._say("info", text, row.device_sn)
        return changes

    async def _read_video(self, row: MediaRow) -> MediaRow:
        loop = asyncio.get_running_loop()
        facts = await loop.run_in_executor(None, read_video, self._url("GET", row.object_key))
        changes: dict[str, Any] = {}
        if facts.problem:
            changes["note"] = facts.problem
            text = f"media {row.object_key} from {row.device_sn}: {facts.problem}"
            log.warning("%s", text)
            self._say("warning", text, row.device_sn)
        for column in ("width", "height", "duration_ms"):
            if getattr(facts, column) is not None:
                changes[column] = getattr(facts, column)
        if facts.codec:
            changes["codec"] = facts.codec
        if facts.create_time_ms is not None and row.create_time is None:
            changes["create_time"] = facts.create_time_ms
        if facts.thumbnail is not None:
            thumb_key = f"{THUMB_PREFIX}{row.object_key}.jpg"
            if await self._s3("PUT", thumb_key, facts.thumbnail) == 200:
                changes["thumbnail_key"] = thumb_key
        row = await self._update(row, changes)
        return await self._attach_track(row)

    async def _attach_track(self, video: MediaRow) -> MediaRow:
        stem = posixpath.splitext(video.object_key)[0]
        for ext in (".SRT", ".srt"):
            srt = await self._store().call(q.get_by_key, stem + ext)
            if srt is not None and srt.track:
                return await self._update(video, {"track": srt.track})
        return video

    async def _give_track_to_video(self, srt: MediaRow) -> None:
        stem = posixpath.splitext(srt.object_key)[0]
        for ext in (".MP4", ".mp4", ".MOV", ".mov"):
            video = await self._store().call(q.get_by_key, stem + ext)
            if video is not None:
                await self._update(video, {"track": srt.track})

    async def _note(self, row: MediaRow, note: str) -> MediaRow:
        text = f"media {row.object_key} from {row.device_sn}: {note}"
        log.warning("%s", text)
        self._say("warning", text, row.device_sn)
        return await self._update(row, {"note": note})

    async def _update(self, row: MediaRow, changes: dict[str, Any]) -> MediaRow:
        if not changes:
            return row
        changes["updated_at"] = self.station.now_ms()
        updated = await self._store().call(q.update, row.id, changes)
        if updated is None:  # deleted meanwhile
            return row
        self._publish("updated", updated)
        return updated

    # -- the object store ----------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self._session

    def _url(self, method: str, key: str) -> str:
        assert self.station.storage is not None
        return self.station.storage.presign_get(key, 300, method=method)

    async def _head(self, key: str) -> tuple[int | None, str, str]:
        """(size, status, note) of the object as the store sees it."""
        if self.station.storage is None:
            return None, "missing", "object storage is not available"
        try:
            async with self._http().head(self._url("HEAD", key)) as r:
                if r.status == 200:
                    return r.content_length, "ok", ""
                if r.status == 404:
                    return (
                        None,
                        "missing",
                        "the store has no such object (the upload did not finish, or went "
                        "to another store)",
                    )
                return None, "missing", f"the store answered HTTP {r.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, "missing", f"the store cannot be reached: {exc}"

    async def _get(self, key: str, limit: int, head: int | None = None) -> bytes:
        """The object's bytes (its first `head` bytes only, if given).

        Raises:
            OSError: the store refused or the object is larger than `limit`.
        """
        headers = {"Range": f"bytes=0-{head - 1}"} if head else None
        try:
            async with self._http().get(self._url("GET", key), headers=headers) as r:
                if r.status not in (200, 206):
                    raise OSError(f"the store answered HTTP {r.status}")
                buffer = bytearray()
                async for chunk in r.content.iter_chunked(256 * 1024):
                    buffer += chunk
                    if len(buffer) > limit:
                        break
                data = bytes(buffer)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OSError(str(exc)) from exc
        if len(data) > limit:
            raise OSError(f"larger than {limit} bytes")
        return data

    async def _s3(self, method: str, key: str, body: bytes | None = None) -> int:
        try:
            headers = {"Content-Type": "image/jpeg"} if body is not None else None
            async with self._http().request(
                method, self._url(method, key), data=body, headers=headers
            ) as r:
                await r.read()
                return r.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("%s %s failed: %s", method, key, exc)
            return 0

    # -- helpers -------------------------------------------------------------------------------

    def _store(self) -> Store:
        assert self.station.store is not None
        return self.station.store

    def _say(self, level: str, text: str, sn: str = "") -> None:
        st = self.station
        st.bus.publish(LogEntry(st.now_ms(), "media", level, text, sn))

    def _publish(self, change: str, row: MediaRow) -> None:
        st = self.station
        st.bus.publish(MediaChanged(st.now_ms(), change, row))
