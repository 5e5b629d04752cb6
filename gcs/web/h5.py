"""The H5 pages Pilot opens (resources/h5/), their configuration, and the CA download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from gcs.version import version
from gcs.web.envelope import ok
from gcs.web.keys import STATION, TLS
from gcs.web.resources import h5_dir

NO_CACHE = {"Cache-Control": "no-cache"}


def page_config(request: web.Request) -> dict[str, Any]:
    """What the H5 pages need before login: licence triple, names and module parameters."""
    s = request.app[STATION].settings
    p = s.pilot
    return {
        "app_id": s.dji.app_id,
        "app_key": s.dji.app_key,
        "app_license": s.dji.app_license,
        "licence_configured": bool(s.dji.app_id and s.dji.app_key and s.dji.app_license),
        "platform_name": s.station.platform_name,
        "workspace_name": s.station.workspace_name,
        "workspace_desc": s.station.workspace_desc,
        "element_prefix": p.element_prefix,
        "media": {
            "autoUploadPhoto": p.auto_upload_photo,
            "autoUploadPhotoType": 1 if p.auto_upload_photo_type else 0,
            "autoUploadVideo": p.auto_upload_video,
        },
        "liveshare_publish_type": p.liveshare_publish_type,
        "third_party_app_package": p.third_party_app_package,
        "third_party_app_url": p.third_party_app_url,
        "ws_path": "/api/v1/ws",
        "ca_url": "/ca.crt",
        "version": version(),
    }


async def config(request: web.Request) -> web.Response:
    response = ok(page_config(request))
    response.headers.update(NO_CACHE)
    return response


async def ca_pem(request: web.Request) -> web.Response:
    tls = request.app[TLS]
    if tls is None:
        raise web.HTTPNotFound(text="HTTPS is not enabled on this station")
    return web.Response(
        body=tls.ca_pem(),
        content_type="application/x-x509-ca-cert",
        headers={"Content-Disposition": 'attachment; filename="gcs-ca.crt"'},
    )


async def ca_der(request: web.Request) -> web.Response:
    tls = request.app[TLS]
    if tls is None:
        raise web.HTTPNotFound(text="HTTPS is not enabled on this station")
    return web.Response(
        body=tls.ca_der(),
        content_type="application/x-x509-ca-cert",
        headers={"Content-Disposition": 'attachment; filename="gcs-ca.der"'},
    )


def add_routes(app: web.Application, folder: Path | None = None) -> None:
    root = folder or h5_dir()

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(root / "index.html", headers=NO_CACHE)

    async def to_index(request: web.Request) -> web.Response:
        raise web.HTTPFound("/pilot/")

    app.router.add_get("/", to_index)
    app.router.add_get("/pilot", to_index)
    app.router.add_get("/pilot/", index)
    app.router.add_get("/pilot/config.json", config)
    app.router.add_get("/ca.crt", ca_pem)
    app.router.add_get("/ca.der", ca_der)
    app.router.add_static("/pilot/", root, append_version=False)
