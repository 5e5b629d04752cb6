"""The live-video window's tools and the video wall (issue 12) against a literal-JSON dock that
really pushes: recording to MP4 and snapshots land in the media library with their metadata,
the telemetry overlay follows the OSD, the measured latency is shown, two streams play in the
wall's grid, a window moves between the wall and its own window without losing its stream,
and a minimised or hidden window stops decoding and lets the stream go."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from command_peers import AIRCRAFT, RawDock, now_ms, wait_for

from gcs.runtime import ThreadedRuntime

DOCK_SN = "7CTDM3D00BVY2N"
AIR_CAM = f"{AIRCRAFT}/39-0-7/normal-0"
DOCK_CAM = f"{DOCK_SN}/165-0-7/normal-0"


def _camera(sn: str, index: str) -> dict[str, Any]:
    return {
        "sn": sn,
        "available_video_number": 1,
        "coexist_video_number_max": 1,
        "camera_list": [
            {
                "camera_index": index,
                "available_video_number": 1,
                "coexist_video_number_max": 1,
                "video_list": [{"video_index": "normal-0", "video_type": "normal"}],
            }
        ],
    }


CAPACITY = {
    "available_video_number": 2,
    "coexist_video_number_max": 2,
    "device_list": [_camera(DOCK_SN, "165-0-7"), _camera(AIRCRAFT, "39-0-7")],
}


def aircraft_osd(dock: RawDock, **data: Any) -> None:
    body = {"tid": "t", "bid": "b", "timestamp": now_ms(), "gateway": dock.sn, "data": data}
    dock.c.publish(f"thing/product/{AIRCRAFT}/osd", json.dumps(body), qos=1)


def shots_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("GCS_SCREENSHOTS") or tmp_path)


@pytest.fixture
def live_dock(ui_runtime: ThreadedRuntime, peer_dock: RawDock) -> Iterator[RawDock]:
    """The peer dock with two cameras (its own, its aircraft's) that pushes when asked."""
    from gcs.station.live import Live

    station = ui_runtime.runtime.station
    wait_for(lambda: (v := station.registry.view(peer_dock.sn)) is not None and v.online)
    peer_dock.publish(
        "state",
        {
            "tid": "t",
            "bid": "b",
            "timestamp": now_ms(),
            "gateway": peer_dock.sn,
            "data": {"live_capacity": CAPACITY},
        },
    )
    live = station.capability(Live)
    wait_for(lambda: peer_dock.sn in live.gateways, what="capacity")
    pushers: list[Any] = []

    def script(d: RawDock, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        if cmd.get("method") == "live_start_push":
            from live_push import Pusher

            p = Pusher(cmd["data"]["url"], seconds=60)
            pushers.append(p)
            p.start()

    peer_dock.script = script
    yield peer_dock
    for p in pushers:
        p.stop.set()
    for p in pushers:
        p.join(10)


def test_overlay_follows_the_osd_and_can_be_hidden(
    qtbot: Any, ui_runtime: ThreadedRuntime, peer_dock: RawDock
) -> None:
    """No video needed: the overlay is the camera's device's telemetry."""
    from gcs.ui.bridge import StationBridge
    from gcs.ui.video_window import VideoWindow

    station = ui_runtime.runtime.station
    wait_for(lambda: (v := station.registry.view(AIRCRAFT)) is not None and v.online)
    bridge = StationBridge(ui_runtime)
    air = VideoWindow(bridge, AIR_CAM)
    dock = VideoWindow(bridge, DOCK_CAM)
    for w in (air, dock):
        qtbot.addWidget(w)
    try:
        aircraft_osd(
            peer_dock,
            elevation=80.4,
            horizontal_speed=5.24,
            attitude_head=-35,
            battery={"capacity_percent": 76},
        )
        qtbot.waitUntil(lambda: "80.4 m" in air.overlay.text(), timeout=5000)
        text = air.overlay.text()
        assert "5.2 m/s" in text and "76 %" in text and "325°" in text, text
        aircraft_osd(peer_dock, elevation=120.0, horizontal_speed=0.0)
        qtbot.waitUntil(lambda: "120.0 m" in air.overlay.text(), timeout=5000)
        assert "0.0 m/s" in air.overlay.text() and "76 %" in air.overlay.text()
        # the dock's camera shows the dock's state, not an aircraft's
        peer_dock.osd(
            mode_code=0,
            cover_state=0,
            drone_in_dock=1,
            drone_charge_state={"state": 1, "capacity_percent": 64},
            environment_temperature=21.5,
            wind_speed=3.2,
        )
        qtbot.waitUntil(lambda: "64 %" in dock.overlay.text(), timeout=5000)
        text = dock.overlay.text()
        assert "Cover" in text and "21.5 °C" in text and "3.2 m/s" in text, text
        assert "Height" not in text
        # toggled off and on
        air.show()
        assert air.overlay.isVisibleTo(air)
        air.show_overlay.setChecked(False)
        assert not air.overlay.isVisibleTo(air)
        air.show_overlay.setChecked(True)
        assert air.overlay.isVisibleTo(air)
    finally:
        air.close()
        dock.close()
        bridge.close()


def test_without_the_video_engine_the_tools_say_why(
    qtbot: Any, ui_runtime: ThreadedRuntime, monkeypatch: Any
) -> None:
    import gcs.ui.video_window as video_window
    from gcs.ui.bridge import StationBridge

    monkeypatch.setattr(video_window, "have_engine", lambda: False)
    bridge = StationBridge(ui_runtime)
    win = video_window.VideoWindow(bridge, AIR_CAM)
    qtbot.addWidget(win)
    try:
        assert not win.record.isEnabled() and not win.snap.isEnabled()
        assert "video engine" in win.record.toolTip() and "video engine" in win.status.text()
    finally:
        win.close()
        bridge.close()


@pytest.mark.slow
def test_snapshot_and_recording_from_the_window_into_the_media_library(
    qtbot: Any, ui_runtime: ThreadedRuntime, live_dock: RawDock, tmp_path: Path
) -> None:
    pytest.importorskip("av")
    if shutil.which("ffprobe") is None:
        pytest.skip("Debian's ffprobe (apt package ffmpeg) is not installed")
    from PySide6.QtCore import Qt

    from gcs.station.live import Live
    from gcs.station.live_record import LiveRecording
    from gcs.station.media import Media
    from gcs.ui.bridge import StationBridge
    from gcs.ui.video_window import VideoWindow

    station = ui_runtime.runtime.station
    aircraft_osd(
        live_dock,
        latitude=22.5431,
        longitude=113.9593,
        height=132.5,
        elevation=80.4,
        horizontal_speed=5.24,
        attitude_head=-35,
        battery={"capacity_percent": 76},
        **{"39-0-7": {"payload_index": "39-0-7", "gimbal_yaw": 12.5, "gimbal_pitch": -30}},
    )
    wait_for(lambda: station.telemetry.current(AIRCRAFT).get("height") == 132.5, what="OSD")
    bridge = StationBridge(ui_runtime)
    win = VideoWindow(bridge, AIR_CAM)
    qtbot.addWidget(win)
    try:
        win.resize(720, 520)
        win.show()
        qtbot.waitUntil(lambda: win.frames_shown >= 10, timeout=20000)
        # the latency the station measures: arrival at the media server → shown
        qtbot.waitUntil(lambda: win.latency_ms is not None, timeout=5000)
        assert win.latency_ms is not None and 0 <= win.latency_ms < 2000
        assert "latency (media server → screen)" in win.latency.text()
        qtbot.waitUntil(lambda: "80.4 m" in win.overlay.text(), timeout=5000)
        qtbot.wait(300)  # a few more pictures under the overlay for the screenshot
        shot = shots_dir(tmp_path) / "video_window_overlay.png"
        assert win.grab().save(str(shot))

        # snapshot: the picture shown, as a JPEG with device, camera, time and position
        qtbot.mouseClick(win.snap, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: win.last_saved is not None, timeout=10000)
        photo = win.last_saved
        assert photo.kind == "photo" and photo.source == "live" and photo.name.endswith(".jpg")
        assert photo.device_sn == AIRCRAFT and photo.path == AIR_CAM
        assert photo.lat == pytest.approx(22.5431) and photo.lng == pytest.approx(113.9593)
        assert photo.absolute_altitude == pytest.approx(132.5)
        assert photo.relative_altitude == pytest.approx(80.4)
        assert photo.gimbal_yaw == pytest.approx(12.5)  # this camera's gimbal
        assert photo.create_time is not None and abs(photo.create_time - now_ms()) < 30_000
        media = station.capability(Media)
        ui_runtime.submit(media.wait_idle()).result(30)
        photo = ui_runtime.submit(media.get(photo.id)).result(10)
        assert (photo.width, photo.height) == (640, 360) and photo.thumbnail_key

        # recording: the button starts it, shows it running, and stops it into the library
        win.last_saved = None
        qtbot.mouseClick(win.record, Qt.MouseButton.LeftButton)
        recordings = station.capability(LiveRecording)
        qtbot.waitUntil(lambda: "Stop recording" in win.record.text(), timeout=15000)
        rec = recordings.recording(AIR_CAM)
        assert rec is not None
        qtbot.waitUntil(lambda: rec.recorder.frames >= 60, timeout=15000)
        qtbot.mouseClick(win.record, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: win.last_saved is not None, timeout=15000)
        video = win.last_saved
        frames = rec.recorder.frames
        assert video.kind == "video" and video.device_sn == AIRCRAFT and video.path == AIR_CAM
        assert win.record.text() == "Record" and not win.record.isChecked()
        assert station.storage is not None
        out = subprocess.run(
            [
                "ffprobe", "-v", "error", "-show_entries",
                "stream=codec_name,width,height:format=duration", "-of", "json",
                station.storage.presign_get(video.object_key, 300),
            ],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        probe = json.loads(out.stdout)
        assert probe["streams"][0]["codec_name"] == "h264"
        assert (probe["streams"][0]["width"], probe["streams"][0]["height"]) == (640, 360)
        assert float(probe["format"]["duration"]) == pytest.approx(frames / 30, abs=0.05)
        stream = station.capability(Live).stream(AIR_CAM)
        assert stream is not None and stream.viewers == 1  # the window only, again
    finally:
        win.close()
        bridge.close()


@pytest.mark.slow
def test_wall_plays_two_streams_and_unseen_windows_cost_nothing(
    qtbot: Any, ui_runtime: ThreadedRuntime, live_dock: RawDock, tmp_path: Path
) -> None:
    pytest.importorskip("av")
    from gcs.station.live import Live
    from gcs.ui.bridge import StationBridge
    from gcs.ui.video_wall import VideoWall
    from gcs.ui.video_window import VideoWindow

    live = ui_runtime.runtime.station.capability(Live)
    aircraft_osd(live_dock, elevation=42.0, horizontal_speed=3.0, attitude_head=90)
    bridge = StationBridge(ui_runtime)
    wall = VideoWall.of(bridge)
    assert VideoWall.of(bridge) is wall
    loose = VideoWindow(bridge, AIR_CAM)
    qtbot.addWidget(loose)
    try:
        wall.resize(1100, 720)
        wall.show()
        assert set(wall.cameras()) == {AIR_CAM, DOCK_CAM}
        dock_win = wall.open(DOCK_CAM)
        assert dock_win is not None and wall.cell_of(dock_win) == 0
        assert dock_win.access is loose.access  # one relay of recording events per bridge
        # a window of its own, docked into the wall with its button
        loose.show()
        qtbot.waitUntil(lambda: loose.frames_shown >= 5, timeout=20000)
        loose.wall_button.click()
        assert wall.cell_of(loose) == 1 and not loose.isWindow()
        assert loose.wall_button.text() == "Detach"
        assert loose.caption.isVisibleTo(wall) and AIR_CAM in loose.caption.text()
        for w in (dock_win, loose):
            n = w.frames_shown
            qtbot.waitUntil(lambda w=w, n=n: w.frames_shown >= n + 10, timeout=20000)  # type: ignore[misc]
            assert "fps" in w.status.text() and "kbit/s" in w.status.text()
            assert w.lens.isVisibleTo(wall) and w.quality.isVisibleTo(wall)
        qtbot.wait(300)
        shot = shots_dir(tmp_path) / "video_wall_two_streams.png"
        assert wall.grab().save(str(shot))
        air = live.stream(AIR_CAM)
        dock = live.stream(DOCK_CAM)
        assert air is not None and dock is not None
        assert air.viewers == 1 and dock.viewers == 1

        # minimised: nothing decodes, the station's watch and the media server's viewer go
        decoders = [w.decoder for w in (dock_win, loose)]
        wall.showMinimized()
        qtbot.waitUntil(lambda: all(w.decoder is None for w in (dock_win, loose)), timeout=3000)
        for d in decoders:
            assert d is not None
            d.join(10)
            assert not d.is_alive()
        qtbot.waitUntil(lambda: air.viewers == 0 and dock.viewers == 0, timeout=5000)
        qtbot.waitUntil(lambda: air.remote_viewers == 0 and dock.remote_viewers == 0, timeout=10000)
        shown = (dock_win.frames_shown, loose.frames_shown)
        qtbot.wait(500)
        assert (dock_win.frames_shown, loose.frames_shown) == shown
        # restored: both play again
        wall.showNormal()
        for w in (dock_win, loose):
            n = w.frames_shown
            qtbot.waitUntil(lambda w=w, n=n: w.frames_shown >= n + 5, timeout=20000)  # type: ignore[misc]

        # detached back into a window of its own: it keeps playing, the cell is free again
        wall.detach(loose)
        assert loose.isWindow() and wall.cell_of(loose) is None and loose.isVisible()
        n = loose.frames_shown
        qtbot.waitUntil(lambda: loose.frames_shown >= n + 5, timeout=20000)
        assert loose.wall_button.text() == "To video wall"
        assert not loose.caption.isVisibleTo(loose)  # the title bar says it
        # a hidden window costs nothing either, and the station stops the stream nobody sees
        live.idle_stop_s = 0.3
        loose.hide()
        qtbot.waitUntil(lambda: air.viewers == 0 and loose.decoder is None, timeout=5000)
        # A reaper pass run now rather than on its period (the station's own pass may come
        # first: either way the stream is gone).
        qtbot.waitUntil(
            lambda: ui_runtime.submit(live.reap()).result(10) is not None
            and live.stream(AIR_CAM) is None,
            timeout=10000,
        )
        assert live.stream(AIR_CAM) is None
        assert live_dock.sent("live_stop_push")[-1]["data"] == {"video_id": AIR_CAM}
        assert live.stream(DOCK_CAM) is not None  # the wall's other cell is still watched
    finally:
        loose.close()
        wall.close()
        bridge.close()


@pytest.mark.slow
def test_the_live_button_brings_up_the_wall_of_a_docked_window(
    qtbot: Any, ui_runtime: ThreadedRuntime, live_dock: RawDock
) -> None:
    pytest.importorskip("av")
    from gcs.ui.bridge import Selection, StationBridge
    from gcs.ui.dock_panel import DockPanel
    from gcs.ui.video_wall import VideoWall

    bridge = StationBridge(ui_runtime)
    selection = Selection()
    panel = DockPanel(bridge, selection)
    qtbot.addWidget(panel)
    wall = VideoWall.of(bridge)
    try:
        qtbot.waitUntil(lambda: bridge.device(live_dock.sn) is not None, timeout=5000)
        selection.select(live_dock.sn)
        panel.show()
        qtbot.waitUntil(lambda: panel.live_button.isVisible(), timeout=5000)
        panel.open_live()
        [win] = panel.video_windows.values()
        assert win.isWindow() and win.isVisible() and win.video_id == DOCK_CAM
        win.wall_button.click()
        assert wall.cell_of(win) == 0 and wall.isVisible()
        wall.hide()
        assert not win.isVisible()
        panel.open_live()  # the same camera again: its window is in the wall, so the wall
        assert wall.isVisible() and win.isVisible() and list(panel.video_windows.values()) == [win]
        qtbot.waitUntil(lambda: win.decoder is not None, timeout=10000)
    finally:
        wall.close()
        panel.close()
        bridge.close()
