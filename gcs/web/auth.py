"""Who is calling: the access token of a request, checked against the signer and the users."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gcs.station.core import Station
from gcs.station.records import UserRow
from gcs.web.envelope import ApiError
from gcs.web.keys import SIGNER, STATION
from gcs.web.tokens import Claims, TokenError, TokenSigner

TOKEN_HEADER = "x-auth-token"


@dataclass(frozen=True, slots=True)
class Caller:
    claims: Claims
    user: UserRow


async def check_token(station: Station, signer: TokenSigner, token: str | None) -> Caller:
    """Return the caller of a token.

    Raises:
        ApiError: 401 when the token is missing, forged, tampered with, expired, or belongs
            to a user who no longer exists or changed password since.
    """
    try:
        claims = signer.verify(token)
    except TokenError as exc:
        raise ApiError(401, str(exc)) from exc
    users = station.users
    user = await users.current(claims.user_id) if users is not None else None
    if user is None:
        raise ApiError(401, "the user of this access token no longer exists; log in again")
    if user.token_epoch != claims.epoch:
        raise ApiError(401, "the password was changed since this token was issued; log in again")
    return Caller(claims, user)


async def caller(request: web.Request) -> Caller:
    """The caller of an API request (token from the `x-auth-token` header). Raises ApiError."""
    return await check_token(
        request.app[STATION], request.app[SIGNER], request.headers.get(TOKEN_HEADER)
    )
