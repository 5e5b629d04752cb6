"""The desktop's video window on the two new ways a picture arrives: a WHIP push (url_type 4)
from a literal-JSON dock pushing with aiortc, and Pilot's live share of an RC (the RTMP URL the
H5 page sets in liveshare), which the RC's and its aircraft's Live button list."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from gcs.runtime import ThreadedRuntime

av = pytest.importorskip("av")
pytestmark = pytest.mark.slow

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
RC_SN = "5YSZL260021UIS"
RC_AIRCRAFT = "1581F5BKD225DUIS"


def _show(qtbot: Any, bridge: Any, video_id: str) -> Any:
    from gcs.ui.video_window import VideoWindow

    win = VideoWindow(bridge, video_id)
    qtbot.addWidget(win)
    win.resize(640, 420)
    win.show()
    return win


def test_video_window_plays_a_whip_push(
    qtbot: Any, ui_runtime: ThreadedRuntime, peer_dock: Any
) -> None:
    pytest.importorskip("aiortc", reason="aiortc (the test extra) is not installed")
    from command_peers import now_ms, wait_for

    from gcs.sim.whip import WhipPush
    from gcs.station.live import Live
    from gcs.ui.bridge import StationBridge

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
    pushes: list[WhipPush] = []

    def script(d: Any, cmd: dict[str, Any]) -> None:
        d.reply(cmd, {"result": 0})
        data = cmd.get("data") or {}
        if cmd.get("method") == "live_start_push" and data.get("url_type") == 4:
            p = WhipPush(data["url"], 0, "zoom")
            pushes.append(p)
            p.start()

    peer_dock.script = script
    ui_runtime.submit(live.start_stream(VIDEO, url_type=4)).result(30)
    bridge = StationBridge(ui_runtime)
    win = _show(qtbot, bridge, VIDEO)
    try:
        qtbot.waitUntil(lambda: win.frames_shown >= 10, timeout=20000)
        assert win.state == "playing" and "640×360" in win.status.text()
        stream = live.stream(VIDEO)
        assert stream is not None and stream.url_type == 4 and stream.viewers == 1
        # WHIP pictures carry their arrival too: the measured latency is shown (issue 12)
        qtbot.waitUntil(lambda: win.latency_ms is not None, timeout=5000)
        assert win.latency_ms is not None and 0 <= win.latency_ms < 2000
    finally:
        win.close()
        bridge.close()
        for p in pushes:
            p.stop()
            p.join(10)


def test_pilot_share_is_listed_and_played_on_the_desktop(
    qtbot: Any, ui_runtime: ThreadedRuntime
) -> None:
    from command_peers import RawDock, wait_for
    from live_push import Pusher

    from gcs.station.live import Live
    from gcs.station.liveshare import LiveShare
    from gcs.ui.bridge import StationBridge

    station = ui_runtime.runtime.station
    s = station.settings.mqtt
    rc = RawDock(station.mqtt_port, s.device_username, s.device_password, sn=RC_SN)
    pusher: Pusher | None = None
    bridge = StationBridge(ui_runtime)
    win: Any = None
    try:
        rc.publish(  # an RC Plus (2-119-0) flying an M30 (0-67-0)
            "status",
            {
                "tid": str(uuid.uuid4()),
                "bid": str(uuid.uuid4()),
                "timestamp": 0,
                "method": "update_topo",
                "data": {
                    "domain": "2",
                    "type": 119,
                    "sub_type": 0,
                    "device_secret": "s",
                    "nonce": "n",
                    "thing_version": "1.1.2",
                    "sub_devices": [
                        {
                            "sn": RC_AIRCRAFT,
                            "domain": "0",
                            "type": 67,
                            "sub_type": 0,
                            "index": "A",
                            "device_secret": "s",
                            "nonce": "n",
                            "thing_version": "1.1.2",
                        }
                    ],
                },
            },
            prefix="sys",
        )
        wait_for(lambda: station.registry.view(RC_AIRCRAFT) is not None, what="RC online")
        live = station.capability(Live)
        stream = ui_runtime.submit(station.capability(LiveShare).issue(RC_SN)).result(30)
        vid = stream.video_id
        assert bridge.live_videos(RC_SN) == [vid]
        assert bridge.live_videos(RC_AIRCRAFT) == [vid]  # the aircraft's panel shows it too
        pusher = Pusher(stream.ingest_url, seconds=60)  # what Pilot does on "start share"
        pusher.start()
        wait_for(lambda: stream.publishing, 15, "the share arrives")
        win = _show(qtbot, bridge, vid)
        qtbot.waitUntil(lambda: win.frames_shown >= 10, timeout=20000)
        assert win.state == "playing"
        assert stream.viewers == 1
        # nobody watching: the station still never stops a share the pilot runs
        win.hide()
        qtbot.waitUntil(lambda: stream.viewers == 0, timeout=5000)
        live.idle_stop_s = 0.0
        assert ui_runtime.submit(live.reap()).result(30) == []
        assert live.stream(vid) is stream
    finally:
        if win is not None:
            win.close()
        bridge.close()
        if pusher is not None:
            pusher.stop.set()
            pusher.join(10)
        rc.close()
