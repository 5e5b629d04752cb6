"""The embedded S3-compatible object store's HTTP front (path-style, SigV4).

Public surface: `init_app(store, access)` builds the aiohttp application; `start_s3_server`
opens the store under a data directory and serves it, returning once it accepts connections.
"""

from __future__ import annotations

from gcs.web.s3.app import S3Server, init_app, start_s3_server

__all__ = ["S3Server", "init_app", "start_s3_server"]
