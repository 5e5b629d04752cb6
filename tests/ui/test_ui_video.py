"""The live-video window against a literal-JSON dock that really pushes: the window asks the
station for the stream, decodes it off the GUI thread and shows the pictures; hiding it stops
decoding and tells the station nobody watches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gcs.runtime import ThreadedRuntime

av = pytest.importorskip("av")

CAPACITY = {
    "available_video_number": 1,
    "coexist_video_number_max": 1,
    "device_list": [
        {
            "sn": "1581F6Q8D23CT00A0001",
            "available_video_number": 1,
            "coexist_video_number_max": 1,
            "camera_list": [
                {
                    "camera_index": "39-0-7",
                    "available_video_number": 1,
                    "coexist_video_number_max": 1,
                    "video_list": [{"video_index": "normal-0", "video_type": "normal"}],
                }
            ],
        }
    ],
}
VIDEO = "1581F6Q8D23CT00A0001/39-0-7/normal-0"


@pytest.mark.slow
def test_video_window_shows_the_pushed_stream(
    qtbot: Any, ui_runtime: ThreadedRuntime, peer_dock: Any, tmp_path: Path
) -> None:
    from command_peers import now_ms, wait_for
    from live_push import Pusher

    from gcs.station.live import Live
    from gcs.ui.bridge import StationBridge
    from gcs.ui.video_window import VideoWindow

    station = ui_runtime.runtime.station
    live = station.capability(Live)
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
    wait_for(lambda: peer_dock.sn in live.gateways, what="capacity")
    pushers: list[Pusher] = []

    def script(d: Any, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        if cmd.get("method") == "live_start_push":
            p = Pusher(cmd["data"]["url"], seconds=30)
            pushers.append(p)
            p.start()

    peer_dock.script = script
    bridge = StationBridge(ui_runtime)
    assert bridge.live_videos("1581F6Q8D23CT00A0001") == [VIDEO]  # the panels' Live button
    assert bridge.live_videos(peer_dock.sn) == []
    win = VideoWindow(bridge, VIDEO)
    qtbot.addWidget(win)
    try:
        win.resize(640, 420)
        win.show()
        qtbot.waitUntil(lambda: win.frames_shown >= 10, timeout=20000)
        assert win.state == "playing"
        assert "640×360" in win.status.text() and "fps" in win.status.text()
        stream = live.stream(VIDEO)
        assert stream is not None and stream.viewers == 1
        shot = tmp_path / "video-window.png"
        assert win.grab().save(str(shot)) and shot.stat().st_size > 1000
        # hidden: decoding stops and the station knows nobody watches here
        win.hide()
        shown = win.frames_shown
        qtbot.waitUntil(lambda: stream.viewers == 0, timeout=5000)
        qtbot.wait(300)
        assert win.frames_shown == shown
    finally:
        win.close()
        bridge.close()
        for p in pushers:
            p.stop.set()
            p.join(10)
