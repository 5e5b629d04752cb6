"""The embedded object store as a runtime component (see gcs/runtime.py)."""

from __future__ import annotations

from gcs.station.core import Endpoint, Station
from gcs.web.s3.app import S3Server, start_s3_server


class S3Component:
    def __init__(self, server: S3Server | None, endpoint: str) -> None:
        self.server = server
        self.endpoint = endpoint

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint("s3", self.endpoint)]

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()


async def start_component(station: Station) -> S3Component:
    """Serve the embedded store on `storage.port`, sharing the station's credentials.

    With an external store configured (`storage.external_endpoint`), nothing is served here:
    devices are sent to that endpoint.
    """
    s = station.settings
    if s.storage.external_endpoint:
        return S3Component(None, s.storage.external_endpoint)
    server = await start_s3_server(
        s.station.host,
        s.storage.port,
        data_dir=station.data_dir,
        settings=s,
        access=station.storage,
    )
    return S3Component(server, server.access.endpoint or server.url)
