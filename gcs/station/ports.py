"""Which of the station's ports another program already holds, and which setting moves it.

On a new machine a port the station needs is often taken (another broker on 1883, a web
server on 8080, MinIO on 9000). The start error then names the port, the service, the
setting in ``gcs.toml`` and the command-line option that change it. `busy_port_advice` finds
the port in the error (an ``OSError`` with ``EADDRINUSE`` anywhere in its chain, or the text
of the broker child's error) and matches it with the settings.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gcs.store.settings import Settings

__all__ = [
    "ADVICE_ANY",
    "ADVICE_KNOWN",
    "ADVICE_PORT",
    "SERVICES",
    "BusyPort",
    "busy_port",
    "busy_port_advice",
    "port_in_use",
]

_IN_USE = ("address already in use", "address in use", "only one usage of each socket address")
_PORT_IN_TEXT = (
    re.compile(r"\(\s*'[^']*'\s*,\s*(\d{1,5})\s*\)"),  # asyncio: address ('0.0.0.0', 1883)
    re.compile(r"(?:port|:)\s*(\d{2,5})\b"),
)


@dataclass(frozen=True)
class BusyPort:
    port: int
    service: str  # "MQTT broker", "HTTP (Pilot web, API)", ...
    setting: str  # "[mqtt] port" in gcs.toml
    option: str  # "--mqtt-port"


# The advice texts (English; a front end passes its translation function to
# `busy_port_advice`, and its catalogue has these exact strings).
ADVICE_KNOWN = (
    "Port {port} ({service}) is already used by another program (another GCS station, a broker "
    "or web server?). Close it, or set another port: {setting} in {path}, or start with "
    "{option} PORT. Devices already set up with the old port must be given the new one."
)
ADVICE_PORT = (
    "Port {port} is already used by another program (another GCS station?). Close it, or change "
    "the ports in {path} ([mqtt] port, [http] port/https_port, [storage] port) and start again."
)
ADVICE_ANY = (
    "A port the station needs is already used by another program (another GCS station?). Close "
    "it, or change the ports in {path} ([mqtt] port, [http] port/https_port, [storage] port) "
    "and start again."
)
SERVICES = ("MQTT broker", "HTTP (Pilot web, API)", "HTTPS", "S3 object store", "NTP")


def port_in_use(exc: BaseException) -> bool:
    """True when `exc` (or an error it was raised from) says an address is already in use."""
    return _walk(exc)[0]


def busy_port(exc: BaseException) -> int | None:
    """The port the error names as already in use, if it names one."""
    return _walk(exc)[1]


def _walk(exc: BaseException) -> tuple[bool, int | None]:
    seen: BaseException | None = exc
    in_use = False
    port: int | None = None
    while seen is not None:
        text = str(seen).lower()
        hit = (isinstance(seen, OSError) and seen.errno == errno.EADDRINUSE) or any(
            s in text for s in _IN_USE
        )
        if hit:
            in_use = True
            for line in text.splitlines():
                if port is None and any(s in line for s in _IN_USE):
                    port = _port_in(line)
            if port is None:
                port = _port_in(text)
        seen = seen.__cause__ or seen.__context__
    return in_use, port


def _port_in(text: str) -> int | None:
    for pattern in _PORT_IN_TEXT:
        match = pattern.search(text)
        if match and 0 < int(match.group(1)) < 65536:
            return int(match.group(1))
    return None


def _candidates(settings: Settings) -> list[BusyPort]:
    return [
        BusyPort(settings.mqtt.port, "MQTT broker", "[mqtt] port", "--mqtt-port"),
        BusyPort(settings.http.port, "HTTP (Pilot web, API)", "[http] port", "--http-port"),
        BusyPort(settings.http.https_port, "HTTPS", "[http] https_port", "--https-port"),
        BusyPort(settings.storage.port, "S3 object store", "[storage] port", "--s3-port"),
        BusyPort(settings.ntp.port, "NTP", "[ntp] port", "--ntp-port"),
    ]


def busy_port_advice(
    exc: BaseException,
    settings: Settings,
    settings_path: Path,
    translate: Callable[[str], str] = lambda text: text,
) -> str | None:
    """What to tell the operator when the start failed on a taken port; None otherwise.

    Names the service, the setting of `settings_path` and the option that move it when the
    port can be matched with the settings; a general advice when it cannot. `translate` maps
    the English texts (`ADVICE_*`, `SERVICES`) to the operator's language.
    """
    in_use, port = _walk(exc)
    if not in_use:
        return None
    match = next((c for c in _candidates(settings) if port is not None and c.port == port), None)
    if match is not None:
        return translate(ADVICE_KNOWN).format(
            port=match.port,
            service=translate(match.service),
            setting=match.setting,
            path=settings_path,
            option=match.option,
        )
    if port is not None:
        return translate(ADVICE_PORT).format(port=port, path=settings_path)
    return translate(ADVICE_ANY).format(path=settings_path)
