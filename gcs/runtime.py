"""The composition root: a station plus its network front ends, on one asyncio loop.

`Runtime` starts the `Station` (broker, NTP, MQTT link, registry, telemetry) and then every
front-end component that is available (the Pilot web server, the S3 object store), and
optionally a simulated fleet on a thread of its own. `gcs serve`/`gcs demo` run it on the main
thread; the desktop app runs it on a dedicated thread through `ThreadedRuntime`, so a stalled
GUI never stalls the station (DESIGN.md, Runtime).

A component is any object with `endpoints() -> list[Endpoint]` and `async stop()`, made by an
async factory `start(station) -> component` listed in `COMPONENTS` ("module:function"); a
module that does not exist yet is skipped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import json
import logging
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gcs.aio import spawn
from gcs.station.area_guard import AreaGuard  # issue 14: flight-area sync and route checks
from gcs.station.basemap import BaseMaps
from gcs.station.capability import CapabilityFactory
from gcs.station.core import Endpoint, Station
from gcs.station.demo_missions import plan_demo_mission
from gcs.station.firmware import Firmware
from gcs.station.health import Health
from gcs.station.live import Live
from gcs.station.live_record import LiveRecording
from gcs.station.liveshare import LiveShare
from gcs.station.maintenance import Maintenance
from gcs.station.maps import Maps
from gcs.station.media import Media
from gcs.station.missions import Missions
from gcs.station.onboarding import Onboarding
from gcs.station.properties_in import PropertiesIn
from gcs.station.remote_logs import RemoteLogs
from gcs.station.resources import DockResources
from gcs.station.uploads import Uploads
from gcs.station.waylines import Waylines
from gcs.store.settings import Settings

if TYPE_CHECKING:
    from gcs.sim import FleetOptions

log = logging.getLogger(__name__)

RUNTIME_FILE = "runtime.json"


def read_runtime_file(data_dir: Path) -> dict[str, Any] | None:
    """The running station's addresses, or None when no live station uses `data_dir`."""
    try:
        doc = json.loads((data_dir / RUNTIME_FILE).read_text())
        pid = int(doc["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return doc if isinstance(doc, dict) else None


#: The station's features, in start order (each a `gcs.station.capability.Capability`). A feature
#: issue adds its module here; nothing else in the station changes.
CAPABILITIES: list[CapabilityFactory] = [
    PropertiesIn,  # osd/state → telemetry
    Onboarding,  # update_topo, config, organisation binding, Pilot's RC binding
    Uploads,  # storage_config_get, Pilot's STS
    DockResources,  # offline-map / task files docks ask for
    Maintenance,  # remote debugging (§4.3)
    Health,  # HMS alarms (§12)
    Firmware,  # firmware library and OTA upgrades (§14)
    RemoteLogs,  # dock and aircraft logs uploaded to the store (§15)
    Waylines,  # the wayline library (§8.2 #11-16, §13)
    Missions,  # dock flight tasks and their schedules (§4.2, §5, §6)
    Maps,  # shared map elements, custom flight areas (§8.2, flight_areas_*)
    AreaGuard,  # flight areas: automatic dock sync, route warnings for flight tasks (issue 14)
    Live,  # live video: capacity/status, live_* commands, ingest secrets (§7)
    LiveShare,  # Pilot's live share: the RTMP URL the H5 page sets in liveshare (§10.2)
    Media,  # media library: file_upload_callback, Pilot's media API (issue 11)
    LiveRecording,  # live video recorded to MP4 / snapshots, into the media library (issue 12)
    BaseMaps,  # base map choice, tile server, offline-area downloads (issue 14)
]

COMPONENTS = [
    "gcs.web.server:start",  # Pilot HTTP(S) API, WebSocket, H5 pages, tiles
    "gcs.web.s3.component:start_component",  # embedded S3 object store
]


class Component(Protocol):
    def endpoints(self) -> list[Endpoint]: ...

    async def stop(self) -> None: ...


def _factory(spec: str) -> Any:
    module_name, func = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, func, None)


class Runtime:
    """Usable after `await start()` until `await stop()`."""

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        *,
        external_broker: str | None = None,
        fleet: dict[str, int] | None = None,
    ) -> None:
        self.station = Station(
            settings, data_dir, capabilities=CAPABILITIES, external_broker=external_broker
        )
        self.settings = settings
        self.fleet_options = fleet
        self.components: list[Component] = []
        self.fleet: FleetThread | None = None
        self._demo: asyncio.Task[str | None] | None = None  # missions: the demo's flight plan

    async def start(self) -> None:
        """Start everything; on failure what was started is stopped again and the error raised."""
        try:
            await self.station.start()
            for spec in COMPONENTS:
                factory = _factory(spec)
                if factory is not None:
                    self.components.append(await factory(self.station))
            fleet = None if self.fleet_options is None else self._fleet_options(self.fleet_options)
        except BaseException:
            await self.stop()
            raise
        self._write_runtime_file()
        if fleet is not None:
            self.fleet = FleetThread(fleet)
            self.fleet.start()
            # missions: the demo plans a recurring flight once a simulated dock is online
            self._demo = spawn(plan_demo_mission(self.station), name="demo-mission")

    def _fleet_options(self, options: dict[str, int]) -> FleetOptions:
        from gcs.link import BrokerUrl
        from gcs.sim import FleetOptions

        s = self.settings
        url = self.station.external_broker or BrokerUrl(
            "127.0.0.1", self.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password
        )
        pilot_web = None
        http = next((ep.url for ep in self.endpoints() if ep.name == "http"), None)
        if http is not None:
            from urllib.parse import urlsplit

            from gcs.sim import PilotWebLogin

            port = urlsplit(http).port
            pilot_web = PilotWebLogin(
                f"http://127.0.0.1:{port}/", s.pilot.default_user, s.pilot.default_password
            )
        return FleetOptions(
            broker_url=str(url),
            docks=options.get("docks", 3),
            pilots=options.get("pilots", 1),
            binding_code=s.station.binding_code,
            organization_id=s.station.workspace_id,
            pilot_web=pilot_web,
            patrol_every_s=options.get("patrol_every_s", 0),  # the demo: take-offs
            fetch_waylines=True,  # missions: simulated docks download and fly the KMZ
        )

    @property
    def runtime_file(self) -> Path:
        return self.station.data_dir / RUNTIME_FILE

    def _write_runtime_file(self) -> None:
        """Record where this running station listens, for `gcs credentials` and tools."""
        doc = {
            "pid": os.getpid(),
            "public_host": self.station.public_host,
            "mqtt_host": self.station.mqtt_host,
            "mqtt_port": self.station.mqtt_port,
            "ntp_port": self.station.ntp.port if self.station.ntp else None,
            "endpoints": {ep.name: ep.url for ep in self.endpoints()},
        }
        tmp = self.runtime_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, self.runtime_file)

    async def stop(self) -> None:
        self.runtime_file.unlink(missing_ok=True)
        if self._demo is not None:  # missions
            self._demo.cancel()
        if self.fleet is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.fleet.stop)
            self.fleet = None
        for component in reversed(self.components):
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %r failed", component)
        self.components = []
        await self.station.stop()

    def endpoints(self) -> list[Endpoint]:
        out = list(self.station.endpoints())
        for component in self.components:
            out.extend(component.endpoints())
        return out


class FleetThread:
    """The simulated fleet on its own thread and loop: it meets the station only over sockets."""

    def __init__(self, options: FleetOptions) -> None:
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="gcs-sim", daemon=True)
        self._stop: asyncio.Event | None = None
        self.ready = threading.Event()
        self.error: str | None = None
        self.fleet: Any = None

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        from gcs.sim import Fleet

        self._stop = asyncio.Event()
        fleet = self.fleet = Fleet(self.options)
        try:
            await fleet.start()
            self.ready.set()
            log.info("simulated fleet online: %d gateways", len(fleet.devices))
            await self._stop.wait()
        except Exception as exc:
            self.error = str(exc)
            self.ready.set()
            log.error("simulated fleet failed: %s", exc)
        finally:
            await fleet.stop()

    def stop(self) -> None:
        if self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout=15)


class ThreadedRuntime:
    """A Runtime on its own thread and event loop (for the desktop app).

    `start()` blocks until the runtime is ready or raises its start error. `submit(coro)` runs
    a coroutine on the runtime's loop and returns a concurrent Future. Callbacks given to the
    station's bus run on the runtime thread: front ends must post to their own thread.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="gcs-station", daemon=True)
        self._started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stopping: asyncio.Event | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        try:
            await self.runtime.start()
        except BaseException as exc:
            self._started.set_exception(exc)
            return
        self._started.set_result(None)
        await self._stopping.wait()
        await self.runtime.stop()

    def start(self, timeout: float = 60.0) -> None:
        self.thread.start()
        self._started.result(timeout)

    def submit[T](self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the runtime and join its thread; safe after a failed or missing start."""
        if self._stopping is not None and self.thread.is_alive():
            try:
                self.loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:  # the loop closed between the check and the call
                pass
        if self.thread.is_alive() or self.thread.ident is not None:
            self.thread.join(timeout)
