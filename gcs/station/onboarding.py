"""Onboarding (protocol §2, §6 `config`): topology, organisation binding, and who flies which RC.

* `update_topo` on `sys/product/{gw}/status`: the gateway and its aircraft come online (the
  broker's topology file follows, so an aircraft's telemetry is accepted once it is claimed);
* `config`: NTP server and the DJI app credentials a device needs before anything else;
* the dock's binding requests (`airport_bind_status`, `airport_organization_get`,
  `airport_organization_bind`);
* `bind_rc()`: Pilot binds its RC to the workspace (HTTP), and the station remembers which user
  flies it — the one rule for both, used by the web API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode
from gcs.protocol.onboarding import ConfigFields, parse_config_request, parse_update_topo
from gcs.station.bus import LogEntry
from gcs.station.capability import Capability, RequestHandler, StatusHandler
from gcs.station.devices import RequestRefused
from gcs.store.users import UserRow

log = logging.getLogger(__name__)


class Onboarding(Capability):
    name = "onboarding"

    def requests(self) -> Mapping[str, RequestHandler]:
        return {
            "config": self._config,
            "airport_bind_status": self._bind_status,
            "airport_organization_get": self._org_get,
            "airport_organization_bind": self._org_bind,
        }

    def statuses(self) -> Mapping[str, StatusHandler]:
        return {"update_topo": self._update_topo}

    async def start(self) -> None:
        st = self.station
        d = st.settings.dji
        if not (d.app_id and d.app_key and d.app_license):
            text = (
                "the DJI app id/key/licence are empty: real docks cannot finish onboarding and "
                "Pilot cannot use the cloud modules. Enter them in Settings (gcs.toml [dji])"
            )
            log.warning(text)
            st.bus.publish(LogEntry(st.now_ms(), "onboarding", "warning", text))

    async def _update_topo(self, msg: Message) -> None:
        topo = parse_update_topo(msg.data)
        await self.station.registry.update_topo(msg.sn, topo)
        self.station.topology_changed()

    async def _config(self, msg: Message) -> dict[str, Any]:
        parse_config_request(msg.data)
        st = self.station
        s = st.settings
        if not (s.dji.app_id and s.dji.app_key and s.dji.app_license):
            text = (
                "a device asked for the DJI app id/key/licence but they are empty: a real dock "
                "cannot finish onboarding. Enter them in Settings (gcs.toml [dji])"
            )
            log.warning("%s (%s)", text, msg.sn)
            st.bus.publish(LogEntry(st.now_ms(), "onboarding", "warning", text, msg.sn))
        return ConfigFields(
            ntp_server_host=st.public_host,
            ntp_server_port=st.ntp.port if st.ntp and st.ntp.port else 123,
            app_id=s.dji.app_id,
            app_key=s.dji.app_key,
            app_license=s.dji.app_license,
        ).to_data()

    async def _bind_status(self, msg: Message) -> dict[str, Any]:
        return self.station.registry.bind_status(msg.data)

    async def _org_get(self, msg: Message) -> dict[str, Any]:
        return self.station.registry.organization_get(msg.data)

    async def _org_bind(self, msg: Message) -> dict[str, Any]:
        return await self.station.registry.organization_bind(msg.sn, msg.data)

    # -- Pilot's RC ------------------------------------------------------------------------

    async def bind_rc(self, sn: str, workspace_id: str, user: UserRow) -> None:
        """Bind Pilot's RC `sn` (and its aircraft) to `workspace_id`, flown by `user`.

        Raises:
            RequestRefused: the device never connected, or the workspace is not the user's.
        """
        st = self.station
        if workspace_id != user.workspace_id:
            raise RequestRefused(
                StationCode.BINDING_FAILED, f"{user.username} is not a member of {workspace_id}"
            )
        if st.registry.view(sn) is None:
            raise RequestRefused(
                StationCode.UNKNOWN_DEVICE,
                f"device {sn} has not connected to the station yet; load the cloud module "
                "(thing) and try again",
            )
        await st.registry.bind_to_workspace(sn, workspace_id)
        if st.users is not None:
            st.users.note_rc(sn, user.id)

    def user_of_rc(self, rc_sn: str) -> tuple[str, str] | None:
        """(user id, user name) of whoever bound the RC, if known."""
        users = self.station.users
        user = users.user_of_rc(rc_sn) if users is not None else None
        return (user.id, user.username) if user is not None else None
