"""Simulated gateways onboard against a hand-written cloud over real mosquitto."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sim_cloud import MOSQUITTO, Cloud, Mosquitto, free_port

from gcs.sim import Fleet, FleetError, FleetOptions, SimDock, Timing

pytestmark = pytest.mark.mosquitto

DOCK_KEYS = {"3-1-0": "0-67-0", "3-2-0": "0-91-0", "3-3-0": "0-100-0"}


@pytest.fixture
async def three_docks(mosquitto: Mosquitto, cloud: Cloud) -> AsyncIterator[Fleet]:
    fleet = Fleet(
        FleetOptions(
            mosquitto.url,
            docks=3,
            pilots=1,
            binding_code="qwe",
            organization_id="org-1",
            seed=7,
            speedup=4.0,
        )
    )
    await fleet.start(timeout_s=15)
    yield fleet
    await fleet.stop()


def up_sequence(cloud: Cloud, gw: str) -> list[tuple[str, str | None]]:
    return [
        (s.topic, s.method)
        for s in cloud.seen(
            lambda s: s.topic in (f"thing/product/{gw}/requests", f"sys/product/{gw}/status")
        )
    ]


async def test_dock_onboarding_sequence(three_docks: Fleet, cloud: Cloud) -> None:
    models = set()
    for dock in three_docks.docks:
        gw, ac = dock.sn, dock.aircraft_sn
        models.add(dock.model_key)
        req, status = f"thing/product/{gw}/requests", f"sys/product/{gw}/status"
        assert up_sequence(cloud, gw) == [
            (req, "config"),
            (req, "airport_bind_status"),
            (req, "airport_organization_get"),
            (req, "airport_organization_bind"),
            (status, "update_topo"),
        ]
        config, bind_status, org_get, org_bind, topo = cloud.seen(
            lambda s, gw=gw: s.topic in (f"thing/product/{gw}/requests", f"sys/product/{gw}/status")
        )
        for msg in (config, bind_status, org_get, org_bind, topo):
            assert msg.payload["gateway"] == gw
            assert isinstance(msg.payload["timestamp"], int)
            assert msg.payload["tid"] and msg.payload["bid"]
        assert config.data == {"config_type": "json", "config_scope": "product"}
        assert bind_status.data == {"devices": [{"sn": ac}, {"sn": gw}]}
        assert org_get.data == {"device_binding_code": "qwe", "organization_id": "org-1"}
        bind = org_bind.data["bind_devices"]
        assert [(d["sn"], d["device_model_key"]) for d in bind] == [
            (gw, dock.model_key),
            (ac, DOCK_KEYS[dock.model_key]),
        ]
        for d in bind:
            assert d["device_binding_code"] == "qwe"
            assert d["organization_id"] == "org-1"
            assert d["device_callsign"]
        domain, type_, sub = (int(x) for x in dock.model_key.split("-"))
        data = topo.data
        assert (data["domain"], data["type"], data["sub_type"]) == (domain, type_, sub)
        assert data["thing_version"]
        [sub_device] = data["sub_devices"]
        assert sub_device["sn"] == ac
        assert (
            f"{sub_device['domain']}-{sub_device['type']}-{sub_device['sub_type']}"
            == (DOCK_KEYS[dock.model_key])
        )
        assert sub_device["index"] == "A"
        # What the config reply said is kept.
        assert dock.ntp_server == ("127.0.0.1", 12300)
        assert dock.app == {"app_id": "123456", "app_key": "app_key", "app_license": "app_license"}
        reply = dock.last_reply("update_topo")
        assert reply is not None and reply.data == {"result": 0}
    assert models == {"3-1-0", "3-2-0", "3-3-0"}


async def test_pilot_sends_update_topo_without_requests(three_docks: Fleet, cloud: Cloud) -> None:
    [rc] = three_docks.pilots
    assert rc.model_key == "2-119-0"
    assert up_sequence(cloud, rc.sn) == [(f"sys/product/{rc.sn}/status", "update_topo")]
    [topo] = cloud.on(f"sys/product/{rc.sn}/status")
    [sub] = topo.data["sub_devices"]
    assert (sub["sn"], sub["domain"], sub["type"], sub["sub_type"]) == (rc.aircraft_sn, 0, 67, 1)
    # RC OSD on the RC's SN, aircraft OSD on the aircraft's SN with the RC as gateway.
    rc_osd = await cloud.wait(lambda: cloud.on(f"thing/product/{rc.sn}/osd"), what="RC OSD")
    assert {"latitude", "longitude", "height", "capacity_percent", "wireless_link"} <= set(
        rc_osd[0].data
    )
    ac_osd = await cloud.wait(
        lambda: cloud.on(f"thing/product/{rc.aircraft_sn}/osd"), what="aircraft OSD"
    )
    assert ac_osd[0].payload["gateway"] == rc.sn
    assert "53-0-0" in ac_osd[0].data


async def test_already_bound_dock_skips_organisation_requests(
    mosquitto: Mosquitto, cloud: Cloud
) -> None:
    cloud.bound = True
    fleet = Fleet(FleetOptions(mosquitto.url, docks=1, seed=3))  # no binding code needed
    try:
        await fleet.start(timeout_s=10)
        [dock] = fleet.docks
        methods = [m for _, m in up_sequence(cloud, dock.sn)]
        assert methods == ["config", "airport_bind_status", "update_topo"]
    finally:
        await fleet.stop()


async def test_wrong_binding_code_is_reported_as_stuck(mosquitto: Mosquitto, cloud: Cloud) -> None:
    fleet = Fleet(FleetOptions(mosquitto.url, docks=1, binding_code="nope", seed=4))
    try:
        with pytest.raises(FleetError) as info:
            await fleet.start(timeout_s=1)
        text = str(info.value)
        [dock] = fleet.docks
        assert dock.sn in text
        assert "airport_organization_get" in text and "210231" in text
        assert dock.stage == "airport_organization_get"
        assert not dock.online
    finally:
        await fleet.stop()


async def test_unreachable_broker_reported() -> None:
    # Nothing listens on this port: the gateway keeps retrying and says why.
    port = free_port()
    fleet = Fleet(
        FleetOptions(f"mqtt://u:p@127.0.0.1:{port}", docks=1, timing=Timing(reconnect_min_s=0.1))
    )
    try:
        with pytest.raises(FleetError) as info:
            await fleet.start(timeout_s=0.5)
        assert "connecting" in str(info.value)
        assert "cannot reach" in str(info.value)
    finally:
        await fleet.stop()


async def test_dock_osd_is_three_partial_messages(three_docks: Fleet, cloud: Cloud) -> None:
    dock3 = next(d for d in three_docks.docks if d.model_key == "3-3-0")
    assert isinstance(dock3, SimDock)
    topic = f"thing/product/{dock3.sn}/osd"

    def forms() -> set[frozenset[str]] | None:
        found = {frozenset(s.data) for s in cloud.on(topic)}
        return found if len(found) >= 3 else None

    key_sets = await cloud.wait(forms, what="three partial dock OSD forms")
    # The three forms of the real Dock 3 capture (shared/data/captures/dock3-m4td-flight).
    assert key_sets == {
        frozenset(
            "network_state drone_charge_state drone_in_dock rainfall wind_speed "
            "environment_temperature temperature humidity heading home_position_is_valid "
            "latitude longitude height alternate_land_point first_power_on position_state "
            "storage mode_code cover_state silent_mode supplement_light_state "
            "emergency_stop_state air_conditioner battery_store_mode alarm_state putter_state "
            "sub_device".split()
        ),
        frozenset(
            "job_number acc_time activation_time deployment_mode relative_alternate_land_point "
            "self_converge_coordinate maintain_status electric_supply_voltage working_voltage "
            "working_current acdc_power_input poe_link_status poe_power_output backup_battery "
            "gimbal_holder_state drone_battery_maintenance_info temp_mode_state".split()
        ),
        frozenset(
            "departure_point departure_point_status drc_state flighttask_prepare_capacity "
            "flighttask_step_code media_file_detail sdr tilt_angle user_experience_improvement "
            "wireless_link".split()
        ),
    }
    first = next(s for s in cloud.on(topic) if "sub_device" in s.data)
    assert first.payload["gateway"] == dock3.sn
    assert first.data["sub_device"]["device_sn"] == dock3.aircraft_sn
    assert first.data["sub_device"]["device_model_key"] == "0-100-0"
    assert first.data["latitude"] == pytest.approx(dock3.cfg.lat)
    # Aircraft OSD: own SN, gateway = dock, wind in 0.1 m/s as an integer.
    ac = await cloud.wait(lambda: cloud.on(f"thing/product/{dock3.aircraft_sn}/osd"))
    assert ac[0].payload["gateway"] == dock3.sn
    assert isinstance(ac[0].data["wind_speed"], int)
    assert ac[0].data["mode_code"] == 0
    assert "98-0-0" in ac[0].data
    # HMS on the gateway's events topic and the aircraft's own.
    for sn in (dock3.sn, dock3.aircraft_sn):
        hms = await cloud.wait(lambda sn=sn: cloud.on(f"thing/product/{sn}/events", "hms"))
        assert hms[0].data == {"list": []} or hms[0].data["list"][0]["code"].startswith("0x")


async def test_osd_rates_follow_the_capture(three_docks: Fleet, cloud: Cloud) -> None:
    dock = three_docks.docks[0]
    topic = f"thing/product/{dock.sn}/osd"
    await cloud.wait(lambda: len(cloud.on(topic)) >= 12, what="a dozen dock OSD")
    times = [s.at for s in cloud.on(topic)]
    rate = (len(times) - 1) / (times[-1] - times[0])
    # Capture: ~2.04 partial messages a second; the fleet runs 4x faster here.
    assert 2.04 * 4 * 0.7 < rate < 2.04 * 4 * 1.3


async def test_aircraft_state_need_reply_resent_with_same_tid(
    mosquitto: Mosquitto, cloud: Cloud
) -> None:
    cloud.answer_state = False
    fleet = Fleet(
        FleetOptions(
            mosquitto.url,
            docks=1,
            binding_code="qwe",
            seed=5,
            timing=Timing(resend_s=0.2, resend_max=3),
        )
    )
    try:
        await fleet.start(timeout_s=10)
        [dock] = fleet.docks
        topic = f"thing/product/{dock.aircraft_sn}/state"

        def resent() -> list[str]:
            tids = [s.payload["tid"] for s in cloud.on(topic) if s.payload.get("need_reply") == 1]
            return [t for t in set(tids) if tids.count(t) >= 3]

        tids = await cloud.wait(resent, what="a state re-sent three times with the same tid")
        again = [s for s in cloud.on(topic) if s.payload["tid"] == tids[0]]
        assert all(s.payload["bid"] == again[0].payload["bid"] for s in again)
        assert all(s.payload["gateway"] == dock.sn for s in again)
        # Bounded: 1 send + resend_max re-sends.
        await cloud.wait(lambda: len(cloud.on(topic)) > 0)
        assert max(len([s for s in cloud.on(topic) if s.payload["tid"] == t]) for t in tids) <= 4
    finally:
        await fleet.stop()


async def test_config_reply_in_wrapper_form_is_refused(mosquitto: Mosquitto, cloud: Cloud) -> None:
    """§6: the config answer carries its fields directly in data; the wrapped form is wrong."""
    original = cloud._request_answer

    def wrapped(p: dict[str, Any]) -> str:
        if p.get("method") == "config":
            return '{"result": 0, "output": {"app_id": "1", "app_key": "k", "app_license": "l"}}'
        return original(p)

    cloud._request_answer = wrapped  # type: ignore[method-assign]
    fleet = Fleet(FleetOptions(mosquitto.url, docks=1, binding_code="qwe", seed=6))
    try:
        with pytest.raises(FleetError, match="config"):
            await fleet.start(timeout_s=0.5)
        assert fleet.docks[0].stage == "config"
        assert "app_id" in fleet.docks[0].error
    finally:
        await fleet.stop()


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """mosquitto that accepts only user `device` with password `right`."""
    passwd_tool = shutil.which("mosquitto_passwd")
    if passwd_tool is None or not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto / mosquitto_passwd not installed")
    passwords = tmp_path / "passwd"
    subprocess.run([passwd_tool, "-c", "-b", str(passwords), "device", "right"], check=True)
    port = free_port()
    conf = tmp_path / "auth.conf"
    # As root, mosquitto drops to user "mosquitto", which cannot read pytest's tmp_path.
    keep_user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n" + keep_user
    )
    broker = Mosquitto(port, conf)
    broker.start()
    yield broker
    broker.kill()


async def test_refused_credentials_reported(password_broker: Mosquitto) -> None:
    port = password_broker.port
    fleet = Fleet(FleetOptions(f"mqtt://device:wrong@127.0.0.1:{port}", docks=1, pilots=1))
    try:
        with pytest.raises(FleetError) as info:
            await fleet.start(timeout_s=0.5)
        assert str(info.value).count("broker refused the connection: Not authorized") == 2
    finally:
        await fleet.stop()


async def test_login_changed_before_start(password_broker: Mosquitto) -> None:
    """The lead's Pilot flow: RCs start once their own MQTT login is known."""
    port = password_broker.port
    cloud = Cloud(port, username="device", password="right")
    cloud.start()
    fleet = Fleet(FleetOptions(f"mqtt://device:wrong@127.0.0.1:{port}", docks=0, pilots=2))
    try:
        first, second = fleet.pilots
        first.set_broker(f"mqtt://device:right@127.0.0.1:{port}")
        await fleet.start(timeout_s=5, devices=[first])
        assert first.online and second.stage == "created"
        with pytest.raises(FleetError, match="Not authorized"):
            await fleet.start(timeout_s=1, devices=[second])
    finally:
        await fleet.stop()
        cloud.stop()
