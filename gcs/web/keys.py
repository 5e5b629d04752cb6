"""Typed keys of the objects the web application shares (no globals: tests build their own)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from gcs.station.core import Station
from gcs.web.tokens import TokenSigner

if TYPE_CHECKING:
    from gcs.web.app import OriginPolicy
    from gcs.web.feed import TopologyCache
    from gcs.web.login_guard import LoginGuard
    from gcs.web.tls import TlsFiles
    from gcs.web.ws import WsHub

STATION = web.AppKey("station", Station)
SIGNER = web.AppKey("signer", TokenSigner)
HUB: web.AppKey[WsHub] = web.AppKey("hub")
TLS: web.AppKey[TlsFiles | None] = web.AppKey("tls")
TOPOLOGY_CACHE: web.AppKey[TopologyCache] = web.AppKey("topology_cache")
ORIGINS: web.AppKey[OriginPolicy] = web.AppKey("origins")
LOGIN_GUARD: web.AppKey[LoginGuard] = web.AppKey("login_guard")
