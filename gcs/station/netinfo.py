"""The machine's network addresses: what Pilot and docks must be told to connect to."""

from __future__ import annotations

import ipaddress
import socket

import psutil

from gcs.store.settings import Settings


def lan_addresses() -> list[str]:
    """Every non-loopback, non-link-local IPv4 address of this machine, private ones first."""
    found: list[str] = []
    try:
        interfaces = psutil.net_if_addrs()
    except OSError:
        interfaces = {}
    for addrs in interfaces.values():
        for a in addrs:
            if a.family != socket.AF_INET:
                continue
            ip = ipaddress.IPv4Address(a.address)
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
                continue
            if a.address not in found:
                found.append(a.address)
    found.sort(key=lambda s: (not ipaddress.IPv4Address(s).is_private, s))
    return found


def public_host(settings: Settings) -> str:
    """The address given to devices: the configured one, else the first LAN address.

    Falls back to 127.0.0.1 on a machine with no network (devices on the same machine only).
    """
    if settings.station.public_host:
        return settings.station.public_host
    host = settings.station.host
    if host not in ("", "0.0.0.0", "::"):
        return host
    addresses = lan_addresses()
    return addresses[0] if addresses else "127.0.0.1"
