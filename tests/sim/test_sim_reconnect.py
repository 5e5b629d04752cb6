"""Broker loss, reboot and aircraft power: the gateway re-announces itself with update_topo."""

from __future__ import annotations

import time

import pytest
from sim_cloud import Cloud, Mosquitto

from gcs.sim import Fleet, FleetOptions, Timing

pytestmark = pytest.mark.mosquitto

FAST = Timing(request_timeout_s=0.5, reconnect_min_s=0.2, reconnect_max_s=0.5)


async def test_reconnect_after_broker_restart(mosquitto: Mosquitto, cloud: Cloud) -> None:
    fleet = Fleet(
        FleetOptions(
            mosquitto.url, docks=2, pilots=1, binding_code="qwe", seed=21, speedup=8.0, timing=FAST
        )
    )
    try:
        await fleet.start(timeout_s=10)

        def topo_count(sn: str) -> int:
            return len(cloud.on(f"sys/product/{sn}/status", "update_topo"))

        assert all(topo_count(d.sn) == 1 for d in fleet.devices)
        mosquitto.kill()
        await cloud.wait(
            lambda: all(not d.online for d in fleet.devices), what="gateways noticing the loss"
        )
        mosquitto.start()
        await cloud.wait(
            lambda: all(topo_count(d.sn) >= 2 for d in fleet.devices),
            within=15,
            what="update_topo again from every gateway",
        )
        await cloud.wait(lambda: all(d.online for d in fleet.devices), what="online again")
        for d in fleet.devices:
            assert d.sessions == 2
            # Onboarding (config, binding) is not repeated on a plain reconnect.
            assert len(cloud.on(f"thing/product/{d.sn}/requests", "config")) <= 1

        # Publishers were not duplicated: aircraft OSD keeps its 2 s (here 0.25 s) period.
        dock = fleet.docks[0]
        topic = f"thing/product/{dock.aircraft_sn}/osd"
        start = time.monotonic()
        before = len(cloud.on(topic))
        await cloud.wait(lambda: len(cloud.on(topic)) >= before + 6, what="six aircraft OSD")
        period = (time.monotonic() - start) / 6
        assert period > 0.18  # twice the publishers would halve it to 0.125 s
    finally:
        await fleet.stop()


@pytest.mark.slow
async def test_reboot_reonboards_and_drone_power_changes_topology(
    mosquitto: Mosquitto, cloud: Cloud
) -> None:
    timing = Timing(request_timeout_s=0.5, reconnect_min_s=0.2, reboot_s=2.0, debug_step_s=0.5)
    fleet = Fleet(
        FleetOptions(
            mosquitto.url, docks=1, binding_code="qwe", seed=22, speedup=10.0, timing=timing
        )
    )
    try:
        await fleet.start(timeout_s=10)
        [dock] = fleet.docks
        gw = dock.sn
        status = f"sys/product/{gw}/status"
        await cloud.reply_to(gw, cloud.service(gw, "debug_mode_open"))
        # Aircraft off: update_topo without sub-devices, aircraft OSD stops.
        await cloud.reply_to(gw, cloud.service(gw, "drone_close"))
        topos = await cloud.wait(
            lambda: [s for s in cloud.on(status) if s.data["sub_devices"] == []],
            what="update_topo with no sub-device",
        )
        assert topos[0].method == "update_topo"
        osd = await cloud.wait(
            lambda: [s for s in cloud.on(f"thing/product/{gw}/osd") if "sub_device" in s.data
                     and s.data["sub_device"]["device_online_status"] == 0],
        )  # fmt: skip
        assert osd[-1].data["sub_device"]["device_sn"] == dock.aircraft_sn
        # Aircraft on again.
        await cloud.reply_to(gw, cloud.service(gw, "drone_open"))
        await cloud.wait(
            lambda: cloud.on(status)[-1].data["sub_devices"] != [], what="aircraft back"
        )
        # Reboot: progress ok, offline, then config + bind status + update_topo again.
        tid = cloud.service(gw, "device_reboot")
        assert (await cloud.reply_to(gw, tid)).data["result"] == 0
        await cloud.wait(
            lambda: [s for s in cloud.on(f"thing/product/{gw}/events", "device_reboot")
                     if s.data["output"]["status"] == "ok" and s.payload["bid"] == tid + "-b"],
            what="device_reboot ok",
        )  # fmt: skip
        await cloud.wait(lambda: dock.sessions == 2, within=15, what="online after reboot")
        methods = [s.method for s in cloud.on(f"thing/product/{gw}/requests")]
        assert methods.count("config") == 2
        assert methods.count("airport_bind_status") == 2
        assert osd and dock.online
    finally:
        await fleet.stop()
