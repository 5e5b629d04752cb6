"""The DJI HTTP answer shape (protocol §8.1) and the error that handlers raise.

Every answer is ``{"code": int, "message": str, "data": ...}`` with ``code`` 0 on success. A
refused request raises `ApiError(status, message)`; the middleware in `gcs.web.app` turns it
into the same envelope with ``code`` = the HTTP status. 401 is reserved for a missing, invalid
or expired access token, because Pilot logs out of the platform on a 401.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


class ApiError(Exception):
    """A request we refuse: HTTP `status` and a sentence saying what to do.

    `code` is the envelope's code when it is not the HTTP status: a DJI result code (a device
    refused or failed a command, the station refused it with one of its 2xxxxx codes).
    """

    def __init__(self, status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def _dumps(doc: Any) -> str:
    return orjson.dumps(doc).decode()


def ok(data: Any = None, *, status: int = 200) -> web.Response:
    """A success envelope (``data`` None becomes ``{}``)."""
    return web.json_response(
        {"code": 0, "message": "success", "data": {} if data is None else data},
        status=status,
        dumps=_dumps,
    )


def failure(status: int, message: str, code: int | None = None) -> web.Response:
    """An error envelope with ``code`` = `code`, else `status`."""
    return web.json_response(
        {"code": status if code is None else code, "message": message, "data": {}},
        status=status,
        dumps=_dumps,
    )
