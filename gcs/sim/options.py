"""What a simulated fleet is made of and where it connects: one typed, immutable object.

`gcs sim` builds a :class:`FleetOptions` from its flags, the runtime (`gcs demo`, the desktop's
fleet) from the station's settings, and tests directly; :class:`gcs.sim.fleet.Fleet` takes it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from gcs.sim.gateway import Timing
from gcs.sim.link import BrokerAddress

# A quiet park in Shenzhen's Nanshan district: open ground, plausible for a demo.
DEFAULT_LAT = 22.5797
DEFAULT_LON = 113.9436


@dataclass(frozen=True)
class PilotWebLogin:
    """Where simulated Pilots log in: the station's base URL and a Pilot user."""

    base_url: str
    username: str
    password: str
    ssl_context: ssl.SSLContext | None = None


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """`docks` docks (cycling Dock 1 + M30, Dock 2 + M3D, Dock 3 + M4D) and `pilots` RC Plus
    + M30T, each an independent MQTT client of `broker_url` (`mqtt://user:pass@host:port`).

    Serial numbers and positions depend only on `seed` and the index, so the same options give
    the same fleet. Sites are spread a few hundred metres apart around (`lat`, `lon`).
    `speedup` > 1 makes simulated time (OSD periods, flights, charging) run faster.
    With `fetch_waylines`, docks download the KMZ of each `flighttask_prepare` and check its
    MD5 before answering (314013 unreachable, 314005 mismatch), as real docks do. With
    `pilot_web`, each RC's Pilot logs in over HTTP first and uses the MQTT login it gets.

    Raises:
        ValueError: negative `docks` or `pilots`, `speedup` not above 0, or a `broker_url`
            that `BrokerAddress.parse` refuses.
    """

    broker_url: str
    docks: int = 1
    pilots: int = 0
    binding_code: str = ""
    organization_id: str = ""
    seed: int = 0
    lat: float = DEFAULT_LAT
    lon: float = DEFAULT_LON
    speedup: float = 1.0
    timing: Timing = field(default_factory=Timing)
    fetch_waylines: bool = False
    pilot_web: PilotWebLogin | None = None
    patrol_every_s: float = 0.0  # > 0: each dock takes off on its own that often (the demo)

    def __post_init__(self) -> None:
        if self.docks < 0 or self.pilots < 0:
            raise ValueError("docks and pilots must be >= 0")
        if self.speedup <= 0:
            raise ValueError("speedup must be > 0")
        if self.patrol_every_s < 0:
            raise ValueError("patrol_every_s must be >= 0")
        BrokerAddress.parse(self.broker_url)  # a bad URL fails here, not when the fleet starts
