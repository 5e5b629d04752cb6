"""Onboarding payloads: `update_topo` (§2.1) and the dock's organisation-binding requests (§2.3).

`parse_*` functions take a decoded Message's `data` and return frozen dataclasses, raising
`PayloadError` (naming the field) for wrong shapes. `*_output` functions build what the cloud
answers, in wire form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gcs.protocol.models import ModelKey


class PayloadError(ValueError):
    """The `data` of a message has the wrong shape; `field` is a dotted path to the fault."""

    def __init__(self, method: str, field: str, reason: str) -> None:
        super().__init__(f"{method}: {field}: {reason}")
        self.method = method
        self.field = field
        self.reason = reason


def _obj(method: str, data: Any, where: str = "data") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadError(method, where, f"must be an object, got {type(data).__name__}")
    return data


def _int(method: str, obj: dict[str, Any], key: str, where: str) -> int:
    """Ints that DJI sometimes sends as strings ("3" in docs examples)."""
    value = obj.get(key)
    if isinstance(value, bool):
        raise PayloadError(method, f"{where}.{key}", "must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise PayloadError(method, f"{where}.{key}", f"must be an integer, got {value!r}")


def _str(method: str, obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise PayloadError(method, f"{where}.{key}", f"must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class SubDevice:
    sn: str
    model_key: ModelKey
    index: str = ""
    thing_version: str = ""


@dataclass(frozen=True, slots=True)
class UpdateTopo:
    model_key: ModelKey
    thing_version: str
    sub_devices: tuple[SubDevice, ...]


def _model(method: str, obj: dict[str, Any], where: str) -> ModelKey:
    return ModelKey(
        _int(method, obj, "domain", where),
        _int(method, obj, "type", where),
        _int(method, obj, "sub_type", where),
    )


def parse_update_topo(data: Any) -> UpdateTopo:
    """Parse `update_topo` data. An empty `sub_devices` means the aircraft went offline."""
    m = "update_topo"
    obj = _obj(m, data)
    version = obj.get("thing_version", obj.get("version", ""))
    subs_raw = obj.get("sub_devices", [])
    if subs_raw is None:
        subs_raw = []
    if not isinstance(subs_raw, list):
        raise PayloadError(m, "data.sub_devices", "must be an array")
    subs = []
    for i, raw in enumerate(subs_raw):
        where = f"data.sub_devices[{i}]"
        sub = _obj(m, raw, where)
        subs.append(
            SubDevice(
                sn=_str(m, sub, "sn", where),
                model_key=_model(m, sub, where),
                index=str(sub.get("index") or ""),
                thing_version=str(sub.get("thing_version") or ""),
            )
        )
    return UpdateTopo(_model(m, obj, "data"), str(version), tuple(subs))


def update_topo_data(
    model_key: ModelKey, thing_version: str, sub_devices: list[SubDevice]
) -> dict[str, Any]:
    """Wire form of an update_topo (used by simulators and tests)."""
    return {
        "domain": model_key.domain,
        "type": model_key.type,
        "sub_type": model_key.sub_type,
        "device_secret": "",
        "nonce": "",
        "thing_version": thing_version,
        "sub_devices": [
            {
                "sn": s.sn,
                "domain": s.model_key.domain,
                "type": s.model_key.type,
                "sub_type": s.model_key.sub_type,
                "index": s.index,
                "device_secret": "",
                "nonce": "",
                "thing_version": s.thing_version,
            }
            for s in sub_devices
        ],
    }


# -- airport_bind_status ---------------------------------------------------------------------


def parse_bind_status(data: Any) -> list[str]:
    """SNs whose binding the dock asks about (`devices[]{sn}`, at most 2)."""
    m = "airport_bind_status"
    obj = _obj(m, data)
    devices = obj.get("devices")
    if not isinstance(devices, list):
        raise PayloadError(m, "data.devices", "must be an array")
    return [
        _str(m, _obj(m, d, f"data.devices[{i}]"), "sn", f"data.devices[{i}]")
        for i, d in enumerate(devices)
    ]


@dataclass(frozen=True, slots=True)
class BindState:
    sn: str
    bound: bool
    organization_id: str = ""
    organization_name: str = ""
    callsign: str = ""


def bind_status_output(states: list[BindState]) -> dict[str, Any]:
    return {
        "bind_status": [
            {
                "sn": s.sn,
                "is_device_bind_organization": s.bound,
                "organization_id": s.organization_id,
                "organization_name": s.organization_name,
                "device_callsign": s.callsign,
            }
            for s in states
        ]
    }


# -- airport_organization_get ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrganizationGet:
    binding_code: str
    organization_id: str


def parse_organization_get(data: Any) -> OrganizationGet:
    m = "airport_organization_get"
    obj = _obj(m, data)
    return OrganizationGet(
        _str(m, obj, "device_binding_code", "data"),
        _str(m, obj, "organization_id", "data", required=False),
    )


def organization_get_output(name: str) -> dict[str, Any]:
    return {"organization_name": name}


# -- airport_organization_bind ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BindRequest:
    sn: str
    binding_code: str
    organization_id: str
    callsign: str
    model_key: str


def parse_organization_bind(data: Any) -> list[BindRequest]:
    m = "airport_organization_bind"
    obj = _obj(m, data)
    items = obj.get("bind_devices")
    if not isinstance(items, list):
        raise PayloadError(m, "data.bind_devices", "must be an array")
    out = []
    for i, raw in enumerate(items):
        w = f"data.bind_devices[{i}]"
        d = _obj(m, raw, w)
        key = _str(m, d, "device_model_key", w, required=False)
        if key:
            try:
                ModelKey.parse(key)
            except ValueError as exc:
                raise PayloadError(m, f"{w}.device_model_key", str(exc)) from None
        out.append(
            BindRequest(
                sn=_str(m, d, "sn", w),
                binding_code=_str(m, d, "device_binding_code", w, required=False),
                organization_id=_str(m, d, "organization_id", w, required=False),
                callsign=_str(m, d, "device_callsign", w, required=False),
                model_key=key,
            )
        )
    return out


def organization_bind_output(errors: dict[str, int]) -> dict[str, Any]:
    """`err_infos[]{sn, err_code}`; err_code 0 = bound."""
    return {"err_infos": [{"sn": sn, "err_code": code} for sn, code in errors.items()]}


# -- config ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigFields:
    ntp_server_host: str
    ntp_server_port: int
    app_id: str
    app_key: str
    app_license: str

    def to_data(self) -> dict[str, Any]:
        return {
            "ntp_server_host": self.ntp_server_host,
            "ntp_server_port": self.ntp_server_port,
            "app_id": self.app_id,
            "app_key": self.app_key,
            "app_license": self.app_license,
        }


def parse_config_request(data: Any) -> tuple[str, str]:
    """(config_type, config_scope) of a `config` request (`"json"`, `"product"`)."""
    m = "config"
    obj = _obj(m, data)
    return (
        _str(m, obj, "config_type", "data", required=False) or "json",
        _str(m, obj, "config_scope", "data", required=False) or "product",
    )
