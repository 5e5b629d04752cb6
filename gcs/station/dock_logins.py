"""Per-dock MQTT logins: one user name and password per dock serial (issue 16).

The shared device login (`mqtt.device_username`) stays the way any new dock gets in: its
connections are bound to the serial they claim (their client id, or their first update_topo),
and cannot take a serial another session holds. A per-dock login ``dock-<SN>`` is bound to that
serial by the broker itself: it can never speak for another device, nobody else can speak for
its serial, and it may replace any connection that does. They live in ``gcs.toml`` under
``[mqtt.dock_logins]`` (serial = password); `broker_logins` feeds them to the broker's auth file.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gcs.store.settings import SETTINGS_FILE, Settings, load_settings, save_settings

if TYPE_CHECKING:
    from gcs.station.core import Station

__all__ = [
    "DockLoginError",
    "broker_logins",
    "dock_username",
    "ensure",
    "ensure_in_file",
    "ensure_on_station",
]

_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PREFIX = "dock-"


class DockLoginError(ValueError):
    """The serial cannot carry a login (the message says why)."""


def dock_username(sn: str) -> str:
    """The MQTT user name of `sn`'s own login."""
    return f"{PREFIX}{sn}"


def _check(sn: str) -> str:
    sn = sn.strip()
    if not _SERIAL.match(sn):
        raise DockLoginError(
            f"{sn!r} is not a dock serial number (letters, digits, '-', '_', '.'; 1-64)"
        )
    return sn


def broker_logins(settings: Settings) -> list[tuple[str, str, Literal["device"], str]]:
    """(user name, password, "device", serial) of every valid per-dock login, sorted."""
    out: list[tuple[str, str, Literal["device"], str]] = []
    for sn, password in sorted(settings.mqtt.dock_logins.items()):
        if isinstance(password, str) and password and _SERIAL.match(sn):
            out.append((dock_username(sn), password, "device", sn))
    return out


def ensure(settings: Settings, sn: str) -> tuple[str, str, bool]:
    """Give `sn` its own login in `settings` (in memory) if it has none.

    Returns:
        (user name, password, created).

    Raises:
        DockLoginError: `sn` is not a serial number.
    """
    sn = _check(sn)
    password = settings.mqtt.dock_logins.get(sn)
    if isinstance(password, str) and password:
        return dock_username(sn), password, False
    alphabet = string.ascii_letters + string.digits
    password = "".join(secrets.choice(alphabet) for _ in range(20))
    settings.mqtt.dock_logins = {**settings.mqtt.dock_logins, sn: password}
    return dock_username(sn), password, True


def ensure_in_file(data_dir: Path, sn: str) -> tuple[str, str, bool]:
    """`ensure` against ``gcs.toml`` in `data_dir`, saving it when a login was made (blocking).

    Raises:
        DockLoginError: `sn` is not a serial number.
        gcs.store.settings.SettingsError: the settings file is unreadable.
    """
    settings = load_settings(data_dir)
    username, password, created = ensure(settings, sn)
    if created:
        _save(data_dir, settings)
    return username, password, created


async def ensure_on_station(station: Station, sn: str) -> tuple[str, str]:
    """On the station's loop: give `sn` its own login, save it, and let the running broker
    accept it at once (the auth file is rewritten; the broker re-reads it within 0.5 s).

    Raises:
        DockLoginError: `sn` is not a serial number.
    """
    username, password, created = ensure(station.settings, sn)
    if created:
        await asyncio.get_running_loop().run_in_executor(
            None, ensure_in_file_with, station.data_dir, sn, password
        )
        if station.broker is not None:
            station.write_broker_auth()
    return username, password


def ensure_in_file_with(data_dir: Path, sn: str, password: str) -> None:
    """Record `sn`'s login with `password` in ``gcs.toml`` (keeps an existing one) (blocking)."""
    settings = load_settings(data_dir)
    if sn not in settings.mqtt.dock_logins:
        settings.mqtt.dock_logins = {**settings.mqtt.dock_logins, sn: password}
        _save(data_dir, settings)


def _save(data_dir: Path, settings: Settings) -> None:
    # Keys this version does not know stay in the file.
    raw = tomllib.loads((data_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
    save_settings(data_dir, settings, extra=raw)
