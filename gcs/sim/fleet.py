"""A fleet of simulated gateways sharing one asyncio loop (and no threads).

What it is made of comes in one `gcs.sim.options.FleetOptions`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from types import TracebackType

import aiohttp

from gcs.sim.dock import SimDock
from gcs.sim.gateway import GatewayConfig, SimGateway
from gcs.sim.link import BrokerAddress
from gcs.sim.options import FleetOptions
from gcs.sim.pilot import SimPilot
from gcs.sim.pilot_web import PilotWeb, PilotWebError
from gcs.sim.products import DOCK_PRODUCTS, RC_PLUS_M30T, offset_position, site_offset

log = logging.getLogger(__name__)


class FleetError(RuntimeError):
    """The fleet did not come online; `stuck` lists the gateways that did not, with why."""

    def __init__(self, message: str, stuck: list[SimGateway]) -> None:
        super().__init__(message)
        self.stuck = stuck


class Fleet:
    """The gateways `options` describe (see `FleetOptions`), on the running asyncio loop.

    `on_online` is called with each gateway every time it comes online (update_topo answered).
    With `patrol_every_s` > 0 (the demo), each dock also takes off on its own every that many
    simulated seconds, flies its loop and lands, so a demo shows take-offs and landings.
    """

    def __init__(
        self,
        options: FleetOptions,
        *,
        on_online: Callable[[SimGateway], None] | None = None,
    ) -> None:
        self.options = options
        broker = BrokerAddress.parse(options.broker_url)
        self.broker = broker
        self.devices: list[SimGateway] = []
        docks = options.docks
        for i in range(docks + options.pilots):
            north, east = site_offset(i, options.seed)
            site_lat, site_lon = offset_position(options.lat, options.lon, north, east)
            config = GatewayConfig(
                broker=broker,
                seed=options.seed,
                lat=site_lat,
                lon=site_lon,
                ground_height=18.0 + (i * 7.3 + options.seed) % 12.0,
                binding_code=options.binding_code,
                organization_id=options.organization_id,
                speedup=options.speedup,
                timing=options.timing,
                on_online=on_online,
                fetch_waylines=options.fetch_waylines,
                patrol_every_s=options.patrol_every_s,
            )
            if i < docks:
                product = DOCK_PRODUCTS[i % len(DOCK_PRODUCTS)]
                self.devices.append(SimDock(product, i // len(DOCK_PRODUCTS), config))
            else:
                self.devices.append(SimPilot(RC_PLUS_M30T, i - docks, config))
        self._stopped = asyncio.Event()
        self.pilot_web = options.pilot_web
        self.pilot_sessions: dict[str, PilotWeb] = {}

    @property
    def docks(self) -> list[SimDock]:
        return [d for d in self.devices if isinstance(d, SimDock)]

    @property
    def pilots(self) -> list[SimPilot]:
        return [d for d in self.devices if isinstance(d, SimPilot)]

    def device(self, sn: str) -> SimGateway:
        """The gateway whose SN or aircraft SN is `sn`.

        Raises:
            KeyError: no such device in this fleet.
        """
        for d in self.devices:
            if sn in (d.sn, d.aircraft_sn):
                return d
        raise KeyError(sn)

    async def start(
        self, timeout_s: float = 60.0, devices: Sequence[SimGateway] | None = None
    ) -> None:
        """Start the gateways and wait until each has had its update_topo answered.

        Args:
            timeout_s: how long to wait for all of them.
            devices: only these (default: the whole fleet), e.g. the docks first and the RCs
                once their Pilot login gave them MQTT credentials (`SimGateway.set_broker`).

        Raises:
            FleetError: some gateways were not online after `timeout_s` seconds; the message
                names each with the step it is stuck at and why. They keep trying; call
                `stop()` to end them.
        """
        chosen = list(self.devices if devices is None else devices)
        self._stopped.clear()
        if self.pilot_web is not None:
            await self._pilot_logins([d for d in chosen if isinstance(d, SimPilot)], timeout_s)
        for d in chosen:
            d.start()
        try:
            await asyncio.wait_for(self.wait_online(chosen), timeout_s)
        except TimeoutError:
            stuck = [d for d in chosen if not d.online_event.is_set()]
            lines = [
                f"  {d.product.gateway_name} {d.sn}: stuck at {d.stage}"
                + (f" ({d.error})" if d.error else "")
                for d in stuck
            ]
            raise FleetError(
                f"{len(stuck)} of {len(chosen)} simulated gateways not online after "
                f"{timeout_s:g} s:\n" + "\n".join(lines),
                stuck,
            ) from None

    async def _pilot_logins(self, pilots: list[SimPilot], timeout_s: float) -> None:
        """Each RC's Pilot logs in over HTTP first, as Pilot 2 does before its `thing` module
        connects: the RC then uses the MQTT address and per-user login the station returned,
        and its Pilot keeps the WebSocket and binding going (`PilotWeb`)."""
        assert self.pilot_web is not None
        for rc in pilots:
            web = PilotWeb(
                self.pilot_web.base_url,
                self.pilot_web.username,
                self.pilot_web.password,
                rc.sn,
                ssl_context=self.pilot_web.ssl_context,
            )
            deadline = asyncio.get_running_loop().time() + timeout_s
            while True:
                try:
                    creds = await web.login()
                    break
                except (PilotWebError, OSError, aiohttp.ClientError) as exc:
                    if asyncio.get_running_loop().time() > deadline:
                        await web.stop()
                        raise FleetError(
                            f"Pilot login for RC {rc.sn} failed: {exc}", [rc]
                        ) from None
                    await asyncio.sleep(0.5)
            rc.set_broker(
                BrokerAddress(
                    creds.mqtt_host, creds.mqtt_port, creds.mqtt_username, creds.mqtt_password
                )
            )
            web.start()
            self.pilot_sessions[rc.sn] = web

    async def wait_online(self, devices: Sequence[SimGateway] | None = None) -> None:
        """Wait until every gateway (of `devices`, default all) has been online at least once."""
        chosen = self.devices if devices is None else devices
        await asyncio.gather(*(d.online_event.wait() for d in chosen))

    async def stop(self) -> None:
        """Disconnect every gateway and end all simulation tasks. Idempotent."""
        sessions, self.pilot_sessions = list(self.pilot_sessions.values()), {}
        await asyncio.gather(*(w.stop() for w in sessions), return_exceptions=True)
        await asyncio.gather(*(d.stop() for d in self.devices), return_exceptions=True)
        self._stopped.set()

    async def run_forever(self) -> None:
        """Run until `stop()` is called (or the task is cancelled, which stops the fleet)."""
        try:
            await self._stopped.wait()
        finally:
            if not self._stopped.is_set():
                await self.stop()

    async def __aenter__(self) -> Fleet:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
