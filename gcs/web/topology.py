"""Situational-awareness data for Pilot (protocol §8.2 #1 and §9), built from registry views.

Pure functions: they take `DeviceView`s and plain values and return the wire dictionaries.
`device_model` carries both spellings of the key (`key`, docs; `device_model_key`, Demo) and the
docs' string numbers; an icon left empty lets Pilot pick one by model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gcs.protocol.models import ModelKey
from gcs.station.devices import DeviceView

# Keys of the merged OSD that Pilot's map uses (§9, device_osd `host`).
OSD_HOST_KEYS = (
    "latitude",
    "longitude",
    "height",
    "attitude_head",
    "elevation",
    "horizontal_speed",
    "vertical_speed",
)

UserOf = Callable[[str], tuple[str, str] | None]  # RC sn -> (user id, user callsign)


def device_model(model_key: str) -> dict[str, Any]:
    try:
        mk = ModelKey.parse(model_key)
        domain, type_, sub = str(mk.domain), str(mk.type), str(mk.sub_type)
    except ValueError:
        domain = type_ = sub = ""
    return {
        "key": model_key,
        "device_model_key": model_key,
        "domain": domain,
        "type": type_,
        "sub_type": sub,
    }


def icon_urls(view: DeviceView, custom: Mapping[str, Any]) -> dict[str, str]:
    """The device's icons: registry values, else the `[pilot.device_icons]` entry, else empty."""
    entry = custom.get(view.sn)
    normal = view.icon_normal
    selected = view.icon_selected
    if isinstance(entry, Mapping):
        normal = normal or str(entry.get("normal", "") or "")
        selected = selected or str(entry.get("selected", "") or entry.get("normal", "") or "")
    return {"normal_icon_url": normal, "selected_icon_url": selected or normal}


def topo_entry(
    view: DeviceView, custom_icons: Mapping[str, Any], user_of: UserOf
) -> dict[str, Any]:
    """One `Topo` object for a gateway or an aircraft."""
    user = user_of(view.gateway_sn or view.sn) if view.gateway_sn else None
    return {
        "sn": view.sn,
        "device_callsign": view.callsign or view.model_name,
        "device_model": device_model(view.model_key),
        "online_status": view.online,
        "user_id": user[0] if user else "",
        "user_callsign": user[1] if user else "",
        "icon_urls": icon_urls(view, custom_icons),
        "model": view.model_name,
        "gateway_sn": view.gateway_sn or "",
        "bound_status": view.bound,
    }


def topologies(
    gateways: list[DeviceView],
    aircraft_of: Callable[[DeviceView], list[DeviceView]],
    custom_icons: Mapping[str, Any],
    user_of: UserOf,
) -> dict[str, Any]:
    """The `data` of GET .../devices/topologies: one list item per gateway."""
    items = []
    for gw in gateways:
        items.append(
            {
                "hosts": [topo_entry(a, custom_icons, user_of) for a in aircraft_of(gw)],
                "parents": [topo_entry(gw, custom_icons, user_of)],
            }
        )
    return {"list": items}


def osd_host(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `host` of a device_osd push from a device's merged state; None without a position."""
    lat, lon = state.get("latitude"), state.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    host: dict[str, Any] = {}
    for key in OSD_HOST_KEYS:
        value = state.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            host[key] = value
    return host
