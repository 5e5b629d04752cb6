"""Onboarding payloads (§2.1, §2.3) from literal wire JSON."""

from __future__ import annotations

import json

import pytest

from gcs.protocol.models import ModelKey, gateway_kind, model_name, payload_name
from gcs.protocol.onboarding import (
    PayloadError,
    parse_bind_status,
    parse_organization_bind,
    parse_organization_get,
    parse_update_topo,
)

UPDATE_TOPO = json.loads(
    """{"domain":"3","type":1,"sub_type":0,"device_secret":"secret","nonce":"nonce","thing_version":"1.1.2",
    "sub_devices":[{"sn":"drone001","domain":"0","type":60,"sub_type":0,"index":"A",
    "device_secret":"secret","nonce":"nonce","thing_version":"1.1.2"}]}"""
)


def test_update_topo_with_string_domains() -> None:
    topo = parse_update_topo(UPDATE_TOPO)
    assert str(topo.model_key) == "3-1-0" and topo.thing_version == "1.1.2"
    assert [(s.sn, str(s.model_key), s.index) for s in topo.sub_devices] == [
        ("drone001", "0-60-0", "A")
    ]


def test_update_topo_empty_sub_devices_and_old_version_key() -> None:
    topo = parse_update_topo(
        {"domain": 2, "type": 119, "sub_type": 0, "version": 1, "sub_devices": []}
    )
    assert topo.sub_devices == () and topo.thing_version == "1"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ("", "data"),
        ({"type": 1, "sub_type": 0}, "data.domain"),
        ({"domain": 3, "type": "x", "sub_type": 0}, "data.type"),
        ({"domain": 3, "type": 1, "sub_type": 0, "sub_devices": {}}, "data.sub_devices"),
        (
            {
                "domain": 3,
                "type": 1,
                "sub_type": 0,
                "sub_devices": [{"domain": 0, "type": 1, "sub_type": 0}],
            },
            "data.sub_devices[0].sn",
        ),
    ],
)
def test_update_topo_errors_name_the_field(data: object, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_update_topo(data)
    assert info.value.field == field


def test_binding_requests() -> None:
    assert parse_bind_status({"devices": [{"sn": "drone-sn"}, {"sn": "dock-sn"}]}) == [
        "drone-sn",
        "dock-sn",
    ]
    get = parse_organization_get({"device_binding_code": "qwe", "organization_id": "e3dea0f5"})
    assert (get.binding_code, get.organization_id) == ("qwe", "e3dea0f5")
    binds = parse_organization_bind(
        {
            "bind_devices": [
                {
                    "device_binding_code": "qwe",
                    "organization_id": "o",
                    "device_callsign": "Dock A",
                    "sn": "d1",
                    "device_model_key": "3-1-0",
                }
            ]
        }
    )
    assert binds[0].sn == "d1" and binds[0].callsign == "Dock A" and binds[0].model_key == "3-1-0"
    with pytest.raises(PayloadError):
        parse_organization_bind({"bind_devices": [{"sn": "d1", "device_model_key": "dock"}]})
    with pytest.raises(PayloadError):
        parse_bind_status({"devices": "d1"})


def test_model_keys_and_names() -> None:
    assert model_name("0-67-1") == "Matrice 30T"
    assert model_name("3-3-0") == "DJI Dock 3"
    assert payload_name("52-0-0") == "M30 camera"
    assert (
        gateway_kind("2-119-0") == "rc"
        and gateway_kind("3-2-0") == "dock"
        and gateway_kind("0-67-0") is None
    )
    assert str(ModelKey.parse(" 0-100-1 ")) == "0-100-1"
    with pytest.raises(ValueError):
        ModelKey.parse("0-67")
