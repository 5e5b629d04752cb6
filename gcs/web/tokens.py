"""Access tokens for Pilot: HMAC-SHA256 signed claims with an expiry.

A token is ``gcs1.<claims>.<signature>``: the claims are base64url JSON (user id, user name,
role, workspace, token epoch, issued-at and expiry in epoch seconds, and how the user logged in:
web console or Pilot) and the signature is
base64url HMAC-SHA256 over ``gcs1.<claims>`` with the station's `token_secret`. `verify` checks
the signature in constant time before it looks at the claims, then the expiry; anything else
wrong (shape, encoding, types) is "malformed". The epoch lets a password change end the user's
sessions: the caller compares it with the user's current epoch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

PREFIX = "gcs1"
VERIFIED_CACHE = 4096


class TokenError(Exception):
    """The token cannot be used; `reason` is "missing", "malformed", "signature" or "expired"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    username: str
    role: str
    workspace_id: str
    epoch: int
    issued_at: int
    expires_at: int
    #: how the user logged in (§8.3 `flag`): 1 a web console, 2 Pilot; 0 not said (older tokens)
    user_type: int = 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or len(text) > 4096:
        raise ValueError("bad length")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and verifies tokens with one secret; keeps a cache of verified tokens (one loop)."""

    def __init__(
        self, secret: str, ttl_s: int = 86400, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise ValueError("the token secret must not be empty")
        self._key = secret.encode()
        self.ttl_s = max(60, int(ttl_s))
        self._clock = clock
        # Tokens already verified (Pilot sends the same one with every call); expiry is still
        # checked on every use. Bounded: cleared when full.
        self._verified: dict[str, Claims] = {}

    def _sign(self, signed_part: str) -> str:
        return _b64(hmac.new(self._key, signed_part.encode("ascii"), hashlib.sha256).digest())

    def issue(
        self,
        *,
        user_id: str,
        username: str,
        role: str,
        workspace_id: str,
        epoch: int,
        user_type: int = 0,
    ) -> str:
        """Return a new token valid for `ttl_s` seconds from now (`user_type` as in `Claims`)."""
        now = int(self._clock())
        claims: dict[str, object] = {
            "uid": user_id,
            "name": username,
            "role": role,
            "ws": workspace_id,
            "ep": epoch,
            "iat": now,
            "exp": now + self.ttl_s,
        }
        if user_type:
            claims["ut"] = user_type
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signed = f"{PREFIX}.{body}"
        return f"{signed}.{self._sign(signed)}"

    def verify(self, token: str | None) -> Claims:
        """Return the claims of a well-signed, unexpired token.

        Raises:
            TokenError: missing, malformed, bad signature, or expired.
        """
        if not token:
            raise TokenError("missing", "no access token was sent (header x-auth-token)")
        known = self._verified.get(token)
        if known is not None:
            if self._clock() >= known.expires_at:
                del self._verified[token]
                raise TokenError("expired", "the access token has expired; log in again")
            return known
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> Claims:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise TokenError("malformed", "the access token is not a token of this station")
        expected = self._sign(f"{parts[0]}.{parts[1]}")
        if not hmac.compare_digest(expected.encode(), parts[2].encode("ascii", "replace")):
            raise TokenError("signature", "the access token's signature is wrong")
        try:
            raw = json.loads(_unb64(parts[1]))
            claims = Claims(
                user_id=_str(raw["uid"]),
                username=_str(raw["name"]),
                role=_str(raw["role"]),
                workspace_id=_str(raw["ws"]),
                epoch=_int(raw["ep"]),
                issued_at=_int(raw["iat"]),
                expires_at=_int(raw["exp"]),
                user_type=_int(raw.get("ut", 0)),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise TokenError("malformed", "the access token's claims are unreadable") from exc
        if self._clock() >= claims.expires_at:
            raise TokenError("expired", "the access token has expired; log in again")
        return claims


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("not an integer")
    return value
