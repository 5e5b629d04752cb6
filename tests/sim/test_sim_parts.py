"""Simulator parts without a broker: serials, positions, payload factories, kinematics, URLs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from sim_cloud import SHARED_DATA

from gcs.sim import BrokerAddress, Fleet, FleetOptions, aircraft_osd, dock_osd, split_dock_osd
from gcs.sim import dock as dock_module
from gcs.sim import pilot as pilot_module
from gcs.sim.payloads import dock_osd_part
from gcs.sim.products import local_offset_m
from gcs.sim.world import Aircraft, wind_direction_code

URL = "mqtt://u:p@127.0.0.1:1"


def test_serials_are_deterministic_distinct_and_dji_like() -> None:
    a = Fleet(FleetOptions(URL, docks=150, pilots=50, seed=1))
    b = Fleet(FleetOptions(URL, docks=150, pilots=50, seed=1))
    c = Fleet(FleetOptions(URL, docks=150, pilots=50, seed=2))
    sns = [s for d in a.devices for s in (d.sn, d.aircraft_sn)]
    assert sns == [s for d in b.devices for s in (d.sn, d.aircraft_sn)]
    assert len(set(sns)) == 400
    assert not set(sns) & {s for d in c.devices for s in (d.sn, d.aircraft_sn)}
    assert all(re.fullmatch(r"[0-9A-HJ-NP-Z]{14}", sn) for sn in sns)
    keys = [d.model_key for d in a.devices[:6]]
    assert keys == ["3-1-0", "3-2-0", "3-3-0", "3-1-0", "3-2-0", "3-3-0"]
    assert {d.model_key for d in a.pilots} == {"2-119-0"}
    assert {d.aircraft_model_key for d in a.pilots} == {"0-67-1"}


def test_sites_are_spread_around_the_centre() -> None:
    fleet = Fleet(FleetOptions(URL, docks=30, pilots=10, lat=47.0, lon=8.0))
    offsets = [local_offset_m(47.0, 8.0, d.cfg.lat, d.cfg.lon) for d in fleet.devices]
    distances = [math.hypot(n, e) for n, e in offsets]
    assert max(distances) < 5_000
    closest = min(math.dist(p, q) for i, p in enumerate(offsets) for q in offsets[i + 1 :])
    assert closest > 100


def test_dock_osd_models_and_split() -> None:
    full = dock_osd(model="3-3-0", aircraft_sn="AC", drone_charge_state={"state": 1})
    assert full["drone_charge_state"] == {"state": 1, "capacity_percent": 60}  # merged
    parts = split_dock_osd(full)
    assert len(parts) == 3
    assert {k for p in parts for k in p} == set(full)
    assert sum(len(p) for p in parts) == len(full)
    dock1 = dock_osd(model="3-1-0")
    assert "heading" not in dock1 and "electric_supply_voltage" in dock1
    assert "tilt_angle" not in dock1
    assert "electric_supply_voltage" not in dock_osd(model="3-2-0")
    assert split_dock_osd({"x_new": 1})[2] == {"x_new": 1}  # nothing is lost
    full["x_new"] = 2
    assert [dock_osd_part(full, i) for i in range(3)] == split_dock_osd(full)


def test_aircraft_osd_payload_object() -> None:
    data = aircraft_osd(payload_index="53-0-0", thermal=True, mode_code=3)
    assert data["53-0-0"]["payload_index"] == "53-0-0"
    assert "thermal_current_palette_style" in data["53-0-0"]
    assert data["cameras"][0]["payload_index"] == "53-0-0"
    assert data["mode_code"] == 3
    assert "thermal_gain_mode" not in aircraft_osd(payload_index="98-0-0")["98-0-0"]


def test_hms_codes_exist_in_djis_table() -> None:
    table_path = SHARED_DATA / "hms.json"
    if not table_path.is_file():
        pytest.skip("shared data not present")
    table = json.loads(table_path.read_text(encoding="utf-8"))
    for code, _ in dock_module.DOCK_ALARMS:
        assert f"dock_tip_{code}" in table
    for code, _ in (*dock_module.AIRCRAFT_ALARMS, *pilot_module.AIRCRAFT_ALARMS):
        assert f"fpv_tip_{code}" in table


def test_orbit_heading_follows_motion() -> None:
    ac = Aircraft(home_lat=22.5, home_lon=113.9, home_height=20.0, north=-100.0, elevation=60)
    for _ in range(50):
        n0, e0 = ac.north, ac.east
        ac.orbit(0.0, 0.0, 100.0, 6.0, 0.1)
        course = math.degrees(math.atan2(ac.east - e0, ac.north - n0))
        assert abs((course - ac.heading + 180) % 360 - 180) < 1.0
        assert -180 < ac.heading <= 180
    assert ac.roll == pytest.approx(math.degrees(math.atan(36 / (9.81 * 100))))
    assert ac.battery < 80.0  # airborne drains


def test_move_towards_arrives_and_accounts_distance() -> None:
    ac = Aircraft(home_lat=22.5, home_lon=113.9, home_height=20.0)
    steps = 0
    while not ac.move_towards(0.0, 0.0, 30.0, 0.0, 5.0, 1.0):
        steps += 1
    assert steps == 5 and ac.elevation == pytest.approx(30.0)
    while not ac.move_towards(100.0, 0.0, 30.0, 10.0, 5.0, 1.0):
        pass
    assert ac.north == pytest.approx(100.0) and ac.heading == pytest.approx(0.0)
    assert ac.total_flight_distance == pytest.approx(100.0)
    assert ac.height == pytest.approx(50.0)


def test_wind_direction_codes() -> None:
    assert [wind_direction_code(d) for d in (0, 44, 46, 90, 180, 270, 315, 359)] == [
        1, 2, 2, 3, 5, 7, 8, 1
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://dev:s%40cret@10.0.0.5:1883", ("10.0.0.5", 1883, "dev", "s@cret", False)),
        ("tcp://h", ("h", 1883, "", "", False)),
        ("mqtts://u:p@h", ("h", 8883, "u", "p", True)),
        ("h:2000", ("h", 2000, "", "", False)),
    ],
)
def test_broker_url(url: str, expected: tuple[object, ...]) -> None:
    b = BrokerAddress.parse(url)
    assert (b.host, b.port, b.username, b.password, b.tls) == expected


@pytest.mark.parametrize("url", ["http://h:1", "mqtt://", "mqtt://h:notaport"])
def test_bad_broker_url(url: str) -> None:
    with pytest.raises(ValueError, match="broker URL"):
        BrokerAddress.parse(url)


def test_cli_resolves_credentials_file(tmp_path: Path) -> None:
    import argparse

    from gcs.cli.sim import UsageError, resolve

    creds = tmp_path / "c.json"
    creds.write_text(
        json.dumps(
            {
                "mqtt_host": "192.168.1.10",
                "mqtt_port": 1884,
                "username": "dock",
                "password": "p@ss",
                "workspace_id": "ws-9",
                "binding_code": "abc",
            }
        )
    )

    def ns(**kw: object) -> argparse.Namespace:
        base: dict[str, object] = dict(
            broker=None, credentials=None, binding_code=None, workspace_id=None
        )
        base.update(kw)
        return argparse.Namespace(**base)

    url, code, org = resolve(ns(credentials=str(creds)))
    assert BrokerAddress.parse(url) == BrokerAddress("192.168.1.10", 1884, "dock", "p@ss")
    assert (code, org) == ("abc", "ws-9")
    url, code, org = resolve(
        ns(credentials=str(creds), broker="mqtt://127.0.0.1:5", binding_code="x")
    )
    assert BrokerAddress.parse(url) == BrokerAddress("127.0.0.1", 5, "dock", "p@ss")
    assert code == "x"
    with pytest.raises(UsageError, match="--broker"):
        resolve(ns())
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(UsageError, match="JSON object"):
        resolve(ns(credentials=str(tmp_path / "bad.json")))


def test_result_codes_are_djis() -> None:
    from gcs.protocol.errors import known_codes
    from gcs.sim import codes

    values = {
        name: value
        for name, value in vars(codes).items()
        if name.isupper() and isinstance(value, int) and value > 100
    }
    assert values and all(v in known_codes() for v in values.values()), values


def test_live_stream_rules() -> None:
    from gcs.sim.live import LiveStreams

    online = {"AC": True}
    live = LiveStreams(
        lambda: {
            "AC": [("53-0-0", ["normal", "wide", "zoom", "ir"])],
            "DOCK": [("165-0-7", ["normal"])],
        },
        frozenset({0, 1, 2, 3}),
        lambda sn: online.get(sn, True),
    )

    def start(video_id: str, url_type: int = 1, quality: object = 0) -> tuple[int, object]:
        return live.start(
            {
                "video_id": video_id,
                "url_type": url_type,
                "url": "rtmp://h/x",
                "video_quality": quality,
            }
        )

    assert start("AC/53-0-0/normal-0", url_type=4) == (513013, None)
    assert start("AC/53-0-0/normal-0", quality=9) == (513005, None)
    assert start("AC/99-0-0/normal-0") == (513002, None)
    assert start("AC/53-0-0") == (513014, None)
    online["AC"] = False
    assert start("AC/53-0-0/normal-0") == (325012, None)
    online["AC"] = True
    assert start("AC/53-0-0/normal-0") == (0, None)
    assert start("AC/53-0-0/zoom-0") == (513003, None)  # same camera, other lens: still live
    rtsp = live.start(
        {"video_id": "DOCK/165-0-7/normal-0", "url_type": 2, "video_quality": 1,
         "url": "userName=u&password=p&port=8554"}
    )  # fmt: skip
    assert rtsp == (0, "rtsp://u:p@127.0.0.1:8554/streaming/live/1")
    assert [s["video_id"] for s in live.status()] == ["AC/53-0-0/normal-0", "DOCK/165-0-7/normal-0"]
    assert live.change_lens({"video_id": "AC/53-0-0/normal-0", "video_type": "ir"}) == (0, None)
    assert live.change_lens({"video_id": "DOCK/165-0-7/normal-0", "video_type": "ir"})[0] == 513014
    assert live.set_quality({"video_id": "AC/53-0-0/normal-0", "video_quality": 4}) == (0, None)
    assert live.status()[0]["video_type"] == "ir" and live.status()[0]["video_quality"] == 4
    assert live.clear("AC") and [s["video_id"] for s in live.status()] == ["DOCK/165-0-7/normal-0"]
    assert live.stop({"video_id": "AC/53-0-0/normal-0"}) == (513011, None)
    assert live.stop({"video_id": "DOCK/165-0-7/normal-0"}) == (0, None)
    assert live.status() == []


def test_live_agora_and_gb28181_are_accepted_like_a_device() -> None:
    """url_type 0/3: a url with every §7.3 key is accepted and reported live, and nothing is
    pushed; a url lacking a key (or with a word where a number goes) is 513014."""
    from gcs.sim.live import LiveStreams

    live = LiveStreams(
        lambda: {"AC": [("98-0-0", ["normal", "wide"])], "DOCK": [("165-0-7", ["normal"])]},
        frozenset({0, 1, 3, 4}),
    )
    agora = "channel=ops&sn=AC&token=006a%2Bb%3D&uid=654321"
    gb = (
        "serverIP=192.168.1.10&serverPort=5060&serverID=34020000002000000001"
        "&agentID=34020000001320000001&agentPassword=pw&localPort=5060"
        "&channel=34020000001310000001"
    )

    def start(video_id: str, url_type: int, url: str) -> tuple[int, object]:
        return live.start(
            {"video_id": video_id, "url_type": url_type, "url": url, "video_quality": 0}
        )

    assert start("AC/98-0-0/normal-0", 0, agora.replace("&uid=654321", "")) == (513014, None)
    assert start("AC/98-0-0/normal-0", 0, agora.replace("uid=654321", "uid=x")) == (513014, None)
    assert start("AC/98-0-0/normal-0", 3, gb.replace("&agentPassword=pw", "")) == (513014, None)
    assert start("AC/98-0-0/normal-0", 0, agora) == (0, None)
    assert start("DOCK/165-0-7/normal-0", 3, gb) == (0, None)
    assert [(s["video_id"], s["status"]) for s in live.status()] == [
        ("AC/98-0-0/normal-0", 1),
        ("DOCK/165-0-7/normal-0", 1),
    ]
    assert live.pushes == {}
    assert live.stop({"video_id": "AC/98-0-0/normal-0"}) == (0, None)
    assert live.stop({"video_id": "DOCK/165-0-7/normal-0"}) == (0, None)
    assert live.status() == []
