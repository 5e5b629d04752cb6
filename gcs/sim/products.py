"""The simulated product line-up, deterministic serial numbers and site positions.

Serial numbers look like DJI's (upper-case letters and digits, a per-product prefix) and are a
pure function of (seed, product, index), so a given `--seed` always yields the same fleet and a
station's database can be reused between runs.
"""

from __future__ import annotations

import enum
import hashlib
import math
from dataclasses import dataclass

from gcs.protocol.models import ModelKey

# Digits and letters DJI serials use (no I or O, which read as 1 and 0).
_SN_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

EARTH_RADIUS_M = 6_378_137.0


class DeviceKind(enum.StrEnum):
    DOCK = "dock"
    RC = "rc"


@dataclass(frozen=True, slots=True)
class Product:
    """A gateway with its aircraft, as one simulated unit."""

    key: str  # short name used on the command line and in logs
    kind: DeviceKind
    gateway_model: ModelKey
    aircraft_model: ModelKey
    camera_index: str  # main camera payload index on the aircraft
    thermal: bool  # main camera has an IR lens
    extra_cameras: tuple[str, ...]  # other aircraft video sources (FPV, auxiliary)
    gateway_thing_version: str
    aircraft_thing_version: str
    gateway_firmware: str
    aircraft_firmware: str
    gateway_sn_prefix: str
    aircraft_sn_prefix: str
    sn_length: int = 14

    @property
    def gateway_name(self) -> str:
        return self.gateway_model.name

    @property
    def aircraft_name(self) -> str:
        return self.aircraft_model.name


DOCK1 = Product(
    key="dock1",
    kind=DeviceKind.DOCK,
    gateway_model=ModelKey(3, 1, 0),
    aircraft_model=ModelKey(0, 67, 0),
    camera_index="52-0-0",
    thermal=False,
    extra_cameras=(),
    gateway_thing_version="1.1.3",
    aircraft_thing_version="1.1.3",
    gateway_firmware="01.01.0706",
    aircraft_firmware="07.01.0022",
    gateway_sn_prefix="4TADK",
    aircraft_sn_prefix="1ZNBJ",
)
DOCK2 = Product(
    key="dock2",
    kind=DeviceKind.DOCK,
    gateway_model=ModelKey(3, 2, 0),
    aircraft_model=ModelKey(0, 91, 0),
    camera_index="80-0-0",
    thermal=False,
    extra_cameras=("176-0-0",),
    gateway_thing_version="1.2.0",
    aircraft_thing_version="1.2.0",
    gateway_firmware="10.01.1612",
    aircraft_firmware="10.01.1609",
    gateway_sn_prefix="7CTDM",
    aircraft_sn_prefix="1581F6Q8",
)
DOCK3 = Product(
    key="dock3",
    kind=DeviceKind.DOCK,
    gateway_model=ModelKey(3, 3, 0),
    aircraft_model=ModelKey(0, 100, 0),
    camera_index="98-0-0",
    thermal=False,
    extra_cameras=("176-0-0",),
    gateway_thing_version="1.3.0",
    aircraft_thing_version="1.3.0",
    gateway_firmware="13.01.0002",
    aircraft_firmware="13.01.0103",
    gateway_sn_prefix="8UUXN",
    aircraft_sn_prefix="1581F8HH",
)
RC_PLUS_M30T = Product(
    key="rcplus",
    kind=DeviceKind.RC,
    gateway_model=ModelKey(2, 119, 0),
    aircraft_model=ModelKey(0, 67, 1),
    camera_index="53-0-0",
    thermal=True,
    extra_cameras=("39-0-7",),
    gateway_thing_version="1.1.0",
    aircraft_thing_version="1.1.0",
    gateway_firmware="07.01.0012",
    aircraft_firmware="07.01.0022",
    gateway_sn_prefix="5YSZL",
    aircraft_sn_prefix="1ZNDH",
)

DOCK_PRODUCTS = (DOCK1, DOCK2, DOCK3)
PRODUCTS = {p.key: p for p in (*DOCK_PRODUCTS, RC_PLUS_M30T)}


def serial_number(prefix: str, seed: int, salt: str, index: int, length: int = 14) -> str:
    """A DJI-looking serial: `prefix` + characters derived from (seed, salt, index).

    Returns:
        An upper-case alphanumeric string of `length` characters, the same for the same inputs.
    """
    digest = hashlib.blake2b(f"{seed}:{salt}:{index}".encode(), digest_size=16).digest()
    value = int.from_bytes(digest, "big")
    tail = []
    for _ in range(max(0, length - len(prefix))):
        value, rem = divmod(value, len(_SN_ALPHABET))
        tail.append(_SN_ALPHABET[rem])
    return prefix + "".join(tail)


def offset_position(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point `north_m`/`east_m` metres from (lat, lon), flat-earth (fine within km)."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def site_offset(index: int, seed: int, spacing_m: float = 350.0) -> tuple[float, float]:
    """(north, east) metres of the `index`-th site on a golden-angle spiral around the centre.

    Sites are about `spacing_m` apart and never on top of each other; the seed only rotates
    the pattern.
    """
    angle = index * 2.399963229728653 + (seed % 360) * math.pi / 180.0
    radius = spacing_m * math.sqrt(index + 0.5)
    return radius * math.cos(angle), radius * math.sin(angle)


def local_offset_m(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """(north, east) metres from (lat0, lon0) to (lat, lon)."""
    north = math.radians(lat - lat0) * EARTH_RADIUS_M
    east = math.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    return north, east
