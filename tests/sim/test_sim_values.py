"""Values that change as a real site's would: charging, weather, occasional HMS alarms."""

from __future__ import annotations

from typing import Any

import pytest
from sim_cloud import Cloud, Mosquitto

from gcs.sim import Fleet, FleetOptions, Timing

pytestmark = pytest.mark.mosquitto


async def test_charging_weather_and_alarms(mosquitto: Mosquitto, cloud: Cloud) -> None:
    timing = Timing(hms_alarm_every_s=20.0, hms_alarm_lasts_s=6.0)
    fleet = Fleet(
        FleetOptions(
            mosquitto.url,
            docks=1,
            pilots=1,
            binding_code="qwe",
            seed=31,
            speedup=100.0,
            timing=timing,
        )
    )
    await fleet.start(timeout_s=10)
    try:
        [dock] = fleet.docks
        dock.aircraft.battery = 40.0
        topic = f"thing/product/{dock.sn}/osd"

        def part_a() -> list[dict[str, Any]]:
            return [s.data for s in cloud.on(topic) if "drone_charge_state" in s.data]

        def charging_up() -> bool:
            values = [d["drone_charge_state"]["capacity_percent"] for d in part_a()
                      if d["drone_charge_state"]["state"] == 1]  # fmt: skip
            return len(values) > 3 and values[-1] > values[0]

        await cloud.wait(charging_up, what="battery charging in the dock")
        await cloud.wait(
            lambda: len({d["environment_temperature"] for d in part_a()}) > 1,
            what="outside temperature drifting",
        )
        temps = {d["environment_temperature"] for d in part_a()}
        assert all(-30 < t < 50 for t in temps)
        assert all(0 <= d["humidity"] <= 100 for d in part_a())
        # Aircraft in the dock stays at the dock's position.
        ac = cloud.on(f"thing/product/{dock.aircraft_sn}/osd")[-1].data
        assert ac["latitude"] == pytest.approx(dock.cfg.lat, abs=1e-6)
        assert ac["elevation"] == 0

        # An occasional alarm appears in the hms snapshot and later clears.
        events = f"thing/product/{dock.sn}/events"

        def alarms() -> list[list[dict[str, Any]]]:
            return [s.data["list"] for s in cloud.on(events, "hms")]

        raised = await cloud.wait(
            lambda: [a for a in alarms() if a], within=15, what="a dock HMS alarm"
        )
        alarm = raised[0][0]
        assert alarm["device_type"] == dock.model_key
        assert alarm["code"].startswith("0x") and alarm["level"] in (0, 1, 2)
        first = alarms().index(raised[0])
        await cloud.wait(lambda: [] in alarms()[first:], what="the alarm clearing")

        # The RC's aircraft takes off and drains its battery.
        [rc] = fleet.pilots
        rc_topic = f"thing/product/{rc.aircraft_sn}/osd"

        def flying() -> list[dict[str, Any]]:
            return [s.data for s in cloud.on(rc_topic) if s.data["mode_code"] == 3]

        await cloud.wait(lambda: len(flying()) > 5, within=15, what="the RC aircraft flying")
        levels = [d["battery"]["capacity_percent"] for d in flying()]
        assert levels[-1] < levels[0]
    finally:
        await fleet.stop()
