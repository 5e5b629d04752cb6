"""`property/set` on a simulated gateway: which property lives where, and its allowed range (§3).

A write answers each key with its own result (`{key: {"result": 0}}`, 0 written, 1 refused).
Aircraft OSD properties (height limit, RTH altitude…) change the next aircraft OSD; aircraft
state properties go out at once as a state message of the aircraft (`need_reply` on a dock);
thermal settings (a write that names any of them, with an optional `payload_index`) change the
camera's payload object; anything else is the gateway's own, see
:meth:`gcs.sim.gateway.SimGateway.set_gateway_property`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from gcs.protocol.envelope import Message
from gcs.sim import codes
from gcs.sim.products import DeviceKind

if TYPE_CHECKING:
    from gcs.sim.gateway import SimGateway

AIRCRAFT_OSD_PROPERTIES: Final = frozenset(
    {
        "night_lights_state",
        "height_limit",
        "distance_limit_status",
        "obstacle_avoidance",
        "rth_altitude",
        "rc_lost_action",
        "exit_wayline_when_rc_lost",
    }
)
AIRCRAFT_STATE_PROPERTIES: Final = frozenset(
    {
        "rth_mode",
        "commander_mode_lost_action",
        "commander_flight_height",
        "offline_map_enable",
        "camera_watermark_settings",
    }
)
THERMAL_PROPERTIES: Final = frozenset(
    {
        "thermal_current_palette_style",
        "thermal_gain_mode",
        "thermal_isotherm_state",
        "thermal_isotherm_upper_limit",
        "thermal_isotherm_lower_limit",
    }
)
RANGES: Final[dict[str, tuple[float, float]]] = {
    "height_limit": (20, 1500),
    "rth_altitude": (20, 1500),
    "commander_flight_height": (2, 3000),
    "rc_lost_action": (0, 2),
    "night_lights_state": (0, 1),
    "rth_mode": (0, 1),
    "commander_mode_lost_action": (0, 1),
    "exit_wayline_when_rc_lost": (0, 1),
}


def answer(gw: SimGateway, msg: Message) -> None:
    """Apply the `property/set` message `msg` to `gw` and publish its reply."""
    values = gw.data_of(msg)
    out: dict[str, Any] = {}
    if any(k in THERMAL_PROPERTIES for k in values):
        for key, value in values.items():
            if key != "payload_index":
                out[key] = {"result": _set_thermal(gw, values, key, value)}
    else:
        for key, value in values.items():
            out[key] = {"result": _set_property(gw, key, value)}
    gw.messages.reply_property_set(msg, out)


def in_range(key: str, value: Any) -> bool:
    """False when `key` has a range in :data:`RANGES` and `value` is not a number inside it."""
    bounds = RANGES.get(key)
    if bounds is None:
        return True
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and bounds[0] <= value <= bounds[1]
    )


def _set_property(gw: SimGateway, key: str, value: Any) -> int:
    if not in_range(key, value):
        return codes.PROPERTY_FAILED
    if key in AIRCRAFT_OSD_PROPERTIES:
        current = gw.aircraft_props.get(key)
        if isinstance(current, dict):
            if not isinstance(value, dict):
                return codes.PROPERTY_FAILED
            current.update(value)
        else:
            gw.aircraft_props[key] = value
        return codes.PROPERTY_OK
    if key in AIRCRAFT_STATE_PROPERTIES:
        gw.messages.send_state(
            {key: value}, sn=gw.aircraft_sn, need_reply=gw.kind is DeviceKind.DOCK
        )
        return codes.PROPERTY_OK
    return gw.set_gateway_property(key, value)


def _set_thermal(gw: SimGateway, values: dict[str, Any], key: str, value: Any) -> int:
    index = values.get("payload_index", gw.product.camera_index)
    gimbal = gw.aircraft_props.get(index) if isinstance(index, str) else None
    if not gw.product.thermal or not isinstance(gimbal, dict) or key not in gimbal:
        return codes.PROPERTY_FAILED
    gimbal[key] = value
    return codes.PROPERTY_OK
