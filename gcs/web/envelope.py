"""The DJI HTTP answer shape (protocol §8.1) and the error that handlers raise.

Every answer is ``{"code": int, "message": str, "data": ...}`` with ``code`` 0 on success. A
refused request raises `ApiError(status, message)`; the middleware in `gcs.web.app` turns it
into the same envelope with ``code`` = `status` (or the DJI code it carries). Pilot's endpoints
answer with HTTP `status`; web-console endpoints with HTTP 200, as DJI's backend does
(`gcs.web.console`). 401 is reserved for a missing, invalid or expired access token, because
Pilot logs out of the platform on a 401 (and web consoles go back to their login page).
"""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

MAX_JSON_BODY = 64 * 1024
BODY_TIMEOUT_S = 15.0


class ApiError(Exception):
    """A request we refuse: HTTP `status` and a sentence saying what to do.

    `code` is the envelope's code when it is not the HTTP status: a DJI result code (a device
    refused or failed a command, the station refused it with one of its 2xxxxx codes).
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: int | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


def local_time(ms: int | None) -> str | None:
    """A time the way DJI's demo web console shows and sorts it ("2024-05-01 14:03:09", the
    station's local time); None for no time."""
    if not ms:
        return None
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _dumps(doc: Any) -> str:
    return orjson.dumps(doc).decode()


def ok(data: Any = None, *, status: int = 200) -> web.Response:
    """A success envelope (``data`` None becomes ``{}``)."""
    return web.json_response(
        {"code": 0, "message": "success", "data": {} if data is None else data},
        status=status,
        dumps=_dumps,
    )


def failure(
    status: int, message: str, code: int | None = None, *, http_status: int | None = None
) -> web.Response:
    """An error envelope with ``code`` = `code`, else `status`, sent with HTTP `http_status`
    (default `status`; web-console endpoints answer 200, see `gcs.web.console`)."""
    return web.json_response(
        {"code": status if code is None else code, "message": message, "data": {}},
        status=status if http_status is None else http_status,
        dumps=_dumps,
    )


async def read_body(
    request: web.Request, limit: int = MAX_JSON_BODY, timeout_s: float = BODY_TIMEOUT_S
) -> bytes:
    """The whole request body, however many TCP segments or chunks it arrives in.

    Raises:
        ApiError: 413 when it is (or announces to be) larger than `limit`; 408 when it does
            not arrive within `timeout_s`; 400 when the client closes the connection first.
    """
    too_large = ApiError(413, f"the request body is larger than {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    buffer = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                chunk = await request.content.read(limit + 1 - len(buffer))
                if not chunk:
                    break
                buffer += chunk
                if len(buffer) > limit:
                    raise too_large
    except TimeoutError:
        raise ApiError(
            408, f"the request body did not arrive within {timeout_s:g} s; send it again"
        ) from None
    except (ConnectionError, HttpProcessingError) as exc:
        raise ApiError(400, f"the request body could not be read: {exc}") from None
    return bytes(buffer)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, read whole (an empty body counts as `{}`).

    Raises:
        ApiError: 400 when the body is not a JSON object; 413 or 408 as `read_body`.
    """
    raw = await read_body(request)
    if not raw.strip():
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return doc
