"""SNTP responder (RFC 4330) so that docks on an offline LAN keep time.

Docks take the NTP host and port from the `config` reply; without synchronised time their flight
tasks fail (error 319008). This answers client-mode (3) requests with a server-mode (4) packet
carrying this machine's clock. With no upstream the laptop *is* the reference: stratum 1,
reference id "LOCL". Malformed or non-client packets are ignored.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
_PACKET = struct.Struct("!BBbbII4sQQQQ")


def to_ntp(t: float) -> int:
    """Unix time (s) → 64-bit NTP timestamp."""
    seconds = int(t) + NTP_EPOCH_OFFSET
    fraction = int((t - int(t)) * (1 << 32)) & 0xFFFFFFFF
    return (seconds << 32) | fraction


def from_ntp(value: int) -> float:
    return (value >> 32) - NTP_EPOCH_OFFSET + (value & 0xFFFFFFFF) / (1 << 32)


def answer(request: bytes, received: float, now: float) -> bytes | None:
    """The server reply to one request packet, or None if it is not an NTP client request.

    Args:
        request: the datagram received.
        received: when it arrived (Unix seconds).
        now: the transmit time to stamp (Unix seconds).
    """
    if len(request) < _PACKET.size:
        return None
    first = request[0]
    version = (first >> 3) & 0x7
    mode = first & 0x7
    if mode != 3 or not 1 <= version <= 4:
        return None
    client_transmit = request[40:48]
    li_vn_mode = (0 << 6) | (version << 3) | 4
    head = struct.pack(
        "!BBbbII4s",
        li_vn_mode,
        1,  # stratum: primary reference (local clock)
        request[2] if 4 <= request[2] <= 17 else 6,  # poll: echo the client's
        -20,  # precision ~1 µs
        0,  # root delay
        0,  # root dispersion
        b"LOCL",
    )
    stamps = struct.pack("!Q", to_ntp(received))  # reference time
    return head + stamps + client_transmit + struct.pack("!QQ", to_ntp(received), to_ntp(now))


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.served = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        received = time.time()
        reply = answer(data, received, time.time())
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
            self.served += 1


class NtpPortError(OSError):
    """Neither the NTP port nor its fallback could be bound; the message says what to do."""


class NtpServer:
    """An SNTP responder bound to `host` on the first free port of `ports` (123, then the
    documented fallback 11123).

    There is no "any free port" last resort: a dock uses the port the `config` reply names,
    so a port chosen at random would only hide the problem. Port 0 is honoured only when it is
    listed on purpose (tests). When the first port is busy and a later one is used, `notice`
    holds a sentence for the operator and `on_notice` (if given) is called with it.
    """

    def __init__(
        self, host: str, ports: list[int], *, on_notice: Callable[[str], None] | None = None
    ) -> None:
        self.host = host
        self.ports = ports
        self.port: int | None = None
        self.notice: str | None = None
        self.on_notice = on_notice
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _Protocol | None = None

    @property
    def served(self) -> int:
        return self._protocol.served if self._protocol else 0

    async def start(self) -> int:
        """Bind and return the port in use.

        Raises:
            NtpPortError: none of the ports could be bound (the message names each port, its
                error and what to do); nothing is bound.
        """
        loop = asyncio.get_running_loop()
        failures: list[str] = []
        for port in dict.fromkeys(self.ports):  # each port once, in order
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    _Protocol, local_addr=(self.host, port), family=socket.AF_INET
                )
            except OSError as exc:
                log.info("NTP: cannot bind %s:%s (%s)", self.host, port, exc)
                failures.append(f"udp {self.host}:{port} ({exc.strerror or exc})")
                continue
            self._transport = transport
            self._protocol = protocol
            self.port = transport.get_extra_info("sockname")[1]
            if failures:
                self._announce(failures)
            return self.port
        raise NtpPortError(
            "NTP: cannot bind " + " nor ".join(failures) + ". Docks need the station's NTP "
            "server: stop the program using that port, or set [ntp] port / fallback_port in "
            "gcs.toml (or --ntp-port) to a free UDP port. / NTP 端口被占用：请关闭占用该端口的"
            "程序，或在 gcs.toml 的 [ntp] 中设置空闲的 port / fallback_port。"
        )

    def _announce(self, failures: list[str]) -> None:
        self.notice = (
            f"NTP served on udp port {self.port} because {'; '.join(failures)} could not be "
            f"bound; docks are told port {self.port} in the config reply"
        )
        log.warning("%s", self.notice)
        if self.on_notice is not None:
            self.on_notice(self.notice)

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
