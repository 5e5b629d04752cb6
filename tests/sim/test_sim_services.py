"""services / property/set answered by simulated gateways, as a cloud sees them on the wire."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sim_cloud import Cloud, Mosquitto

from gcs.sim import Fleet, FleetOptions, SimDock, SimGateway
from gcs.sim.codes import NOT_SUPPORTED

pytestmark = pytest.mark.mosquitto


@pytest.fixture
async def fleet(mosquitto: Mosquitto, cloud: Cloud) -> AsyncIterator[Fleet]:
    # Dock 1, Dock 2, Dock 3 and an RC; fast simulated time so jobs finish quickly.
    f = Fleet(
        FleetOptions(mosquitto.url, docks=3, pilots=1, binding_code="qwe", seed=11, speedup=20.0)
    )
    await f.start(timeout_s=15)
    yield f
    await f.stop()


def dock3(fleet: Fleet) -> SimDock:
    return next(d for d in fleet.docks if d.model_key == "3-3-0")


def osd(cloud: Cloud, sn: str, key: str) -> list[Any]:
    return [s.data[key] for s in cloud.on(f"thing/product/{sn}/osd") if key in s.data]


async def test_unknown_method_gets_not_supported(fleet: Fleet, cloud: Cloud) -> None:
    for gw in fleet.devices:
        tid = cloud.service(gw.sn, "frobnicate_the_dock", '{"x": 1}')
        reply = await cloud.reply_to(gw.sn, tid)
        assert reply.payload["bid"] == tid + "-b"
        assert reply.method == "frobnicate_the_dock"
        assert reply.data == {"result": NOT_SUPPORTED}
        assert NOT_SUPPORTED != 0


async def test_remote_debug_switches_and_progress_events(fleet: Fleet, cloud: Cloud) -> None:
    dock = dock3(fleet)
    gw = dock.sn
    # Outside remote-debug mode the dock refuses maintenance commands.
    refused = await cloud.reply_to(gw, cloud.service(gw, "cover_open", "null"))
    assert refused.data["result"] != 0
    reply = await cloud.reply_to(gw, cloud.service(gw, "debug_mode_open", '""'))
    assert reply.data == {"result": 0, "output": {"status": "ok"}}
    await cloud.wait(lambda: 2 in osd(cloud, gw, "mode_code"), what="dock mode_code 2")

    reply = await cloud.reply_to(gw, cloud.service(gw, "supplement_light_open"))
    assert reply.data["result"] == 0
    await cloud.wait(lambda: 1 in osd(cloud, gw, "supplement_light_state"), what="light on")

    tid = cloud.service(gw, "cover_open")
    reply = await cloud.reply_to(gw, tid)
    assert reply.data["result"] == 0

    def cover_events() -> list[dict[str, Any]]:
        return [
            s.data
            for s in cloud.on(f"thing/product/{gw}/events", "cover_open")
            if s.payload["bid"] == tid + "-b"
        ]

    events = await cloud.wait(
        lambda: (e := cover_events()) and e[-1]["output"]["status"] == "ok" and e,
        what="cover_open progress ending ok",
    )
    statuses = [e["output"]["status"] for e in events]
    assert statuses[0] == "in_progress" and statuses[-1] == "ok"
    percents = [e["output"]["progress"]["percent"] for e in events]
    assert percents == sorted(percents) and percents[-1] == 100
    assert events[-1]["output"]["progress"]["step_key"] == "open_cover"
    await cloud.wait(lambda: 1 in osd(cloud, gw, "cover_state"), what="cover open in OSD")

    tid = cloud.service(gw, "alarm_state_switch", '{"action": 1}')
    assert (await cloud.reply_to(gw, tid)).data["result"] == 0
    await cloud.wait(lambda: 1 in osd(cloud, gw, "alarm_state"), what="alarm on in OSD")

    reply = await cloud.reply_to(gw, cloud.service(gw, "debug_mode_close"))
    assert reply.data["result"] == 0
    await cloud.wait(lambda: osd(cloud, gw, "mode_code")[-1] == 0, what="dock back to idle")


async def test_putter_only_on_dock1(fleet: Fleet, cloud: Cloud) -> None:
    for dock in fleet.docks:
        await cloud.reply_to(dock.sn, cloud.service(dock.sn, "debug_mode_open"))
        reply = await cloud.reply_to(dock.sn, cloud.service(dock.sn, "putter_open"))
        if dock.model_key == "3-1-0":
            assert reply.data["result"] == 0
        else:
            assert reply.data == {"result": NOT_SUPPORTED}


async def test_property_set_reply_and_effect(fleet: Fleet, cloud: Cloud) -> None:
    dock = dock3(fleet)
    gw = dock.sn
    cloud.send(
        f"thing/product/{gw}/property/set",
        '{"tid": "p-1", "bid": "p-1b", "timestamp": 1, "data": {"height_limit": 250}}',
    )
    topic = f"thing/product/{gw}/property/set_reply"
    replies = await cloud.wait(lambda: cloud.on(topic), what="property/set_reply")
    assert replies[0].payload["tid"] == "p-1" and replies[0].payload["bid"] == "p-1b"
    assert replies[0].data == {"height_limit": {"result": 0}}
    await cloud.wait(
        lambda: 250 in osd(cloud, dock.aircraft_sn, "height_limit"), what="new height limit"
    )
    cloud.send(topic[: -len("_reply")], '{"tid": "p-2", "bid": "p-2b", "timestamp": 1, '
               '"data": {"height_limit": 5}}')  # fmt: skip
    bad = await cloud.wait(lambda: [s for s in cloud.on(topic) if s.payload["tid"] == "p-2"])
    assert bad[0].data == {"height_limit": {"result": 1}}


async def test_live_streaming_updates_live_status(fleet: Fleet, cloud: Cloud) -> None:
    dock = dock3(fleet)
    gw, ac = dock.sn, dock.aircraft_sn
    video_id = f"{ac}/98-0-0/normal-0"
    start = (
        f'{{"url_type": 1, "url": "rtmp://127.0.0.1/live/x", "video_id": "{video_id}", '
        f'"video_quality": 0}}'
    )
    assert (await cloud.reply_to(gw, cloud.service(gw, "live_start_push", start))).data == {
        "result": 0
    }

    def live_status() -> list[Any]:
        return [s.data["live_status"] for s in cloud.on(f"thing/product/{gw}/state")
                if "live_status" in s.data]  # fmt: skip

    states = await cloud.wait(lambda: [s for s in live_status() if s], what="live_status")
    assert states[-1] == [
        {"video_id": video_id, "video_type": "normal", "video_quality": 0, "status": 1,
         "error_status": 0}
    ]  # fmt: skip
    again = await cloud.reply_to(gw, cloud.service(gw, "live_start_push", start))
    assert again.data == {"result": 513003}
    lens = f'{{"video_id": "{video_id}", "video_type": "zoom"}}'
    assert (await cloud.reply_to(gw, cloud.service(gw, "live_lens_change", lens))).data == {
        "result": 0
    }
    stop = f'{{"video_id": "{video_id}"}}'
    assert (await cloud.reply_to(gw, cloud.service(gw, "live_stop_push", stop))).data == {
        "result": 0
    }
    await cloud.wait(lambda: live_status()[-1] == [], what="stream gone from live_status")
    not_live = await cloud.reply_to(gw, cloud.service(gw, "live_stop_push", stop))
    assert not_live.data == {"result": 513011}


async def test_flight_task_flies_and_reports_progress(mosquitto: Mosquitto, cloud: Cloud) -> None:
    fleet = Fleet(FleetOptions(mosquitto.url, docks=3, binding_code="qwe", seed=12, speedup=100.0))
    await fleet.start(timeout_s=15)
    try:
        await fly_a_task(fleet, cloud)
    finally:
        await fleet.stop()


async def fly_a_task(fleet: Fleet, cloud: Cloud) -> None:
    dock = dock3(fleet)
    gw, ac = dock.sn, dock.aircraft_sn
    dock.aircraft.battery = 90.0
    prepare = (
        '{"flight_id": "f-1", "execute_time": 0, "task_type": 0, "wayline_type": 0, '
        '"file": {"url": "http://127.0.0.1/w.kmz", "fingerprint": "abc"}, "rth_altitude": 100, '
        '"rth_mode": 1, "out_of_control_action": 0, "exit_wayline_when_rc_lost": 0}'
    )
    assert (await cloud.reply_to(gw, cloud.service(gw, "flighttask_prepare", prepare))).data == {
        "result": 0
    }
    cloud.send(
        f"thing/product/{gw}/services",
        '{"tid": "x-1", "bid": "f-1", "timestamp": 1, "method": "flighttask_execute", '
        '"data": {"flight_id": "f-1"}}',
    )
    assert (await cloud.reply_to(gw, "x-1")).data == {"result": 0}

    def progress() -> list[dict[str, Any]]:
        return [s.data for s in cloud.on(f"thing/product/{gw}/events", "flighttask_progress")
                if s.payload["bid"] == "f-1"]  # fmt: skip

    done = await cloud.wait(
        lambda: [p for p in progress() if p["output"]["status"] == "ok"],
        within=20,
        what="flight task ok",
    )
    assert done[0]["result"] == 0
    assert done[0]["output"]["progress"]["percent"] == 100
    assert done[0]["output"]["ext"]["flight_id"] == "f-1"
    statuses = {p["output"]["status"] for p in progress()}
    assert statuses == {"in_progress", "ok"}
    modes = osd(cloud, ac, "mode_code")
    assert {4, 5, 10} <= set(modes)  # take-off, wayline, landing
    assert 4 in osd(cloud, gw, "mode_code")  # dock working
    assert max(osd(cloud, ac, "elevation")) >= 55
    await cloud.wait(lambda: osd(cloud, gw, "mode_code")[-1] == 0, what="dock idle again")
    assert osd(cloud, gw, "drone_in_dock")[-1] == 1


async def test_pilot_aircraft_circles_with_consistent_heading(fleet: Fleet, cloud: Cloud) -> None:
    [rc] = fleet.pilots
    topic = f"thing/product/{rc.aircraft_sn}/osd"

    def orbiting() -> list[dict[str, Any]]:
        return [s.data for s in cloud.on(topic) if s.data["mode_code"] == 3
                and s.data["horizontal_speed"] == 6.0]  # fmt: skip

    points = await cloud.wait(lambda: len(orbiting()) >= 4 and orbiting(), within=20)
    a, b = points[-2], points[-1]
    north = (b["latitude"] - a["latitude"]) * 111_320
    east = (b["longitude"] - a["longitude"]) * 111_320 * math.cos(math.radians(a["latitude"]))
    course = math.degrees(math.atan2(east, north))
    # Between two reports the aircraft turns; the chord's course lies between both headings.
    h1, h2 = a["attitude_head"], b["attitude_head"]
    mid = math.degrees(
        math.atan2(
            math.sin(math.radians(h1)) + math.sin(math.radians(h2)),
            math.cos(math.radians(h1)) + math.cos(math.radians(h2)),
        )
    )
    assert abs((course - mid + 180) % 360 - 180) < 5
    assert b["elevation"] == pytest.approx(60, abs=1)
    assert b["attitude_roll"] > 0  # banked into a clockwise turn
    assert isinstance(b["wind_speed"], int)
    assert b["battery"]["capacity_percent"] <= a["battery"]["capacity_percent"]


async def test_return_home_answered(fleet: Fleet, cloud: Cloud) -> None:
    gateways: list[SimGateway] = list(fleet.devices)
    for gw in gateways:
        reply = await cloud.reply_to(gw.sn, cloud.service(gw.sn, "return_home", '""'))
        assert reply.data == {"result": 0}


async def test_conditional_task_announces_ready(fleet: Fleet, cloud: Cloud) -> None:
    dock = dock3(fleet)
    gw = dock.sn
    dock.aircraft.battery = 51.6
    prepare = (
        '{"flight_id": "f-cond", "execute_time": 0, "task_type": 2, '
        '"file": {"url": "http://127.0.0.1/w.kmz", "fingerprint": "abc"}, '
        '"ready_conditions": {"battery_capacity": 52, "begin_time": 0, "end_time": 0}}'
    )
    reply = await cloud.reply_to(gw, cloud.service(gw, "flighttask_prepare", prepare))
    assert reply.data == {"result": 0}
    ready = await cloud.wait(
        lambda: cloud.on(f"thing/product/{gw}/events", "flighttask_ready"),
        what="flighttask_ready once the battery reached 52 %",
    )
    assert ready[0].data == {"flight_ids": ["f-cond"]}
    assert ready[0].payload["need_reply"] == 1
    assert dock.aircraft.battery >= 52


async def test_pause_resume_and_user_return_home(mosquitto: Mosquitto, cloud: Cloud) -> None:
    fleet = Fleet(FleetOptions(mosquitto.url, docks=3, binding_code="qwe", seed=13, speedup=100.0))
    await fleet.start(timeout_s=15)
    try:
        dock = dock3(fleet)
        gw, ac = dock.sn, dock.aircraft_sn
        dock.aircraft.battery = 90.0
        prepare = '{"flight_id": "f-2", "task_type": 0, "file": {"url": "u", "fingerprint": "f"}}'
        await cloud.reply_to(gw, cloud.service(gw, "flighttask_prepare", prepare))
        await cloud.reply_to(gw, cloud.service(gw, "flighttask_execute", '{"flight_id": "f-2"}'))
        await cloud.wait(lambda: 5 in osd(cloud, ac, "mode_code"), what="on the wayline")

        events = f"thing/product/{gw}/events"

        def statuses() -> list[tuple[int, str]]:
            return [(s.data["result"], s.data["output"]["status"])
                    for s in cloud.on(events, "flighttask_progress")]  # fmt: skip

        assert (await cloud.reply_to(gw, cloud.service(gw, "flighttask_pause"))).data == {
            "result": 0
        }
        await cloud.wait(lambda: (0, "paused") in statuses(), what="paused")
        assert (await cloud.reply_to(gw, cloud.service(gw, "flighttask_recovery"))).data == {
            "result": 0
        }
        await cloud.wait(lambda: statuses()[-1] == (0, "in_progress"), what="resumed")
        assert (await cloud.reply_to(gw, cloud.service(gw, "return_home", '""'))).data == {
            "result": 0
        }
        await cloud.wait(lambda: (322283, "failed") in statuses(), within=20, what="user RTH")
        final = next(s for s in cloud.on(events, "flighttask_progress")
                     if s.data["output"]["status"] == "failed")  # fmt: skip
        assert final.payload["need_reply"] == 1
        assert final.data["output"]["ext"]["break_point"]["break_reason"] == 1283
        assert 9 in osd(cloud, ac, "mode_code")  # came back in RTH mode
        no_task = await cloud.reply_to(gw, cloud.service(gw, "flighttask_recovery"))
        assert no_task.data["result"] != 0
    finally:
        await fleet.stop()
