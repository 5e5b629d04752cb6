"""Broker addresses: `mqtt://user:pass@host:port` (or `mqtts://` for TLS)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    host: str
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False

    @classmethod
    def parse(cls, text: str) -> BrokerUrl:
        """Parse a broker URL. Raises ValueError saying what is wrong."""
        parts = urlsplit(text if "://" in text else f"mqtt://{text}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL must start with mqtt:// or mqtts://, got {text!r}")
        if not parts.hostname:
            raise ValueError(f"broker URL has no host: {text!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"broker URL has a bad port: {text!r}") from None
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            tls=tls,
        )

    def __str__(self) -> str:
        auth = ""
        if self.username:
            auth = quote(self.username, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return f"{'mqtts' if self.tls else 'mqtt'}://{auth}{self.host}:{self.port}"

    def redacted(self) -> str:
        """The URL without its password, for logs and status lines."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"
