"""With fetch_waylines, a dock downloads the prepared KMZ and checks its MD5 before answering."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sim_cloud import Cloud, Mosquitto

from gcs.sim import Fleet, FleetOptions, SimDock

pytestmark = pytest.mark.mosquitto

KMZ = b"PK\x03\x04 not really a kmz, but bytes with an md5" * 100


@pytest.fixture
async def file_server() -> AsyncIterator[str]:
    async def kmz(request: web.Request) -> web.Response:
        return web.Response(body=KMZ, content_type="application/vnd.google-earth.kmz")

    app = web.Application()
    app.router.add_get("/waylines/w.kmz", kmz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("path", "md5", "result"),
    [
        ("/waylines/w.kmz", hashlib.md5(KMZ).hexdigest(), 0),
        ("/waylines/w.kmz", hashlib.md5(KMZ).hexdigest().upper(), 0),
        ("/waylines/w.kmz", "0" * 32, 314005),
        ("/waylines/missing.kmz", hashlib.md5(KMZ).hexdigest(), 314013),
        ("/waylines/w.kmz", "", 314002),
    ],
)
async def test_prepare_downloads_and_checks(
    mosquitto: Mosquitto, cloud: Cloud, file_server: str, path: str, md5: str, result: int
) -> None:
    fleet = Fleet(
        FleetOptions(mosquitto.url, docks=1, binding_code="qwe", seed=61, fetch_waylines=True)
    )
    await fleet.start(timeout_s=10)
    try:
        [dock] = fleet.docks
        assert isinstance(dock, SimDock)
        data = (
            f'{{"flight_id": "fw-1", "execute_time": 0, "task_type": 0, '
            f'"file": {{"url": "{file_server}{path}", "fingerprint": "{md5}"}}}}'
        )
        reply = await cloud.reply_to(dock.sn, cloud.service(dock.sn, "flighttask_prepare", data))
        assert reply.data == {"result": result}
        assert ("fw-1" in dock.prepared) is (result == 0)
        if result == 0:
            assert dock.waylines["fw-1"] == KMZ
    finally:
        await fleet.stop()
