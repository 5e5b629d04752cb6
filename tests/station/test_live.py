"""Live video (§7, §4.1, §8.4 live endpoints) through the HTTP API, with a literal-JSON dock:
capacity/status kept per gateway, live_* commands with the documented fields and URL format,
513003 reused, device refusals explained, idle streams stopped."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, wait_for
from live_peers import CAPACITY, DOCK_CAM, ZOOM, bound_live_dock, live_runtime
from station_harness import free_port

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.station.live import Live


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    rt = live_runtime(tmp_path_factory, "live")
    yield rt
    rt.stop()


def http_base(rt: ThreadedRuntime) -> str:
    url = next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http")
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    status = {
        "video_id": DOCK_CAM,
        "video_type": "normal",
        "video_quality": 0,
        "status": 0,
        "error_status": 513010,
    }
    d = bound_live_dock(
        runtime,
        {"live_capacity": CAPACITY, "live_status": [status]},
        until=lambda live: DOCK in live.gateways and bool(live.gateways[DOCK].status),
    )
    wait_for(
        lambda: runtime.runtime.station.telemetry.current(DOCK).get("live_capacity"),
        what="capacity in telemetry",
    )
    yield d
    d.close()


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    base = http_base(runtime)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/manage/api/v1/login",
            json={
                "username": s.pilot.default_user,
                "password": s.pilot.default_password,
                "flag": 1,
            },
        ) as r:
            token = (await r.json())["data"]["access_token"]
        session.headers["x-auth-token"] = token
        yield session, base


def _answer(d: RawDock, cmd: dict[str, Any], results: dict[str, int]) -> None:
    d.reply(cmd, {"result": results.get(cmd.get("method", ""), 0)})


async def test_capacity_and_status_with_errors_in_words(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    async with session.get(f"{base}/manage/api/v1/live/capacity") as r:
        body = await r.json()
    assert r.status == 200 and body["code"] == 0, body
    by_sn = {d["sn"]: d for d in body["data"]}
    assert set(by_sn) == {DOCK, AIRCRAFT}
    [cam] = by_sn[AIRCRAFT]["cameras_list"]
    assert cam["index"] == "39-0-7"
    assert cam["videos_list"][0]["id"] == ZOOM
    assert cam["videos_list"][0]["switch_video_types"] == ["wide", "zoom", "ir"]
    [status] = by_sn[DOCK]["live_status"]
    assert status["error_status"] == 513010 and "network" in status["message"]
    assert status["message_zh"] and status["message_zh"] != status["message"]


async def test_start_push_fields_url_and_reuse(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    dock.script = lambda d, cmd: _answer(d, cmd, {})
    async with session.post(
        f"{base}/manage/api/v1/live/streams/start",
        json={"url_type": 1, "video_id": ZOOM, "video_quality": 2},
    ) as r:
        body = await r.json()
    assert body["code"] == 0, body
    [sent] = dock.sent("live_start_push")
    assert sent["_topic"] == f"thing/product/{DOCK}/services"
    data = sent["data"]
    assert set(data) == {"url_type", "url", "video_id", "video_quality"}
    assert data["url_type"] == 1 and data["video_id"] == ZOOM and data["video_quality"] == 2
    host = runtime.runtime.station.public_host
    m = re.fullmatch(
        rf"rtmp://{re.escape(host)}:(\d+)/live/{AIRCRAFT}-39-0-7\?secret=([A-Za-z0-9_-]{{16,}})",
        data["url"],
    )
    assert m, data["url"]
    live = runtime.runtime.station.capability(Live)
    stream = live.stream(ZOOM)
    assert stream is not None and stream.secret == m.group(2)
    assert live.authorize(f"{AIRCRAFT}-39-0-7", m.group(2)) is stream
    assert live.authorize(f"{AIRCRAFT}-39-0-7", "wrong-secret") is None
    assert live.authorize("unknown-stream", m.group(2)) is None
    assert body["data"]["video_id"] == ZOOM
    assert re.fullmatch(
        rf"http://{re.escape(host)}:\d+/live/{AIRCRAFT}-39-0-7\.ts\?token=[\w-]{{16,}}",
        body["data"]["url"],
    ), body["data"]["url"]

    # the same camera again (even under another video index) is reused, nothing re-sent
    async with session.post(
        f"{base}/manage/api/v1/live/streams/start",
        json={"url_type": 1, "video_id": f"{AIRCRAFT}/39-0-7/zoom-0"},
    ) as r:
        body = await r.json()
    assert body["code"] == 0 and body["data"]["reused"] is True
    assert len(dock.sent("live_start_push")) == 1

    # quality and lens while live; the documented data only
    async with session.post(
        f"{base}/manage/api/v1/live/streams/update", json={"video_id": ZOOM, "video_quality": 4}
    ) as r:
        assert (await r.json())["code"] == 0
    assert dock.sent("live_set_quality")[-1]["data"] == {"video_id": ZOOM, "video_quality": 4}
    async with session.post(
        f"{base}/manage/api/v1/live/streams/switch", json={"video_id": ZOOM, "video_type": "ir"}
    ) as r:
        assert (await r.json())["code"] == 0
    assert dock.sent("live_lens_change")[-1]["data"] == {"video_id": ZOOM, "video_type": "ir"}
    async with session.post(
        f"{base}/manage/api/v1/live/streams/switch",
        json={"video_id": DOCK_CAM, "camera_position": 1},
    ) as r:
        assert (await r.json())["code"] == 0
    assert dock.sent("live_camera_change")[-1]["data"] == {
        "video_id": DOCK_CAM,
        "camera_position": 1,
    }

    # stop frees it: the secret no longer opens the ingest
    async with session.post(
        f"{base}/manage/api/v1/live/streams/stop", json={"video_id": ZOOM}
    ) as r:
        assert (await r.json())["code"] == 0
    assert dock.sent("live_stop_push")[-1]["data"] == {"video_id": ZOOM}
    assert live.stream(ZOOM) is None
    assert live.authorize(f"{AIRCRAFT}-39-0-7", m.group(2)) is None


async def test_already_live_513003_is_reused_and_refusals_explained(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    session, base = api
    live = runtime.runtime.station.capability(Live)
    dock.script = lambda d, cmd: _answer(d, cmd, {"live_start_push": 513003})
    async with session.post(
        f"{base}/manage/api/v1/live/streams/start", json={"url_type": 1, "video_id": DOCK_CAM}
    ) as r:
        body = await r.json()
    assert body["code"] == 0 and body["data"]["reused"] is True, body
    assert live.stream(DOCK_CAM) is not None
    live.streams.clear()

    # a device refusal: HTTP 200 with the device's code and its meaning
    dock.script = lambda d, cmd: _answer(d, cmd, {"live_start_push": 513013})
    async with session.post(
        f"{base}/manage/api/v1/live/streams/start", json={"url_type": 1, "video_id": DOCK_CAM}
    ) as r:
        body = await r.json()
    assert body["code"] == 513013 and "live_start_push" in body["message"], body
    assert live.stream(DOCK_CAM) is None

    # station refusals: unknown video, bad quality, url_type it cannot serve; each on the bus
    seen: list[LogEntry] = []
    unsubscribe = runtime.runtime.station.bus.subscribe(LogEntry, seen.append)
    try:
        n = len(dock.sent("live_start_push"))
        async with session.post(
            f"{base}/manage/api/v1/live/streams/start",
            json={"url_type": 1, "video_id": f"{AIRCRAFT}/99-0-0/normal-0"},
        ) as r:
            assert r.status == 200 and (await r.json())["code"] == 201404
        async with session.post(
            f"{base}/manage/api/v1/live/streams/start",
            json={"url_type": 1, "video_id": DOCK_CAM, "video_quality": 9},
        ) as r:
            body = await r.json()
        assert r.status == 200 and body["code"] != 0 and "video_quality" in body["message"]
        for url_type, name in ((3, "GB28181"), (0, "Agora")):
            async with session.post(
                f"{base}/manage/api/v1/live/streams/start",
                json={"url_type": url_type, "video_id": DOCK_CAM},
            ) as r:
                body = await r.json()
            assert r.status == 200 and body["code"] != 0 and name in body["message"], body
        async with session.post(
            f"{base}/manage/api/v1/live/streams/start", json={"url_type": 1, "video_id": "x/y"}
        ) as r:
            assert r.status == 200 and (await r.json())["code"] != 0
        assert len(dock.sent("live_start_push")) == n
        wait_for(lambda: sum("refused" in e.message for e in seen) >= 2, what="refusal events")
    finally:
        unsubscribe()


async def test_reply_timeout_is_twenty_seconds() -> None:
    from gcs.station.live import LIVE_COMMANDS

    assert {s.method: s.reply_timeout_s for s in LIVE_COMMANDS} == {
        "live_start_push": 20.0,
        "live_stop_push": 20.0,
        "live_set_quality": 20.0,
        "live_lens_change": 20.0,
        "live_camera_change": 20.0,
    }


def test_streams_nobody_watches_are_stopped(runtime: ThreadedRuntime, dock: RawDock) -> None:
    live = runtime.runtime.station.capability(Live)
    dock.script = lambda d, cmd: _answer(d, cmd, {})
    n_stops = len(dock.sent("live_stop_push"))
    stream = run(runtime, live.start_stream(ZOOM))
    unwatch = run(runtime, _watch(live, ZOOM))
    live.idle_stop_s = 0.0
    try:
        # watched: kept however long it has run
        assert run(runtime, live.reap()) == []
        assert live.stream(ZOOM) is stream
        run(runtime, _call(unwatch))
        assert run(runtime, live.reap()) == [ZOOM]
        assert live.stream(ZOOM) is None
        wait_for(lambda: len(dock.sent("live_stop_push")) > n_stops, what="live_stop_push")
        assert dock.sent("live_stop_push")[-1]["data"] == {"video_id": ZOOM}
    finally:
        live.idle_stop_s = 120.0


def run(rt: ThreadedRuntime, coro: Any) -> Any:
    return rt.submit(coro).result(30)


async def _watch(live: Live, video_id: str) -> Any:
    return live.watch(video_id)


async def _call(f: Any) -> None:
    f()


# -- the media server: a real RTMP push, ffprobe on the playback URL, refusals, restarts -------


def _ingest_url(dock: RawDock, video_id: str) -> str:
    sent = [c for c in dock.sent("live_start_push") if c["data"]["video_id"] == video_id]
    return str(sent[-1]["data"]["url"])


def _ffprobe(url: str) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-rw_timeout",
            "10000000",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "json",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.slow
def test_rtmp_push_reaches_media_server_and_ffprobe_reads_playback(
    runtime: ThreadedRuntime, dock: RawDock
) -> None:
    pytest.importorskip("av")
    if shutil.which("ffprobe") is None:
        pytest.skip("Debian's ffprobe (apt package ffmpeg) is not installed")
    from live_push import Pusher

    station = runtime.runtime.station
    live = station.capability(Live)
    dock.script = lambda d, cmd: _answer(d, cmd, {})
    seen: list[LogEntry] = []
    unsubscribe = station.bus.subscribe(LogEntry, seen.append)
    pushers: list[Pusher] = []
    try:
        stream = run(runtime, live.start_stream(ZOOM))
        ingest = _ingest_url(dock, ZOOM)
        good = Pusher(ingest)
        pushers.append(good)
        good.start()
        wait_for(lambda: stream.publishing, 15, "the push reaches the media server")
        playback = live.playback_url(stream)
        probe = _ffprobe(playback)
        assert {"codec_name": "h264", "width": 640, "height": 360} in probe["streams"], probe

        # a wrong secret and an unknown stream are refused, and said so in the events
        name = ingest.split("/live/", 1)[1].split("?", 1)[0]
        bad = Pusher(ingest.replace("secret=", "secret=x"), seconds=8)
        unknown = Pusher(ingest.replace(f"/live/{name}", "/live/nobody-0-0-0"), seconds=8)
        pushers += [bad, unknown]
        bad.start()
        wait_for(lambda: any("wrong secret" in e.message for e in seen), 15, "wrong secret")
        unknown.start()
        wait_for(lambda: any("unknown stream" in e.message for e in seen), 15, "unknown stream")
        assert good.is_alive() and stream.publishing  # the good stream went on

        # stop frees it: the push is cut, the playback URL is gone
        run(runtime, live.stop_stream(ZOOM))
        good.join(15)
        assert not good.is_alive() and good.error, "the server closed the push"
        assert _status(playback) == 404

        # killing the media server restarts it, and a stream can be started again
        media = live.media
        assert media is not None and media.pid is not None
        old_pid = media.pid
        os.kill(old_pid, signal.SIGKILL)
        wait_for(lambda: media.pid not in (None, old_pid) and media.alive(), 20, "restarted")
        assert any("restarting" in e.message for e in seen)
        stream = run(runtime, live.start_stream(ZOOM))
        again = Pusher(_ingest_url(dock, ZOOM))
        pushers.append(again)
        again.start()
        wait_for(lambda: stream.publishing, 15, "a push after the restart")
        assert _ffprobe(live.playback_url(stream))["streams"][0]["codec_name"] == "h264"
        run(runtime, live.stop_stream(ZOOM))
    finally:
        unsubscribe()
        for p in pushers:
            p.stop.set()
        for p in pushers:
            if p.is_alive():
                p.join(10)


def test_media_server_that_cannot_listen_says_why(tmp_path: Path) -> None:
    pytest.importorskip("av")
    from gcs.video.process import MediaError, MediaProcess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        media = MediaProcess(
            host="127.0.0.1",
            rtmp_port=free_port(),
            http_port=port,
            log_path=tmp_path / "media.log",
        )
        with pytest.raises(MediaError, match=f"HTTP port {port}"):
            media.start()
    assert not media.alive()


@pytest.mark.slow
def test_rtsp_from_an_rc_is_pulled_and_a_dead_source_is_reported(
    runtime: ThreadedRuntime, dock: RawDock
) -> None:
    """url_type 2: the gateway gets RTSP credentials, answers with the URL it serves, and the
    media server reads it; a source that does not answer ends in a message, not a hang."""
    pytest.importorskip("av")
    station = runtime.runtime.station
    live = station.capability(Live)
    dead = f"rtsp://127.0.0.1:{free_port()}/live"

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        out = dead if cmd.get("method") == "live_start_push" else None
        d.reply(cmd, {"result": 0, "output": out} if out else {"result": 0})

    dock.script = script
    seen: list[LogEntry] = []
    unsubscribe = station.bus.subscribe(LogEntry, seen.append)
    try:
        stream = run(runtime, live.start_stream(DOCK_CAM, url_type=2))
        sent = dock.sent("live_start_push")[-1]["data"]
        assert sent["url_type"] == 2
        assert re.fullmatch(r"userName=gcs&password=[\w%-]{16,}&port=\d+", sent["url"]), sent
        assert stream.device_output == dead
        wait_for(lambda: any("cannot read" in e.message for e in seen), 30, "pull failure")
        assert not stream.publishing
        run(runtime, live.stop_stream(DOCK_CAM))
        assert live.media is not None and not live.media.pulls
    finally:
        unsubscribe()


@pytest.mark.parametrize(
    "capacity",
    [
        None,
        3,
        "x",
        [],
        {"device_list": 5},
        {"device_list": [1, {"sn": 2}, {"sn": "A"}]},
        {
            "device_list": [
                {
                    "sn": "A",
                    "camera_list": [
                        {"camera_index": 1},
                        {
                            "camera_index": "1-0-0",
                            "video_list": [
                                None,
                                {"video_index": 3},
                                {"video_index": "normal-0", "switchable_video_types": [1, "wide"]},
                            ],
                        },
                    ],
                }
            ]
        },
    ],
)
def test_malformed_capacity_keeps_what_is_usable(capacity: Any) -> None:
    from gcs.station.live import capacity_sources

    sources = capacity_sources(capacity)
    assert all(s.video_id.count("/") == 2 for s in sources)
    if isinstance(capacity, dict) and isinstance(capacity.get("device_list"), list):
        last = capacity["device_list"][-1]
        if isinstance(last, dict) and last.get("camera_list"):
            [src] = sources
            assert src.video_id == "A/1-0-0/normal-0" and src.switchable == ("wide",)


def test_malformed_status_is_explained_or_skipped() -> None:
    from gcs.station.live import status_entries

    entries = status_entries(
        [
            None,
            {"video_id": 5},
            {"video_id": "A/1-0-0/normal-0", "status": 1, "error_status": "boom"},
            {"video_id": "A/1-0-0/zoom-0", "status": 0, "error_status": 513099},
        ]
    )
    assert [e.video_id for e in entries] == ["A/1-0-0/normal-0", "A/1-0-0/zoom-0"]
    assert entries[0].live and entries[0].error_status == 0 and entries[0].error_en == ""
    assert entries[1].error_en.startswith("Live failed") and entries[1].error_zh
