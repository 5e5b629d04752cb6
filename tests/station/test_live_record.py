"""Recording live video to MP4 (issue 12) through the HTTP API, with a literal-JSON dock that
really pushes: the file is a copy of the device's H.264 (ffprobe: same codec, profile and size),
it lands in the media library with its device, camera, time and position, a stream that ends
while recording still gives a playable file, and every refusal is said."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, now_ms, wait_for
from live_peers import CAPACITY, DOCK_CAM, ZOOM, bound_live_dock, live_runtime

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.station.live import Live
from gcs.station.live_record import LiveRecording, RecordingChanged
from gcs.station.media import Media, MediaQuery
from gcs.store.settings import Settings, load_settings

av = pytest.importorskip("av")
if shutil.which("ffprobe") is None:
    pytest.skip("Debian's ffprobe (apt package ffmpeg) is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    def public_loopback(s: Settings) -> None:
        s.station.public_host = "127.0.0.1"

    rt = live_runtime(tmp_path_factory, "liverec", public_loopback)
    yield rt
    rt.stop()


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    d = bound_live_dock(
        runtime, {"live_capacity": CAPACITY}, until=lambda live: DOCK in live.gateways
    )
    yield d
    d.close()


class Pushers:
    """Answers every live command with success and pushes a real stream on live_start_push."""

    def __init__(self) -> None:
        from live_push import Pusher

        self.Pusher = Pusher
        self.started: list[Any] = []

    def script(self, d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        if cmd.get("method") == "live_start_push":
            p = self.Pusher(cmd["data"]["url"], seconds=60)
            self.started.append(p)
            p.start()

    def stop(self) -> None:
        for p in self.started:
            p.stop.set()
        for p in self.started:
            p.join(10)


@pytest.fixture
def pushers(dock: RawDock) -> Iterator[Pushers]:
    p = Pushers()
    dock.script = p.script
    yield p
    p.stop()


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    url = next(ep.url for ep in runtime.runtime.endpoints() if ep.name == "http")
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/manage/api/v1/login",
            json={
                "username": s.pilot.default_user,
                "password": s.pilot.default_password,
                "flag": 1,
            },
        ) as r:
            session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        yield session, base


def ffprobe(url: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-count_packets",
            "-show_entries",
            "stream=codec_name,profile,width,height,duration,nb_read_packets:format=duration",
            "-of", "json", url,
        ],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def probe_live(url: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe", "-v", "error", "-rw_timeout", "10000000",
            "-show_entries", "stream=codec_name,profile,width,height", "-of", "json", url,
        ],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def aircraft_osd(dock: RawDock, **data: Any) -> None:
    """The aircraft's OSD, on its own topic through the dock (protocol §3)."""
    body = {"tid": "t", "bid": "b", "timestamp": now_ms(), "gateway": DOCK, "data": data}
    dock.c.publish(f"thing/product/{AIRCRAFT}/osd", json.dumps(body), qos=1)


async def _record(session: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> Any:
    async with session.post(f"{base}/manage/api/v1/live/streams/record", json=body) as r:
        return r.status, await r.json()


@pytest.mark.slow
async def test_record_to_mp4_without_reencoding_into_the_media_library(
    runtime: ThreadedRuntime, dock: RawDock, pushers: Pushers, api: tuple[Any, str]
) -> None:
    session, base = api
    station = runtime.runtime.station
    recordings = station.capability(LiveRecording)
    changes: list[RecordingChanged] = []
    off = station.bus.subscribe(RecordingChanged, changes.append)
    aircraft_osd(dock, latitude=22.5431, longitude=113.9593, height=132.5, elevation=80.25)
    telemetry = station.telemetry
    wait_for(lambda: telemetry.current(AIRCRAFT).get("elevation") == 80.25, what="aircraft OSD")
    try:
        status, body = await _record(session, base, {"video_id": ZOOM, "action": "start"})
        assert status == 200 and body["code"] == 0, body
        assert body["data"]["recording"] is True and body["data"]["first_picture_ms"], body
        rec = recordings.recording(ZOOM)
        assert rec is not None
        live = station.capability(Live)
        stream = live.stream(ZOOM)
        assert stream is not None and stream.viewers == 1  # the recording holds the stream
        source = probe_live(live.playback_url(stream))["streams"][0]
        wait_for(lambda: rec.recorder.frames >= 75, 20, "2.5 s of pictures recorded")
        status, body = await _record(session, base, {"video_id": ZOOM, "action": "stop"})
        assert status == 200 and body["code"] == 0, body
        frames = rec.recorder.frames
        media = body["data"]["media"]
        assert media is not None and media["object_key"].startswith(f"live/{AIRCRAFT}/")
        assert recordings.recording(ZOOM) is None and stream.viewers == 0
        assert not rec.path.exists()  # moved into the object store

        lib = station.capability(Media)
        runtime.submit(lib.wait_idle()).result(30)
        rows, _ = runtime.submit(lib.query(MediaQuery(device_sns=(AIRCRAFT,)))).result(10)
        [row] = [r for r in rows if r.id == media["id"]]
        assert row.kind == "video" and row.source == "live" and row.device_sn == AIRCRAFT
        assert row.path == ZOOM  # the camera
        assert row.create_time is not None and abs(row.create_time - now_ms()) < 60_000
        assert row.lat == pytest.approx(22.5431) and row.lng == pytest.approx(113.9593)
        assert row.absolute_altitude == pytest.approx(132.5)
        assert row.relative_altitude == pytest.approx(80.25)
        assert row.codec == "h264" and (row.width, row.height) == (640, 360)
        assert row.thumbnail_key  # the media browser shows it
        assert row.duration_ms is not None and abs(row.duration_ms - frames * 1000 / 30) < 100

        # Debian's ffprobe reads the stored file: the device's own H.264, not re-encoded
        assert station.storage is not None
        probe = ffprobe(station.storage.presign_get(row.object_key, 300))
        [v] = probe["streams"]
        assert v["codec_name"] == "h264" == source["codec_name"]
        assert v["profile"] == source["profile"]  # x264 "Constrained Baseline" kept
        assert (v["width"], v["height"]) == (source["width"], source["height"]) == (640, 360)
        assert int(v["nb_read_packets"]) == frames  # every packet copied, none added
        assert float(probe["format"]["duration"]) == pytest.approx(frames / 30, abs=0.05)
        assert float(probe["format"]["duration"]) >= 2.4
        assert [c.what for c in changes if c.video_id == ZOOM] == ["started", "saved"]
    finally:
        off()
        await session.post(f"{base}/manage/api/v1/live/streams/stop", json={"video_id": ZOOM})


@pytest.mark.slow
async def test_a_stream_that_ends_while_recording_still_gives_a_playable_file(
    runtime: ThreadedRuntime, dock: RawDock, pushers: Pushers, api: tuple[Any, str]
) -> None:
    session, base = api
    station = runtime.runtime.station
    recordings = station.capability(LiveRecording)
    changes: list[RecordingChanged] = []
    off = station.bus.subscribe(RecordingChanged, changes.append)
    try:
        status, body = await _record(session, base, {"video_id": DOCK_CAM, "action": "start"})
        assert status == 200 and body["data"]["first_picture_ms"], body
        rec = recordings.recording(DOCK_CAM)
        assert rec is not None
        wait_for(lambda: rec.recorder.frames >= 30, 20, "a second recorded")
        pushers.stop()  # the device stops pushing: the stream ends under the recorder
        wait_for(lambda: any(c.what == "saved" for c in changes), 30, "saved by itself")
        [saved] = [c for c in changes if c.what == "saved"]
        assert recordings.recording(DOCK_CAM) is None
        row = runtime.submit(station.capability(Media).get(saved.media_id)).result(10)
        assert row is not None and row.device_sn == DOCK and row.path == DOCK_CAM
        assert station.storage is not None
        probe = ffprobe(station.storage.presign_get(row.object_key, 300))
        assert probe["streams"][0]["codec_name"] == "h264"
        assert float(probe["format"]["duration"]) >= 0.9
        # stopping it now says it is not being recorded
        status, body = await _record(session, base, {"video_id": DOCK_CAM, "action": "stop"})
        assert status == 200 and body["code"] == 201404 and "not being recorded" in body["message"]
    finally:
        off()
        await session.post(f"{base}/manage/api/v1/live/streams/stop", json={"video_id": DOCK_CAM})


async def _snapshot(session: aiohttp.ClientSession, base: str, video_id: str) -> Any:
    async with session.post(
        f"{base}/manage/api/v1/live/streams/snapshot", json={"video_id": video_id}
    ) as r:
        return r.status, await r.json()


@pytest.mark.slow
async def test_the_station_takes_a_snapshot_over_http(
    runtime: ThreadedRuntime, dock: RawDock, pushers: Pushers, api: tuple[Any, str]
) -> None:
    """The desktop's Snapshot button as an HTTP request: the station starts the stream, decodes
    its first picture and saves it in the media library with the camera's position."""
    session, base = api
    station = runtime.runtime.station
    aircraft_osd(dock, latitude=22.5432, longitude=113.9594, height=120.0, elevation=70.5)
    telemetry = station.telemetry
    wait_for(lambda: telemetry.current(AIRCRAFT).get("elevation") == 70.5, what="aircraft OSD")
    try:
        status, body = await _snapshot(session, base, ZOOM)
        assert status == 200 and body["code"] == 0, body
        media = body["data"]["media"]
        assert media["kind"] == "photo" and media["name"].endswith(".jpg"), media
        assert media["device_sn"] == AIRCRAFT
        live = station.capability(Live)
        stream = live.stream(ZOOM)
        assert stream is not None and stream.viewers == 0  # the snapshot gave its lease back
        lib = station.capability(Media)
        runtime.submit(lib.wait_idle()).result(30)
        row = runtime.submit(lib.get(media["id"])).result(10)
        assert row is not None and row.path == ZOOM
        assert row.lat == pytest.approx(22.5432) and row.relative_altitude == pytest.approx(70.5)
        assert station.storage is not None
        probe = ffprobe(station.storage.presign_get(row.object_key, 300))
        assert probe["streams"][0]["codec_name"] == "mjpeg"
        assert (probe["streams"][0]["width"], probe["streams"][0]["height"]) == (640, 360)
    finally:
        await session.post(f"{base}/manage/api/v1/live/streams/stop", json={"video_id": ZOOM})


async def test_a_snapshot_of_a_camera_that_never_pushes_says_so(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[Any, str]
) -> None:
    session, base = api
    recordings = runtime.runtime.station.capability(LiveRecording)
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})  # accepts, never pushes
    recordings.snapshot_wait_s = 0.5
    try:
        status, body = await _snapshot(session, base, DOCK_CAM)
        assert status == 200 and body["code"] == 211001, body
        assert "no picture" in body["message"]
        status, body = await _snapshot(session, base, "nope")
        assert body["code"] == 210002, body
    finally:
        recordings.snapshot_wait_s = 20.0
        await session.post(f"{base}/manage/api/v1/live/streams/stop", json={"video_id": DOCK_CAM})


async def test_record_refusals_are_clear_and_shown(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[Any, str], monkeypatch: Any
) -> None:
    session, base = api
    station = runtime.runtime.station
    seen: list[LogEntry] = []
    off = station.bus.subscribe(LogEntry, seen.append)
    try:
        status, body = await _record(session, base, {"video_id": ZOOM, "action": "pause"})
        assert status == 200 and body["code"] == 210002 and "start" in body["message"]
        status, body = await _record(session, base, {"video_id": "nope", "action": "start"})
        assert status == 200 and body["code"] == 210002
        status, body = await _record(
            session, base, {"video_id": f"{AIRCRAFT}/99-0-0/normal-0", "action": "start"}
        )
        assert status == 200 and body["code"] == 201404
        # an installation without the video engine (no FFmpeg beside Qt) says so
        import gcs.station.live_record as live_record

        monkeypatch.setattr(live_record, "have_engine", lambda: False)
        sent_before = len(dock.sent("live_start_push"))
        status, body = await _record(session, base, {"video_id": ZOOM, "action": "start"})
        assert status == 200 and body["code"] == 210005 and "video engine" in body["message"]
        wait_for(lambda: any("video engine" in e.message and e.level == "warning" for e in seen))
        async with session.post(
            f"{base}/manage/api/v1/live/streams/snapshot", json={"video_id": ZOOM}
        ) as r:
            body = await r.json()
        assert body["code"] == 210005, body
        assert len(dock.sent("live_start_push")) == sent_before  # nothing asked of the device
    finally:
        off()


async def test_a_device_that_never_pushes_ends_in_a_clear_state(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[Any, str]
) -> None:
    session, base = api
    station = runtime.runtime.station
    recordings = station.capability(LiveRecording)
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})  # accepts, never pushes
    changes: list[RecordingChanged] = []
    seen: list[LogEntry] = []
    offs = [
        station.bus.subscribe(RecordingChanged, changes.append),
        station.bus.subscribe(LogEntry, seen.append),
    ]
    recordings.first_picture_wait_s = 0.5
    try:
        status, body = await _record(session, base, {"video_id": DOCK_CAM, "action": "start"})
        assert status == 200 and body["data"]["recording"] is True, body
        assert body["data"]["first_picture_ms"] is None  # still waiting for the device
        status, body = await _record(session, base, {"video_id": DOCK_CAM, "action": "stop"})
        assert status == 200 and body["data"]["media"] is None, body
        assert [c.what for c in changes] == ["started", "failed"]
        assert "no picture" in changes[-1].message
        wait_for(lambda: any("no picture" in e.message and e.level == "warning" for e in seen))
        assert recordings.recording(DOCK_CAM) is None
        live = station.capability(Live)
        stream = live.stream(DOCK_CAM)
        assert stream is not None and stream.viewers == 0  # the lease is given back
    finally:
        recordings.first_picture_wait_s = 8.0
        for off in offs:
            off()
        await session.post(f"{base}/manage/api/v1/live/streams/stop", json={"video_id": DOCK_CAM})


def _encode_clip(path: Path, frames: int, gop: int | None = None) -> None:
    """An H.264 MP4 of `frames` 320x180 pictures at 30 fps (grey level = picture number)."""
    import fractions

    import numpy as np

    out: Any = av.open(str(path), "w", format="mp4")
    s: Any = out.add_stream("libx264", rate=30)
    s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
    if gop is not None:
        s.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(gop)}
    for n in range(frames):
        frame = av.VideoFrame.from_ndarray(np.full((180, 320, 3), n, np.uint8), format="rgb24")
        frame.pts, frame.time_base = n, fractions.Fraction(1, 30)
        for p in s.encode(frame):
            out.mux(p)
    for p in s.encode(None):
        out.mux(p)
    out.close()


def _restarted_station(data_dir: Path) -> ThreadedRuntime:
    """The station started again on `data_dir` (loopback, any free ports)."""
    settings = load_settings(data_dir)
    settings.station.host = settings.station.public_host = "127.0.0.1"
    settings.mqtt.port = settings.http.port = settings.http.https_port = 0
    settings.storage.port = settings.ntp.port = settings.ntp.fallback_port = 0
    settings.live.rtmp_port = settings.live.http_port = 0
    rt = ThreadedRuntime(Runtime(settings, data_dir))
    rt.start()
    return rt


def _aircraft_rows(rt: ThreadedRuntime) -> Any:
    media = rt.runtime.station.capability(Media)
    rows, _ = rt.submit(media.query(MediaQuery(device_sns=(AIRCRAFT,)))).result(10)
    return rows


def _said(rt: ThreadedRuntime, words: str) -> bool:
    """A warning with `words` is in the operator's events."""
    events = rt.submit(rt.runtime.station.recent_events()).result(10)
    return any(words in e.message and e.level == "warning" for e in events)


def test_recordings_a_previous_run_could_not_store_are_saved_at_start(tmp_path: Path) -> None:
    """Stopping the station while recording: the object store stops first, the MP4 stays in
    recordings/; the next start puts it into the media library. A crash leaves a `.part`,
    which is said and kept."""
    data_dir = tmp_path / "station"
    folder = data_dir / "recordings" / AIRCRAFT
    folder.mkdir(parents=True)
    mp4 = folder / "LIVE_20261203101500250_39-0-7_W.mp4"
    _encode_clip(mp4, 15)
    part = folder / "LIVE_20261203102000000_39-0-7.mp4.part"
    part.write_bytes(b"\x00\x00\x00\x18ftypisom")
    rt = _restarted_station(data_dir)
    try:
        saved = partial(_aircraft_rows, rt)
        [row] = wait_for(saved, 30, "the leftover recording in the media library")
        assert row.device_sn == AIRCRAFT and row.kind == "video" and row.lens == "wide"
        assert row.path == f"{AIRCRAFT}/39-0-7" and row.name == mp4.name
        assert row.create_time == 1796292900250  # 2026-12-03 10:15:00.250 UTC, from the name
        wait_for(lambda: not mp4.exists(), 10, "the local copy removed")
        # the .part comes after the .mp4 (oldest first): wait for it too, never race it
        unfinished = folder / "LIVE_20261203102000000_39-0-7.mp4.unfinished"
        wait_for(lambda: not part.exists(), 10, "the .part renamed")
        assert unfinished.exists()
        # said to the operator (the events panel's history)
        wait_for(
            lambda: _said(rt, "could not finish"), 10, "the unfinished recording in the events"
        )
    finally:
        rt.stop()


def _cut_recording(folder: Path, name: str) -> tuple[Path, int]:
    """A recording as the recorder writes it (fragmented MP4, key frame every 15 pictures),
    copied while still being written: what a crash leaves. Returns the `.part` and how many
    pictures its complete fragments hold at least."""
    import shutil

    from gcs.video import ffmpeg
    from gcs.video.recorder import MP4_OPTIONS

    folder.mkdir(parents=True, exist_ok=True)
    clip = folder.parent / "clip.mp4"
    _encode_clip(clip, 90, gop=15)
    writing = folder.parent / "writing.mp4"
    part = folder / f"{name}.part"
    with ffmpeg.Input(str(clip)) as src:
        v = src.video
        assert v is not None
        out = ffmpeg.Output(writing, "mp4", MP4_OPTIONS)
        index = out.add_stream_from(v)
        for n, packet in enumerate(src.packets(v)):
            out.mux(packet, index, interleave=True)
            if n == 50:  # mid-fragment: the crash
                shutil.copy(writing, part)
        out.close()
    clip.unlink()
    writing.unlink()
    return part, 45


def test_a_recording_cut_by_a_crash_is_salvaged(tmp_path: Path) -> None:
    from gcs.video.recorder import salvage

    part, at_least = _cut_recording(tmp_path / "rec", "LIVE_1_39-0-7_W.mp4")
    garbage = tmp_path / "rec" / "LIVE_2_39-0-7_W.mp4.part"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(200))
    assert salvage(garbage) is None and garbage.exists()  # kept for a person to look at
    saved = salvage(part)
    assert saved == tmp_path / "rec" / "LIVE_1_39-0-7_W.mp4" and not part.exists()
    with av.open(str(saved)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    assert at_least <= frames < 90


def test_a_recording_cut_by_a_crash_reaches_the_media_library_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "station"
    folder = data_dir / "recordings" / AIRCRAFT
    part, _ = _cut_recording(folder, "LIVE_20261203103000000_39-0-7_W.mp4")
    rt = _restarted_station(data_dir)
    try:
        saved = partial(_aircraft_rows, rt)
        [row] = wait_for(saved, 30, "the salvaged recording in the media library")
        assert row.kind == "video" and row.name == "LIVE_20261203103000000_39-0-7_W.mp4"
        assert not part.exists() and not list(folder.glob("*.unfinished"))
        wait_for(lambda: _said(rt, "cut short"), 10, "the salvage in the events")
    finally:
        rt.stop()
