"""The embedded object store as a runtime component (see gcs/runtime.py)."""

from __future__ import annotations

from gcs.station.bus import LogEntry
from gcs.station.core import Endpoint, Station, now_ms
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

    def notify(level: str, message: str) -> None:
        station.bus.publish(LogEntry(now_ms(), "storage", level, message))

    server = await start_s3_server(
        s.station.host,
        s.storage.port,
        data_dir=station.data_dir,
        settings=s,
        access=station.storage,
        notify=notify,
    )
    return S3Component(server, server.access.endpoint or server.url)
