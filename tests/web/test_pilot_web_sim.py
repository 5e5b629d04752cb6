"""gcs.sim.pilot_web on its own against `gcs serve`: a simulated Pilot really connected.

The RC's MQTT side is a raw paho gateway using the thing credentials PilotWeb got at login.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import pytest
from pilot_peers import (
    DOCK2,
    M3D,
    PilotStation,
    RawGateway,
    aircraft_osd,
    start_pilot_station,
)

from gcs.sim.pilot_web import PilotWeb, PilotWebError

RC_SN = "5YSZL260021SIM"
DRONE_SN = "1581F5BKD225DSIM"
DOCK_SN = "7CTDM4100BSIM1"
DOCK_DRONE_SN = "1581F6Q8D24ASIM1"


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotStation]:
    st = start_pilot_station(tmp_path_factory.mktemp("pilot-sim") / "station")
    yield st
    st.stop()


async def until(pred: object, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not pred():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def bind_when_known(pilot: PilotWeb, sn: str, within: float = 10.0) -> None:
    """POST the binding until the station knows the device (404 until its update_topo is in)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            await pilot.call("POST", f"manage/api/v1/devices/{sn}/binding", {})
            return
        except PilotWebError as exc:
            if exc.status != 404 or loop.time() > deadline:
                raise
        await asyncio.sleep(0.05)


async def test_simulated_pilot_logs_in_binds_and_follows_the_fleet(station: PilotStation) -> None:
    ctx = ssl.create_default_context(cafile=str(station.data_dir / "tls" / "ca.crt"))
    pilot = PilotWeb(
        station.https,
        station.username,
        station.password,
        RC_SN,
        ssl_context=ctx,
        retry_s=0.2,
        bind_retry_s=0.2,
    )
    creds = await pilot.login()
    assert creds.mqtt_port == station.mqtt_port and creds.mqtt_host == "127.0.0.1"
    pilot.start()
    rc = RawGateway(
        creds.mqtt_port, creds.mqtt_username, creds.mqtt_password, RC_SN, aircraft_sn=DRONE_SN
    )
    user, pw = station.device_login
    dock = RawGateway(
        station.mqtt_port,
        user,
        pw,
        DOCK_SN,
        model=DOCK2,
        aircraft_sn=DOCK_DRONE_SN,
        aircraft_model=M3D,
    )
    try:
        assert rc.rc == 0 and dock.rc == 0
        rc.update_topo()
        await asyncio.wait_for(pilot.ws_connected.wait(), 10)
        assert pilot.bound and pilot.workspace["workspace_id"] == station.workspace_id
        await until(lambda: pilot.devices_on_map().get(DRONE_SN) is True)
        assert pilot.devices_on_map()[RC_SN] is True
        # A dock joins the workspace: Pilot is told over the WebSocket and re-fetches.
        dock.update_topo()
        await bind_when_known(pilot, DOCK_SN)
        await until(lambda: DOCK_DRONE_SN in pilot.devices_on_map())
        assert pilot.stats.topology_fetches >= 2
        # Dock aircraft OSD reaches the simulated Pilot's map.
        dock.osd(DOCK_DRONE_SN, aircraft_osd(22.61, 114.01))
        await until(lambda: DOCK_DRONE_SN in pilot.osd)
        assert pilot.osd[DOCK_DRONE_SN]["latitude"] == 22.61
    finally:
        rc.close()
        dock.close()
        await pilot.stop()


async def test_wrong_password_is_reported(station: PilotStation) -> None:
    pilot = PilotWeb(station.http, station.username, "not-the-password", RC_SN)
    try:
        with pytest.raises(PilotWebError) as err:
            await pilot.login()
        assert err.value.status == 403
    finally:
        await pilot.stop()


def _polygon(color: str) -> dict[str, object]:
    ring = [[114.01, 22.61], [114.02, 22.61], [114.02, 22.62], [114.01, 22.62]]
    return {
        "type": "Feature",
        "properties": {"color": color, "clampToGround": True},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


async def test_two_simulated_pilots_share_the_map(station: PilotStation) -> None:
    pilots, gateways = [], []
    try:
        for i in range(2):
            rc_sn, drone_sn = f"5YSZL260021MAP{i}", f"1581F5BKD225MAP{i}"
            pilot = PilotWeb(
                station.http, station.username, station.password, rc_sn, retry_s=0.2,
                bind_retry_s=0.2,
            )  # fmt: skip
            creds = await pilot.login()
            pilot.start()
            rc = RawGateway(
                creds.mqtt_port, creds.mqtt_username, creds.mqtt_password, rc_sn,
                aircraft_sn=drone_sn,
            )  # fmt: skip
            rc.update_topo()
            pilots.append(pilot)
            gateways.append(rc)
        a, b = pilots
        for p in pilots:
            await asyncio.wait_for(p.ws_connected.wait(), 10)
        assert len([g for g in b.map_groups.values() if g["type"] == 2]) == 1
        element_id = await a.create_element("PILOT 1", 2, _polygon("#2D8CF0"))
        await until(lambda: element_id in b.elements())
        assert b.elements()[element_id]["resource"]["content"]["geometry"]["type"] == "Polygon"
        await a.update_element(element_id, name="PILOT 1 edited", content=_polygon("#E23C39"))
        await until(lambda: b.elements()[element_id]["name"] == "PILOT 1 edited")
        color = b.elements()[element_id]["resource"]["content"]["properties"]["color"]
        assert color == "#E23C39"
        with pytest.raises(PilotWebError) as err:
            await a.update_element(element_id, content={"type": "Feature", "geometry": {}})
        assert err.value.status == 400
        await b.delete_element(element_id)
        await until(lambda: element_id not in a.elements())
    finally:
        for rc in gateways:
            rc.close()
        for p in pilots:
            await p.stop()
