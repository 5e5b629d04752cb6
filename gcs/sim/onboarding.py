"""Onboarding of a simulated dock (protocol §2.3).

`config` (the licence fields come straight in `data`) → `airport_bind_status` → if the dock or
its aircraft is not bound: `airport_organization_get` with the binding code →
`airport_organization_bind` for both. The gateway then sends `update_topo`; an RC (Pilot 2)
does none of this. A refused step raises :class:`~gcs.sim.gateway.OnboardError` and the
gateway tries again after `Timing.onboard_retry_s`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gcs.sim.gateway import OnboardError
from gcs.sim.messages import result_of

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock


async def onboard(dock: SimDock) -> None:
    """Run the steps before `update_topo`; `dock.stage` names the step under way.

    Raises:
        OnboardError: the cloud refused a step (the gateway retries later).
        LinkError: the connection was lost meanwhile.
    """
    dock.stage = "config"
    reply = await dock.messages.request(
        "config", {"config_type": "json", "config_scope": "product"}
    )
    data = dock.data_of(reply)
    missing = [k for k in ("app_id", "app_key", "app_license") if k not in data]
    if missing:
        # The licence fields go directly in `data`, with no result/output wrapper (§6).
        result = data.get("result")
        raise OnboardError(
            "config",
            f"reply lacks {', '.join(missing)} directly in data (result {result!r})",
            result if isinstance(result, int) else None,
        )
    host = data.get("ntp_server_host")
    port = data.get("ntp_server_port", 123)
    if isinstance(host, str) and host:
        dock.ntp_server = (host, port if isinstance(port, int) else 123)
    dock.app = {k: str(data.get(k, "")) for k in ("app_id", "app_key", "app_license")}

    dock.stage = "airport_bind_status"
    result, output = result_of(
        await dock.messages.request(
            "airport_bind_status",
            {"devices": [{"sn": dock.aircraft_sn}, {"sn": dock.sn}]},
        )
    )
    if result != 0:
        raise OnboardError(dock.stage, f"cloud answered result {result}", result)
    states = output.get("bind_status") if isinstance(output, dict) else None
    bound = {
        s.get("sn"): s.get("is_device_bind_organization") in (True, 1)
        for s in (states if isinstance(states, list) else [])
        if isinstance(s, dict)
    }
    if bound.get(dock.sn) and bound.get(dock.aircraft_sn):
        dock.bound = True
        return
    code, org = dock.cfg.binding_code, dock.cfg.organization_id
    if not code:
        raise OnboardError(dock.stage, "not bound to an organisation and no binding code given")

    dock.stage = "airport_organization_get"
    result, output = result_of(
        await dock.messages.request(
            "airport_organization_get",
            {"device_binding_code": code, "organization_id": org},
        )
    )
    if result != 0:
        raise OnboardError(dock.stage, f"cloud answered result {result}", result)
    if isinstance(output, dict):
        dock.organization_name = str(output.get("organization_name", ""))

    dock.stage = "airport_organization_bind"
    devices = [
        (dock.sn, dock.callsign, dock.model_key),
        (dock.aircraft_sn, dock.aircraft_callsign, dock.aircraft_model_key),
    ]
    result, output = result_of(
        await dock.messages.request(
            "airport_organization_bind",
            {
                "bind_devices": [
                    {
                        "device_binding_code": code,
                        "organization_id": org,
                        "device_callsign": callsign,
                        "sn": sn,
                        "device_model_key": key,
                    }
                    for sn, callsign, key in devices
                ]
            },
        )
    )
    if result != 0:
        raise OnboardError(dock.stage, f"cloud answered result {result}", result)
    errors = output.get("err_infos") if isinstance(output, dict) else None
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, dict) and item.get("err_code", 0) != 0:
            err = item.get("err_code")
            raise OnboardError(dock.stage, f"{item.get('sn')} refused with {err}", err)
    dock.bound = True
