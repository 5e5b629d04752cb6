"""Upload credentials (protocol §6 `storage_config_get`, Pilot's `/sts`): the STS object.

Each gateway gets its own key folder, so a dock can neither read nor overwrite another dock's
uploads; Pilot users get their workspace's folder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from gcs.protocol.envelope import Message
from gcs.protocol.errors import StationCode
from gcs.station.capability import Capability, RequestHandler
from gcs.station.devices import RequestRefused
from gcs.station.storage import ExternalStoreError, ScopeError, sts_grant

log = logging.getLogger(__name__)

#: What DJI clients accept as an STS `provider` (protocol §6).
PROVIDERS = ("minio", "aws", "ali")

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

    async def sts_for(
        self, prefix: str, *, read_only: bool = False, client: str | None = None
    ) -> dict[str, Any]:
        """The DJI STS object for uploads under `prefix`, naming the provider set for the
        client kind (`client` "dock" or "pilot"; by default Pilot for its `pilot/` folder).

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
        doc = grant.to_dji()
        kind = client or ("pilot" if prefix.startswith("pilot/") else "dock")
        doc["provider"] = self.provider_for(kind)
        return doc

    def provider_for(self, kind: str) -> str:
        """`storage.dock_provider` / `storage.pilot_provider`, or "minio" when it is not one
        DJI clients know (logged)."""
        storage = self.station.settings.storage
        value = storage.pilot_provider if kind == "pilot" else storage.dock_provider
        if value in PROVIDERS:
            return value
        log.warning(
            "storage.%s_provider = %r is not one of %s; devices are told 'minio'",
            kind,
            value,
            ", ".join(PROVIDERS),
        )
        return "minio"
