"""The device registry with a real SQLite store and a controlled clock: liveness, topology moves,
sub-device offline on an empty update_topo, binding, and what survives a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gcs.protocol.errors import StationCode
from gcs.protocol.onboarding import parse_update_topo
from gcs.station.bus import DeviceBound, DeviceOffline, DeviceOnline, EventBus, TopologyChanged
from gcs.station.devices import DeviceRegistry, RequestRefused
from gcs.store.db import Store
from gcs.store.devices import WorkspaceRow

WS = "e3dea0f5-37f2-4d79-ae58-490af3228069"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def topo(*subs: tuple[str, str]) -> Any:
    return parse_update_topo(
        {
            "domain": 3,
            "type": 2,
            "sub_type": 0,
            "thing_version": "1.2.0",
            "sub_devices": [
                {
                    "sn": sn,
                    "domain": 0,
                    "type": int(k.split("-")[1]),
                    "sub_type": int(k.split("-")[2]),
                    "index": "A",
                }
                for sn, k in subs
            ],
        }
    )


@pytest.fixture
async def registry(tmp_path: Path) -> Any:
    store = Store(tmp_path / "gcs.db")
    bus = EventBus()
    events: list[Any] = []
    for t in (DeviceOnline, DeviceOffline, TopologyChanged, DeviceBound):
        bus.subscribe(t, events.append)
    clock = Clock()
    reg = DeviceRegistry(store, bus, offline_timeout_s=60, clock=clock)
    await reg.load()
    await reg.ensure_workspace(WorkspaceRow(WS, "Site", "", "GCS", "code1", 1))
    yield reg, events, clock, store, tmp_path
    store.close()


async def test_online_offline_and_moves(registry: Any) -> None:
    reg, events, clock, _, _ = registry
    await reg.update_topo("DOCK1", topo(("AIR1", "0-91-0")))
    assert reg.is_online("DOCK1") and reg.is_online("AIR1")
    assert reg.view("DOCK1").sub_devices == ("AIR1",) and reg.view("AIR1").gateway_sn == "DOCK1"
    assert [type(e).__name__ for e in events] == ["DeviceOnline", "DeviceOnline", "TopologyChanged"]

    # Empty sub_devices: the aircraft went offline, the dock stays.
    events.clear()
    await reg.update_topo("DOCK1", topo())
    assert reg.is_online("DOCK1") and not reg.is_online("AIR1")
    assert isinstance(events[0], DeviceOffline) and events[0].sn == "AIR1"

    # The aircraft appears under another dock: it moves there.
    await reg.update_topo("DOCK1", topo(("AIR1", "0-91-0")))
    await reg.update_topo("DOCK2", topo(("AIR1", "0-91-0")))
    assert reg.view("AIR1").gateway_sn == "DOCK2"
    assert reg.view("DOCK1").sub_devices == () and reg.view("DOCK2").sub_devices == ("AIR1",)

    # Silence: after the timeout the gateways (and their aircraft) go offline; traffic keeps
    # a gateway alive.
    clock.now += 45
    reg.seen("DOCK2")
    clock.now += 30
    gone = reg.expire()
    assert gone == ["DOCK1"]
    clock.now += 31
    assert sorted(reg.expire()) == ["AIR1", "DOCK2"]
    assert reg.counts() == (0, 0)
    # A known gateway that speaks again is online again.
    reg.seen("DOCK2")
    assert reg.is_online("DOCK2")


async def test_update_topo_from_a_non_gateway_is_refused(registry: Any) -> None:
    reg, *_ = registry
    bad = parse_update_topo({"domain": 0, "type": 67, "sub_type": 0, "sub_devices": []})
    with pytest.raises(RequestRefused) as info:
        await reg.update_topo("AIR9", bad)
    assert info.value.code == StationCode.INVALID_PARAMETER


async def test_binding_is_persisted_and_aircraft_follow_the_dock(registry: Any) -> None:
    reg, _events, _, _store, tmp_path = registry
    out = await reg.organization_bind(
        "DOCK1",
        {
            "bind_devices": [
                {
                    "device_binding_code": "code1",
                    "organization_id": WS,
                    "device_callsign": "North",
                    "sn": "DOCK1",
                    "device_model_key": "3-2-0",
                },
                {
                    "device_binding_code": "nope",
                    "organization_id": WS,
                    "device_callsign": "X",
                    "sn": "AIR7",
                    "device_model_key": "0-91-0",
                },
            ]
        },
    )
    assert out == {
        "err_infos": [
            {"sn": "DOCK1", "err_code": 0},
            {"sn": "AIR7", "err_code": StationCode.BINDING_CODE_INVALID},
        ]
    }
    # An aircraft reported by a bound dock is bound to the same workspace.
    await reg.update_topo("DOCK1", topo(("AIR1", "0-91-0")))
    assert reg.view("AIR1").bound and reg.view("AIR1").workspace_id == WS
    assert reg.bind_status({"devices": [{"sn": "DOCK1"}, {"sn": "AIR7"}]})["bind_status"] == [
        {
            "sn": "DOCK1",
            "is_device_bind_organization": True,
            "organization_id": WS,
            "organization_name": "Site",
            "device_callsign": "North",
        },
        {
            "sn": "AIR7",
            "is_device_bind_organization": False,
            "organization_id": "",
            "organization_name": "",
            "device_callsign": "",
        },
    ]
    with pytest.raises(RequestRefused):
        reg.organization_get({"device_binding_code": "code1", "organization_id": "another-org"})

    # A restart (a new registry and connection over the same file) knows everything committed,
    # every device offline.
    store2 = Store(tmp_path / "gcs.db")
    reg2 = DeviceRegistry(store2, EventBus(), offline_timeout_s=60)
    await reg2.load()
    v = reg2.view("DOCK1")
    assert v.bound and v.callsign == "North" and not v.online and v.sub_devices == ("AIR1",)
    store2.close()
