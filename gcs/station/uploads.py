"""Upload credentials (protocol §6 `storage_config_get`, Pilot's `/sts`): the STS object.

Each gateway gets its own key folder, so a dock can neither read nor overwrite another dock's
uploads; Pilot users get their workspace's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode
from gcs.station.capability import Capability, RequestHandler
from gcs.station.devices import RequestRefused
from gcs.station.storage import ExternalStoreError, ScopeError, sts_grant

#: storage_config_get `module` → key folder (0 media, 1 PSDK UI resources).
MODULE_FOLDERS = {0: "media", 1: "psdk"}


class Uploads(Capability):
    name = "uploads"

    def requests(self) -> Mapping[str, RequestHandler]:
        return {"storage_config_get": self._storage_config}

    async def _storage_config(self, msg: Message) -> dict[str, Any]:
        data = msg.data if isinstance(msg.data, dict) else {}
        module = data.get("module", 0)
        folder = MODULE_FOLDERS.get(module if isinstance(module, int) else -1)
        if folder is None:
            raise RequestRefused(
                StationCode.INVALID_PARAMETER, f"unknown storage module {module!r}"
            )
        return await self.sts_for(f"{folder}/{msg.sn}/")

    async def sts_for(self, prefix: str, *, read_only: bool = False) -> dict[str, Any]:
        """The DJI STS object for uploads under `prefix`.

        Raises:
            RequestRefused: the store cannot issue credentials.
        """
        st = self.station
        if st.storage is None:
            raise RequestRefused(StationCode.INTERNAL_ERROR, "object storage is not available")
        try:
            grant = await sts_grant(
                st.storage,
                prefix=prefix,
                ttl_s=st.settings.storage.sts_ttl_s,
                read_only=read_only,
            )
        except (ScopeError, ExternalStoreError) as exc:
            raise RequestRefused(
                StationCode.INTERNAL_ERROR, f"no storage credentials: {exc}"
            ) from exc
        return grant.to_dji()
