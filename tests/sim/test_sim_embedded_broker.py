"""The fleet against the station's own broker (amqtt child process with a per-gateway ACL).

That broker lets a device login use only its gateway's topics, and the aircraft's only after an
update_topo named it: the simulator must subscribe in that order, as a real dock must.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from sim_cloud import Cloud

from broker.auth import AuthFile, User, hash_password
from gcs.sim import Fleet, FleetError, FleetOptions


@pytest.fixture(scope="module")
def station_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    auth = tmp_path_factory.mktemp("broker") / "broker-auth.json"
    AuthFile.write(
        auth,
        [
            User("station", hash_password("station-pw", iterations=1000), "station"),
            User("device", hash_password("device-pw", iterations=1000), "device"),
        ],
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcs", "broker", "--host", "127.0.0.1", "--port", "0",
         "--auth", str(auth)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("GCS-BROKER LISTENING"):
        proc.kill()
        pytest.fail(f"broker did not start: {line!r}")
    yield int(line.split()[-1])
    proc.terminate()
    proc.wait(10)


async def test_fleet_on_the_station_broker(station_broker: int) -> None:
    cloud = Cloud(station_broker, username="station", password="station-pw")
    cloud.start()
    url = f"mqtt://device:device-pw@127.0.0.1:{station_broker}"
    fleet = Fleet(FleetOptions(url, docks=3, pilots=1, binding_code="qwe", seed=41, speedup=4.0))
    try:
        await fleet.start(timeout_s=15)
        for dock in fleet.docks:
            # Aircraft state with need_reply 1 got its state_reply through the ACL.
            await cloud.wait(lambda d=dock: d.last_reply("state"), what="aircraft state_reply")
            reply = await cloud.reply_to(dock.sn, cloud.service(dock.sn, "debug_mode_open"))
            assert reply.data["result"] == 0
        [rc] = fleet.pilots
        await cloud.wait(lambda: cloud.on(f"thing/product/{rc.aircraft_sn}/osd"))
    finally:
        await fleet.stop()
        cloud.stop()


async def test_wrong_device_password_is_refused(station_broker: int) -> None:
    fleet = Fleet(FleetOptions(f"mqtt://device:nope@127.0.0.1:{station_broker}", docks=1))
    try:
        with pytest.raises(FleetError, match="broker refused the connection"):
            await fleet.start(timeout_s=1)
    finally:
        await fleet.stop()
