"""Device properties in (protocol §3): every `osd`/`state` message into the telemetry service.

`state` messages that carry a `firmware_version` also update the registry's record of it.
"""

from __future__ import annotations

from gcs.aio import spawn
from gcs.protocol.envelope import Message
from gcs.station.capability import Capability, PropertyHandler


class PropertiesIn(Capability):
    name = "properties"

    def properties(self) -> PropertyHandler:
        return self._on_property

    def _on_property(self, msg: Message) -> None:
        st = self.station
        if msg.kind.value == "state":
            version = msg.data.get("firmware_version") if isinstance(msg.data, dict) else None
            if isinstance(version, str) and version:
                spawn(st.registry.set_firmware(msg.sn, version), name=f"firmware:{msg.sn}")
        st.telemetry.ingest(
            msg.sn, msg.gateway_sn, msg.kind.value, msg.data, msg.timestamp or st.now_ms()
        )
