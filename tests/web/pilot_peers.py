"""Helpers for the Pilot web tests: a licensed `gcs serve`, raw MQTT gateways, HTTP logins.

The raw gateway speaks hand-written wire JSON (protocol §2.1, §3) with paho, not the project's
simulator, so a bug shared by the simulator and the station cannot hide here.
"""

from __future__ import annotations

import json
import queue
import re
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from station_harness import start_serve  # tests/ is on sys.path

APP_ID, APP_KEY, APP_LICENSE = "153462", "0f6a8e9b2c4d", "Q2xvdWRBUElMaWNlbmNlRm9yVGVzdHM="
RC_MODEL = (2, 119, 0)  # DJI RC Plus
M30 = (0, 67, 0)
DOCK2 = (3, 2, 0)
M3D = (0, 91, 0)


@dataclass
class PilotStation:
    """A running `gcs serve` with a DJI licence configured, and what a test needs to reach it."""

    serve: Any
    data_dir: Path
    http: str  # http://host:port/
    https: str
    mqtt_port: int
    username: str
    password: str
    settings: dict[str, Any]

    @property
    def workspace_id(self) -> str:
        return str(self.settings["station"]["workspace_id"])

    @property
    def token_secret(self) -> str:
        return str(self.settings["station"]["token_secret"])

    @property
    def device_login(self) -> tuple[str, str]:
        m = self.settings["mqtt"]
        return str(m["device_username"]), str(m["device_password"])

    def stop(self) -> None:
        self.serve.stop()


def start_pilot_station(
    data_dir: Path,
    *extra: str,
    icons: dict[str, dict[str, str]] | None = None,
    toml: str = "",
) -> PilotStation:
    data_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "[dji]",
        f'app_id = "{APP_ID}"',
        f'app_key = "{APP_KEY}"',
        f'app_license = "{APP_LICENSE}"',
        "",
        "[pilot]",
        'third_party_app_package = "com.example.fieldapp"',
        'third_party_app_url = "fieldapp://open?from=pilot"',
        "",
    ]
    for sn, urls in (icons or {}).items():
        lines.append(f"[pilot.device_icons.{sn}]")
        lines.extend(f'{k} = "{v}"' for k, v in urls.items())
        lines.append("")
    lines.append(toml)  # more settings of the test's own
    (data_dir / "gcs.toml").write_text("\n".join(lines), encoding="utf-8")
    sp = start_serve(data_dir, *extra)
    endpoints = {}
    for line in sp.lines:
        m = re.match(r"^(\w+): (\S+)$", line)
        if m:
            endpoints[m.group(1)] = m.group(2)
    settings = tomllib.loads((data_dir / "gcs.toml").read_text(encoding="utf-8"))
    return PilotStation(
        serve=sp,
        data_dir=data_dir,
        http=endpoints["http"],
        https=endpoints["https"],
        mqtt_port=int(endpoints["mqtt"].rsplit(":", 1)[1]),
        username=settings["pilot"]["default_user"],
        password=settings["pilot"]["default_password"],
        settings=settings,
    )


def now_ms() -> int:
    return int(time.time() * 1000)


class RawGateway:
    """An RC or dock on MQTT with hand-written wire JSON; client id = its serial."""

    def __init__(
        self,
        port: int,
        username: str,
        password: str,
        sn: str,
        *,
        host: str = "127.0.0.1",
        model: tuple[int, int, int] = RC_MODEL,
        aircraft_sn: str = "",
        aircraft_model: tuple[int, int, int] = M30,
    ) -> None:
        self.sn = sn
        self.model = model
        self.aircraft_sn = aircraft_sn
        self.aircraft_model = aircraft_model
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.connected: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=sn)
        self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, rc, p: self.connected.put(rc.value)
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, json.loads(m.payload)))
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put(
            [int(r.value) for r in rcs]
        )
        self.client.connect(host, port)
        self.client.loop_start()
        self.rc = self.connected.get(timeout=10)

    def subscribe(self, topic: str) -> int:
        """Subscribe and return the SUBACK reason code (0/1 granted, >= 128 refused)."""
        self.client.subscribe(topic, qos=1)
        return self.subacks.get(timeout=5)[0]

    def publish(self, topic: str, doc: dict[str, Any]) -> None:
        self.client.publish(topic, json.dumps(doc).encode(), qos=1).wait_for_publish(5)

    def update_topo(self, with_aircraft: bool = True) -> None:
        d, t, s = self.model
        subs = []
        if with_aircraft and self.aircraft_sn:
            ad, at, ast = self.aircraft_model
            subs.append(
                {
                    "sn": self.aircraft_sn,
                    "domain": ad,
                    "type": at,
                    "sub_type": ast,
                    "index": "A",
                    "device_secret": "secret",
                    "nonce": "nonce",
                    "thing_version": "1.1.2",
                }
            )
        self.publish(
            f"sys/product/{self.sn}/status",
            {
                "tid": str(uuid.uuid4()),
                "bid": str(uuid.uuid4()),
                "timestamp": now_ms(),
                "method": "update_topo",
                "data": {
                    "domain": d,
                    "type": t,
                    "sub_type": s,
                    "device_secret": "secret",
                    "nonce": "nonce",
                    "thing_version": "1.1.2",
                    "sub_devices": subs,
                },
            },
        )

    def osd(self, sn: str, data: dict[str, Any]) -> None:
        self.client.publish(
            f"thing/product/{sn}/osd",
            json.dumps(
                {
                    "tid": str(uuid.uuid4()),
                    "bid": str(uuid.uuid4()),
                    "timestamp": now_ms(),
                    "gateway": self.sn,
                    "data": data,
                }
            ).encode(),
            qos=0,
        )

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def aircraft_osd(lat: float, lon: float, height: float = 120.5) -> dict[str, Any]:
    return {
        "latitude": lat,
        "longitude": lon,
        "height": height,
        "elevation": 100.2,
        "attitude_head": 45.0,
        "horizontal_speed": 7.5,
        "vertical_speed": 0.4,
        "mode_code": 3,
        "battery": {"capacity_percent": 80},
    }


def rc_osd(lat: float, lon: float) -> dict[str, Any]:
    return {"latitude": lat, "longitude": lon, "height": 35.0, "capacity_percent": 90}
