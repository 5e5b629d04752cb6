"""Media library benchmark (issue 11). Prints one JSON document.

D docks (default 5) upload P photos in all (default 500) at once: each dock, in a child
process, PUTs a real 12 MP DJI photo (`shared/data/media/photos/DJI_0060.JPG`, 4 MB; or
`--photo`) with boto3 under its own STS credentials and then sends its `file_upload_callback`
over MQTT, as a dock does. The station runs in this process, so the CPU figure is the
station's (its loop, the database thread and the executor that reads EXIF/XMP and makes
thumbnails); the broker child is reported apart.

Figures: callback → item visible in the catalogue (`MediaChanged` added) p50/p99, callback →
thumbnail stored p50/p99, thumbnails per second over the run, station CPU (% of one core).
Not measured here: the GUI frame time while the grid fills.

Usage: python tests/bench/media.py [--docks 5] [--photos 500] [--photo PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import paho.mqtt.client as mqtt
import psutil
from botocore.config import Config
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.bus import DeviceEvent  # noqa: E402
from gcs.station.media import Media, MediaChanged  # noqa: E402
from gcs.station.uploads import Uploads  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402

PHOTO = REPO.parent / "shared" / "data" / "media" / "photos" / "DJI_0060.JPG"


def dock_process(
    sn: str, port: int, login: tuple[str, str], sts: dict[str, Any], photo: str, count: int
) -> None:
    """Child: one dock — upload `count` photos, a callback after each."""
    body = Path(photo).read_bytes()
    c = sts["credentials"]
    s3: Any = boto3.client(
        "s3",
        endpoint_url=sts["endpoint"],
        aws_access_key_id=c["access_key_id"],
        aws_secret_access_key=c["access_key_secret"],
        aws_session_token=c["security_token"],
        region_name=sts["region"],
        config=Config(s3={"addressing_style": "path"}),
    )
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=sn)
    client.username_pw_set(*login)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for i in range(count):
        name = f"DJI_20240520150607_{i:04d}_W.JPG"
        key = f"media/{sn}/bench/{name}"
        s3.put_object(Bucket=sts["bucket"], Key=key, Body=body)
        event = {
            "tid": str(uuid.uuid4()), "bid": str(uuid.uuid4()),
            "timestamp": int(time.time() * 1000), "gateway": sn,
            "method": "file_upload_callback", "need_reply": 1,
            "data": {"result": 0, "file": {"object_key": key, "name": name, "path": "bench",
                     "ext": {"flight_id": f"bench-{sn}", "is_original": True}, "metadata": {}}},
        }  # fmt: skip
        client.publish(f"thing/product/{sn}/events", json.dumps(event), qos=1).wait_for_publish()
    client.loop_stop()
    client.disconnect()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docks", type=int, default=5)
    ap.add_argument("--photos", type=int, default=500)
    ap.add_argument("--photo", default=str(PHOTO))
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="gcs-media-bench-"))
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.ntp.port = s.ntp.fallback_port = 0
    s.mqtt.port, s.http.port, s.http.https_port, s.storage.port = (free_port() for _ in range(4))
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    station = rt.runtime.station
    sent_at: dict[str, float] = {}
    added: dict[str, float] = {}
    thumbs: dict[str, float] = {}
    lock = threading.Lock()

    def on_media(e: MediaChanged) -> None:
        now = time.time() * 1000
        with lock:
            if e.change == "added":
                added.setdefault(e.item.object_key, now)
            elif e.item.thumbnail_key:
                thumbs.setdefault(e.item.object_key, now)

    def on_event(e: DeviceEvent) -> None:
        if e.method == "file_upload_callback" and isinstance(e.data, dict):
            key = e.data.get("file", {}).get("object_key")
            with lock:
                sent_at.setdefault(key, time.time() * 1000)

    async def attach() -> None:
        station.bus.subscribe(DeviceEvent, on_event)
        station.bus.subscribe(MediaChanged, on_media)

    rt.submit(attach()).result(5)
    sns = [f"MEDIABENCH{i:04d}" for i in range(args.docks)]
    grants = [
        rt.submit(station.capability(Uploads).sts_for(f"media/{sn}/")).result(10) for sn in sns
    ]
    per_dock = [args.photos // args.docks + (i < args.photos % args.docks) for i in range(len(sns))]
    me = psutil.Process()
    pid = station.broker.pid if station.broker else None
    broker = psutil.Process(pid) if pid else None
    cpu0, bcpu0 = me.cpu_times(), broker.cpu_times() if broker else None
    t0 = time.monotonic()
    login = (s.mqtt.device_username, s.mqtt.device_password)
    procs = [
        multiprocessing.Process(
            target=dock_process, args=(sn, station.mqtt_port, login, g, args.photo, n)
        )
        for sn, g, n in zip(sns, grants, per_dock, strict=True)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with lock:
            if len(added) >= args.photos:
                break
        time.sleep(0.05)
    rt.submit(station.capability(Media).wait_idle()).result(600)
    elapsed = time.monotonic() - t0
    cpu1, bcpu1 = me.cpu_times(), broker.cpu_times() if broker else None
    with lock:
        visible = [added[k] - sent_at[k] for k in added if k in sent_at]
        thumbed = [thumbs[k] - sent_at[k] for k in thumbs if k in sent_at]
    cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / elapsed * 100
    bcpu = (
        (bcpu1.user + bcpu1.system - bcpu0.user - bcpu0.system) / elapsed * 100
        if bcpu0 and bcpu1
        else None
    )
    print(
        json.dumps(
            {
                "docks": args.docks,
                "photos": args.photos,
                "photo_bytes": Path(args.photo).stat().st_size,
                "catalogued": len(added),
                "thumbnails": len(thumbs),
                "seconds": round(elapsed, 1),
                "callback_to_visible_ms": {"p50": pct(visible, 0.5), "p99": pct(visible, 0.99)},
                "callback_to_thumbnail_ms": {"p50": pct(thumbed, 0.5), "p99": pct(thumbed, 0.99)},
                "thumbnails_per_s": round(len(thumbs) / elapsed, 1),
                "station_cpu_pct_of_core": round(cpu, 1),
                "broker_cpu_pct_of_core": None if bcpu is None else round(bcpu, 1),
                "cpus": psutil.cpu_count(),
            },
            indent=1,
        )
    )
    rt.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
