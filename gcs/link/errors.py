"""Errors of the MQTT link: one family to catch, each carrying what its handler needs."""

from __future__ import annotations


class LinkError(Exception):
    """Base of every link error."""


class NotConnected(LinkError):
    """The broker connection is down and the operation cannot wait for it."""


class CommandError(LinkError):
    """A command to a device did not succeed.

    Attributes:
        gateway_sn: the gateway it was sent to.
        method: the service method (or "property/set").
        code: the DJI result code (-1 for a malformed reply, 0 never).
        detail, detail_zh: what the code means, in English and Chinese.
    """

    def __init__(
        self, gateway_sn: str, method: str, code: int, detail: str, detail_zh: str = ""
    ) -> None:
        super().__init__(f"{method} on {gateway_sn} failed with code {code}: {detail}")
        self.gateway_sn = gateway_sn
        self.method = method
        self.code = code
        self.detail = detail
        self.detail_zh = detail_zh or detail


class CommandTimeout(CommandError):
    """No reply after every retry (3 s per attempt, 20 s for live services; 3 sends)."""

    def __init__(self, gateway_sn: str, method: str, attempts: int, code: int) -> None:
        super().__init__(
            gateway_sn, method, code, f"no reply after {attempts} attempts; is the device online?"
        )
        self.attempts = attempts
