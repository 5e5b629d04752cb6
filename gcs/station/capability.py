"""Capability modules: the station's features as small modules with one hook surface.

A capability (mitmproxy's addon idea) is a class built with the running `Station` that declares
what it handles and offers:

* `requests()` — `requests` methods it answers (method → async handler returning the reply's
  `output`; raising `RequestRefused` answers with that code);
* `statuses()` — `sys/.../status` methods it handles (`update_topo`);
* `events()` — `events` methods it wants (method → handler, called once per event after the
  station has acknowledged it and dropped re-sends);
* `properties()` — a handler for every `osd`/`state` message;
* `commands()` — the `CommandSpec`s it offers through the station's command path;
* `start()`/`stop()` — its own lifecycle (called in list order / reverse order).

The list of capabilities is composed in one place (`gcs.runtime.CAPABILITIES`); `Station` wires
each declaration into its dispatcher and command path. A new DJI service is one declaration in
the capability that owns it, plus its tests; nothing in `core.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from gcs.protocol.envelope import Message
from gcs.station.commands import CommandSpec

if TYPE_CHECKING:
    from gcs.station.core import Station

RequestHandler = Callable[[Message], Awaitable[dict[str, Any]]]
StatusHandler = Callable[[Message], Awaitable[None]]
EventHandler = Callable[[Message], None]
PropertyHandler = Callable[[Message], None]


class Capability:
    """Base of every capability; override only what the feature needs."""

    name: ClassVar[str] = ""

    def __init__(self, station: Station) -> None:
        self.station = station

    def requests(self) -> Mapping[str, RequestHandler]:
        return {}

    def statuses(self) -> Mapping[str, StatusHandler]:
        return {}

    def events(self) -> Mapping[str, EventHandler]:
        return {}

    def properties(self) -> PropertyHandler | None:
        return None

    def commands(self) -> Sequence[CommandSpec]:
        return ()

    async def start(self) -> None:
        """Called once the database, registry, telemetry and link are up."""

    async def stop(self) -> None:
        """Called before the link and the database close."""


CapabilityFactory = Callable[["Station"], Capability]
