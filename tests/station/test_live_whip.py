"""WHIP ingest (url_type 4, §7.3) end to end: a literal-JSON dock is handed the station's WHIP
URL by `live_start_push`, pushes H.264 over WebRTC with aiortc, and Debian's ffprobe reads the
station's playback URL; a wrong secret or an unknown stream is refused with an event; DELETE of
the session's Location ends the push; without aiortc, url_type 4 is refused in words."""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from command_peers import AIRCRAFT, RawDock, wait_for
from live_peers import bound_live_dock, live_runtime
from test_live import CAPACITY, _answer, _ffprobe, run

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.station.commands import CommandRefused
from gcs.station.live import Live

pytestmark = pytest.mark.slow
ZOOM = f"{AIRCRAFT}/39-0-7/normal-0"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    rt = live_runtime(tmp_path_factory, "live-whip")
    yield rt
    rt.stop()


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    d = bound_live_dock(runtime, {"live_capacity": CAPACITY, "live_status": []})
    d.script = lambda dd, cmd: _answer(dd, cmd, {})
    yield d
    d.close()


def _request(
    method: str, url: str, body: bytes = b"", ctype: str = "application/sdp", bearer: str = ""
) -> int:
    req = urllib.request.Request(url, data=body or None, method=method)
    if body:
        req.add_header("Content-Type", ctype)
    if bearer:
        req.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_whip_push_is_received_probed_refused_and_ended(
    runtime: ThreadedRuntime, dock: RawDock
) -> None:
    pytest.importorskip("aiortc", reason="aiortc (the test extra) is not installed")
    pytest.importorskip("av")
    if shutil.which("ffprobe") is None:
        pytest.skip("Debian's ffprobe (apt package ffmpeg) is not installed")
    from gcs.sim.whip import WhipPush

    station = runtime.runtime.station
    live = station.capability(Live)
    seen: list[LogEntry] = []
    unsubscribe = station.bus.subscribe(LogEntry, seen.append)
    push: WhipPush | None = None
    try:
        stream = run(runtime, live.start_stream(ZOOM, url_type=4, video_quality=0))
        sent = dock.sent("live_start_push")[-1]["data"]
        assert sent["url_type"] == 4 and sent["video_id"] == ZOOM
        url = sent["url"]
        m = re.fullmatch(
            r"http://127\.0\.0\.1:(\d+)/rtc/v1/whip/\?app=live&stream=([\w-]+)&secret=([\w-]{16,})",
            url,
        )
        assert m, url
        assert live.media is not None and int(m.group(1)) == live.media.http_port
        assert m.group(2) == f"{AIRCRAFT}-39-0-7"

        # refusals before any WebRTC: wrong secret 401, unknown stream 404, each an event
        wrong = url.replace(m.group(3), "not-the-secret")
        assert _request("POST", wrong, b"v=0\r\n") == 401
        unknown = url.replace(m.group(2), "NOSUCHSN-1-0-0")
        assert _request("POST", unknown, b"v=0\r\n") == 404
        assert _request("POST", url, b"v=0\r\n", ctype="text/plain") == 415
        # the secret as a Bearer token instead: a wrong one is refused, the right one lets the
        # offer through (this one is no SDP aiortc can use: 400, not 401)
        bare = url.replace(f"&secret={m.group(3)}", "")
        assert _request("POST", bare, b"v=0\r\n", bearer="not-the-secret") == 401
        assert _request("POST", bare, b"v=0\r\n", bearer=m.group(3)) == 400
        wait_for(
            lambda: (
                any("wrong secret" in e.message for e in seen)
                and any("unknown stream" in e.message for e in seen)
                and any("application/sdp" in e.message for e in seen)
            ),
            10,
            "refusal events",
        )
        assert not stream.publishing

        # the dock's push, as a device does it: offer → 201 + Location, H.264 over RTP
        push = WhipPush(url, 0, "normal")
        push.start()
        wait_for(lambda: stream.publishing, 20, "the WHIP push reaches the media server")
        assert push.sessions == 1 and push.location.startswith(
            f"http://127.0.0.1:{m.group(1)}/rtc/v1/whip/session/"
        ), (push.location, push.last_error)
        probe = _ffprobe(live.playback_url(stream))
        assert {"codec_name": "h264", "width": 640, "height": 360} in probe["streams"], probe

        # a second push to the same stream meanwhile is refused (409)
        assert _request("POST", url, b"v=0\r\n") == 409

        # DELETE of the Location ends the session: the stream is no longer published
        location = push.location
        push.stop()
        push.join(10)
        wait_for(lambda: not stream.publishing, 10, "DELETE ends the push")
        assert _request("DELETE", location) == 404  # gone already
        assert urlsplit(location).path.startswith("/rtc/v1/whip/session/")
        # the media server's log says what was refused, never with the stream's secret
        media_log = (station.data_dir / "logs" / "media.log").read_text(encoding="utf-8")
        assert "wrong secret" in media_log and m.group(3) not in media_log
    finally:
        if push is not None:
            push.stop()
        unsubscribe()
        if live.stream(ZOOM) is not None:
            run(runtime, live.stop_stream(ZOOM))


def test_whip_without_aiortc_is_refused_in_words(runtime: ThreadedRuntime, dock: RawDock) -> None:
    """The media server says at start-up whether it serves WHIP; url_type 4 is then refused
    with its reason (EN/ZH) and an event, and nothing is sent to the dock."""
    pytest.importorskip("av")
    station = runtime.runtime.station
    live = station.capability(Live)
    media = run(runtime, live.ensure_media())
    assert media is not None
    served, message = media.whip, media.whip_message
    seen: list[LogEntry] = []
    unsubscribe = station.bus.subscribe(LogEntry, seen.append)
    n = len(dock.sent("live_start_push"))
    try:
        media.whip, media.whip_message = False, "this build has no WebRTC stack (aiortc)"
        with pytest.raises(CommandRefused) as info:
            run(runtime, live.start_stream(ZOOM, url_type=4))
        assert "aiortc" in info.value.en and "WHIP" in info.value.en and info.value.zh
        wait_for(lambda: any("aiortc" in e.message for e in seen), 10, "refusal event")
        assert len(dock.sent("live_start_push")) == n
        assert live.stream(ZOOM) is None
    finally:
        media.whip, media.whip_message = served, message
        unsubscribe()
