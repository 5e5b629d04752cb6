"""With fetch_waylines, a dock downloads the prepared KMZ and checks its MD5 before answering."""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from sim_cloud import Cloud, Mosquitto

from gcs.sim import Fleet, FleetOptions, SimDock
from gcs.wpml import PlanWaypoint, WaypointPlan, write_kmz

pytestmark = pytest.mark.mosquitto

KMZ = write_kmz(
    WaypointPlan(
        waypoints=(PlanWaypoint(22.0, 113.0), PlanWaypoint(22.001, 113.0)),
        drone_enum_value=91,
        payload_enum_value=None,
    )
)
JUNK = b"PK\x03\x04 not really a kmz, but bytes with an md5" * 100
ROUTE: dict[str, bytes] = {}


@pytest.fixture
async def file_server() -> AsyncIterator[str]:
    async def kmz(request: web.Request) -> web.Response:
        return web.Response(body=KMZ, content_type="application/vnd.google-earth.kmz")

    async def junk(request: web.Request) -> web.Response:
        return web.Response(body=JUNK)

    async def route(request: web.Request) -> web.Response:
        return web.Response(body=ROUTE["kmz"])

    app = web.Application()
    app.router.add_get("/waylines/w.kmz", kmz)
    app.router.add_get("/waylines/junk.kmz", junk)
    app.router.add_get("/waylines/route.kmz", route)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("path", "md5", "result"),
    [
        ("/waylines/w.kmz", hashlib.md5(KMZ).hexdigest(), 0),
        ("/waylines/w.kmz", hashlib.md5(KMZ).hexdigest().upper(), 0),
        ("/waylines/w.kmz", "0" * 32, 314005),
        ("/waylines/missing.kmz", hashlib.md5(KMZ).hexdigest(), 314013),
        ("/waylines/w.kmz", "", 314002),
        ("/waylines/junk.kmz", hashlib.md5(JUNK).hexdigest(), 314003),
    ],
)
async def test_prepare_downloads_and_checks(
    mosquitto: Mosquitto, cloud: Cloud, file_server: str, path: str, md5: str, result: int
) -> None:
    fleet = Fleet(
        FleetOptions(mosquitto.url, docks=1, binding_code="qwe", seed=61, fetch_waylines=True)
    )
    await fleet.start(timeout_s=10)
    try:
        [dock] = fleet.docks
        assert isinstance(dock, SimDock)
        data = (
            f'{{"flight_id": "fw-1", "execute_time": 0, "task_type": 0, '
            f'"file": {{"url": "{file_server}{path}", "fingerprint": "{md5}"}}}}'
        )
        reply = await cloud.reply_to(dock.sn, cloud.service(dock.sn, "flighttask_prepare", data))
        assert reply.data == {"result": result}
        assert ("fw-1" in dock.prepared) is (result == 0)
        if result == 0:
            assert dock.waylines["fw-1"] == KMZ
    finally:
        await fleet.stop()


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dn = math.radians(a[0] - b[0]) * 6_371_000
    de = math.radians(a[1] - b[1]) * 6_371_000 * math.cos(math.radians(a[0]))
    return math.hypot(dn, de)


@pytest.mark.parametrize("simulate", [False, True])
async def test_dock_flies_the_waypoints_of_the_kmz(
    mosquitto: Mosquitto, cloud: Cloud, file_server: str, simulate: bool
) -> None:
    fleet = Fleet(
        FleetOptions(
            mosquitto.url, docks=1, binding_code="qwe", seed=62, fetch_waylines=True, speedup=100
        )
    )
    await fleet.start(timeout_s=10)
    try:
        [dock] = fleet.docks
        dock.aircraft.battery = 90.0
        home = (dock.aircraft.home_lat, dock.aircraft.home_lon)
        # Near the dock, or (simulated mission) 300 km away where the route really is.
        base = (home[0] + 3.0, home[1]) if simulate else home
        points = [
            (base[0] + 0.0005, base[1]),
            (base[0] + 0.0005, base[1] + 0.0008),
            (base[0] + 0.0010, base[1] + 0.0008),
        ]
        ROUTE["kmz"] = write_kmz(
            WaypointPlan(
                waypoints=tuple(PlanWaypoint(lat, lon, height=40.0) for lat, lon in points),
                drone_enum_value=91,
                payload_enum_value=None,
                auto_flight_speed=12.0,
            )
        )
        md5 = hashlib.md5(ROUTE["kmz"]).hexdigest()
        sim = (
            f', "simulate_mission": {{"is_enable": 1, "latitude": {base[0]}, '
            f'"longitude": {base[1]}}}'
            if simulate
            else ""
        )
        data = (
            f'{{"flight_id": "route-1", "execute_time": 0, "task_type": 0, '
            f'"file": {{"url": "{file_server}/waylines/route.kmz", "fingerprint": "{md5}"}}{sim}}}'
        )
        reply = await cloud.reply_to(dock.sn, cloud.service(dock.sn, "flighttask_prepare", data))
        assert reply.data == {"result": 0}
        tid = cloud.service(dock.sn, "flighttask_execute", '{"flight_id": "route-1"}')
        assert (await cloud.reply_to(dock.sn, tid)).data == {"result": 0}
        topic = f"thing/product/{dock.sn}/events"

        def progress() -> list[dict[str, Any]]:
            return [s.data["output"] for s in cloud.on(topic, "flighttask_progress")]

        await cloud.wait(
            lambda: any(p["status"] == "ok" for p in progress()), within=60, what="task ok"
        )
        outputs = progress()
        assert outputs[-1]["status"] == "ok" and outputs[-1]["progress"]["percent"] == 100
        states = {p["ext"]["wayline_mission_state"] for p in outputs}
        assert {5, 6}.issubset(states)
        assert {p["ext"]["current_waypoint_index"] for p in outputs} >= {0, 1, 2}
        osd = [
            (s.data["latitude"], s.data["longitude"])
            for s in cloud.on(f"thing/product/{dock.aircraft_sn}/osd")
            if isinstance(s.data, dict) and s.data.get("latitude")
        ]
        for point in points:
            assert min(_metres(point, p) for p in osd) < 15, point
        assert dock.mission is None and dock.dock_props["drone_in_dock"] == 1
        assert (dock.aircraft.home_lat, dock.aircraft.home_lon) == home
    finally:
        await fleet.stop()


async def test_return_home_cancel_hovers_until_sent_home_again(
    mosquitto: Mosquitto, cloud: Cloud, file_server: str
) -> None:
    fleet = Fleet(
        FleetOptions(
            mosquitto.url, docks=1, binding_code="qwe", seed=63, fetch_waylines=True, speedup=100
        )
    )
    await fleet.start(timeout_s=10)
    try:
        [dock] = fleet.docks
        dock.aircraft.battery = 90.0
        home = (dock.aircraft.home_lat, dock.aircraft.home_lon)
        far = tuple(PlanWaypoint(home[0] + 0.003 * i, home[1], height=50.0) for i in range(1, 6))
        ROUTE["kmz"] = write_kmz(WaypointPlan(far, drone_enum_value=91, payload_enum_value=None))
        md5 = hashlib.md5(ROUTE["kmz"]).hexdigest()
        data = (
            f'{{"flight_id": "rth-1", "execute_time": 0, "task_type": 0, '
            f'"file": {{"url": "{file_server}/waylines/route.kmz", "fingerprint": "{md5}"}}}}'
        )
        assert (
            await cloud.reply_to(dock.sn, cloud.service(dock.sn, "flighttask_prepare", data))
        ).data == {"result": 0}
        tid = cloud.service(dock.sn, "flighttask_execute", '{"flight_id": "rth-1"}')
        assert (await cloud.reply_to(dock.sn, tid)).data == {"result": 0}
        # Nothing to cancel before the return starts.
        tid = cloud.service(dock.sn, "return_home_cancel", "{}")
        assert (await cloud.reply_to(dock.sn, tid)).data == {"result": 314000}
        await cloud.wait(lambda: dock.aircraft.home_distance > 200, within=30, what="away")
        assert (await cloud.reply_to(dock.sn, cloud.service(dock.sn, "return_home"))).data == {
            "result": 0
        }
        await cloud.wait(lambda: dock.aircraft.mode_code == 9, what="returning")
        tid = cloud.service(dock.sn, "return_home_cancel", "{}")
        assert (await cloud.reply_to(dock.sn, tid)).data == {"result": 0}
        topic = f"thing/product/{dock.sn}/events"
        seen = len(cloud.on(topic, "flighttask_progress"))
        await cloud.wait(
            lambda: len(cloud.on(topic, "flighttask_progress")) >= seen + 2, what="progress"
        )
        hovering = dock.aircraft.home_distance
        await cloud.wait(
            lambda: len(cloud.on(topic, "flighttask_progress")) >= seen + 5, what="more progress"
        )
        assert dock.aircraft.home_distance == pytest.approx(hovering, abs=0.5)
        assert dock.mission is not None
        assert (await cloud.reply_to(dock.sn, cloud.service(dock.sn, "return_home"))).data == {
            "result": 0
        }
        await cloud.wait(
            lambda: [
                s
                for s in cloud.on(topic, "flighttask_progress")
                if s.data["output"]["status"] == "failed"
            ],
            within=30,
            what="landed after the user's RTH",
        )
        assert dock.aircraft.home_distance < 1
    finally:
        await fleet.stop()
