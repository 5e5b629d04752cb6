"""Ingest benchmark for the station (issue: foundation). Prints one JSON document.

(a) flood: 1.5 KB OSD JSON at QoS 0 from one publisher as fast as the broker takes it; the
    station's ingest rate (decoded, dispatched, merged into current state) against a bare paho
    subscriber counting the same messages on the same broker, measured one after the other in
    this run. Done on the embedded broker and, when Debian's mosquitto is installed, on
    mosquitto (where the broker is not the bottleneck).
(b) N gateways at DJI rates (dock: three partial OSD messages a second; aircraft OSD every 2 s):
    publish → station state update latency p50/p99 (publishers embed their send time; the
    station-side handler on its bus measures), with the station in this process.
(c) `gcs serve` as a subprocess: time to `ready`, idle RSS, and CPU/RSS under the load of (b).

(d) with --compare REV: only an A/B of (c)'s station CPU, this tree against REV (a commit, put in
    a temporary detached worktree, or the directory of another tree), alternating A/B/A/B for
    --rounds, each run a fresh data dir, --warmup s of load then --seconds measured; CPU time
    (user+sys) of the station process and of its broker child, medians and spread.

Usage: python tests/bench/ingest.py [--gateways 200] [--flood 20000] [--seconds 20]
       python tests/bench/ingest.py --compare 56088dd --gateways 100 --seconds 30 [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from gcs.runtime import Runtime, ThreadedRuntime  # noqa: E402
from gcs.station.bus import TelemetryUpdated  # noqa: E402
from gcs.store.settings import load_settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def osd_payload(i: int, size: int = 1500) -> bytes:
    body = {
        "tid": f"t{i}",
        "bid": "b",
        "timestamp": int(time.time() * 1000),
        "gateway": "GW",
        "data": {"latitude": 22.5, "longitude": 113.9, "height": 50.0, "mode_code": 0, "pad": ""},
    }
    raw = json.dumps(body)
    body["data"]["pad"] = "x" * max(0, size - len(raw))
    return json.dumps(body).encode()


def client(port: int, user: str, password: str, cid: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid)
    c.username_pw_set(user, password)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def publish_flood(port: int, user: str, pw: str, sn: str, n: int) -> float:
    pub = client(port, user, pw, sn)
    time.sleep(0.3)
    payloads = [osd_payload(i) for i in range(64)]
    t0 = time.perf_counter()
    for i in range(n):
        while (
            pub.publish(f"thing/product/{sn}/osd", payloads[i % 64], qos=0).rc
            == mqtt.MQTT_ERR_NO_CONN
        ):
            time.sleep(0.001)
    dt = time.perf_counter() - t0
    time.sleep(0.5)
    pub.loop_stop()
    pub.disconnect()
    return dt


def bare_subscriber_rate(
    port: int, user: str, pw: str, sn: str, n: int, sub_user: tuple[str, str]
) -> dict[str, Any]:
    got = 0
    first = last = 0.0
    done = threading.Event()

    def on_message(c: Any, u: Any, m: Any) -> None:
        nonlocal got, first, last
        got += 1
        now = time.perf_counter()
        if got == 1:
            first = now
        last = now
        if got >= n:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare-sub")
    sub.username_pw_set(*sub_user)
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    sub.subscribe("thing/product/+/osd", qos=1)
    time.sleep(0.5)
    publish_flood(port, user, pw, sn, n)
    done.wait(30)
    sub.loop_stop()
    sub.disconnect()
    dt = max(last - first, 1e-9)
    return {"received": got, "rate_msg_s": round(got / dt)}


def station_rate(
    rt: ThreadedRuntime, port: int, user: str, pw: str, sn: str, n: int
) -> dict[str, Any]:
    station = rt.runtime.station
    count = 0
    first = last = 0.0
    done = threading.Event()

    def on_tel(ev: TelemetryUpdated) -> None:
        nonlocal count, first, last
        if ev.sn != sn:
            return
        count += 1
        now = time.perf_counter()
        if count == 1:
            first = now
        last = now
        if count >= n:
            done.set()

    unsub = rt.submit(_subscribe(station, on_tel)).result()
    publish_flood(port, user, pw, sn, n)
    done.wait(60)
    rt.submit(_call(unsub)).result()
    dt = max(last - first, 1e-9)
    return {"received": count, "rate_msg_s": round(count / dt)}


async def _subscribe(station: Any, handler: Any) -> Any:
    return station.bus.subscribe(TelemetryUpdated, handler)


async def _call(fn: Any) -> None:
    fn()


def start_runtime(data_dir: Path, external: str | None = None) -> ThreadedRuntime:
    s = load_settings(data_dir)
    s.station.host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    rt = ThreadedRuntime(Runtime(s, data_dir, external_broker=external))
    rt.start()
    return rt


def flood(n: int, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # embedded broker
    rt = start_runtime(tmp / "flood-embedded")
    s = rt.runtime.settings
    port = rt.runtime.station.mqtt_port
    # The bare subscriber needs an all-topics login: use the station's own.
    station_login = ("gcs-station", rt.runtime.station._station_password)
    bare = bare_subscriber_rate(
        port, s.mqtt.device_username, s.mqtt.device_password, "FLOODGW1", n, station_login
    )
    st = station_rate(rt, port, s.mqtt.device_username, s.mqtt.device_password, "FLOODGW1", n)
    rt.stop()
    out["embedded"] = {
        "bare_paho": bare,
        "station": st,
        "ratio": round(st["rate_msg_s"] / max(bare["rate_msg_s"], 1), 2),
    }
    # Debian mosquitto, anonymous on loopback, when installed
    if shutil.which("mosquitto"):
        mport = free_port()
        conf = tmp / "mosq.conf"
        conf.write_text(
            f"listener {mport} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n"
        )
        mosq = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(0.5)
        try:
            bare = bare_subscriber_rate(mport, "u", "p", "FLOODGW2", n, ("u", "p"))
            rt = start_runtime(tmp / "flood-mosq", external=f"mqtt://u:p@127.0.0.1:{mport}")
            st = station_rate(rt, mport, "u", "p", "FLOODGW2", n)
            rt.stop()
        finally:
            mosq.terminate()
            mosq.wait()
        out["mosquitto"] = {
            "bare_paho": bare,
            "station": st,
            "ratio": round(st["rate_msg_s"] / max(bare["rate_msg_s"], 1), 2),
        }
    return out


def gateway_load(
    port: int, user: str, pw: str, gateways: int, seconds: float, stop: threading.Event
) -> list[mqtt.Client]:
    """One MQTT client per gateway (client id = its SN), publishing at DJI rates."""
    clients = []
    for g in range(gateways):
        sn = f"BENCHDOCK{g:05d}"
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=sn)
        c.username_pw_set(user, pw)
        c.connect("127.0.0.1", port)
        c.loop_start()
        clients.append((sn, c))

    def run() -> None:
        # Real devices are not synchronised: each gateway sends its three partial OSD messages
        # at its own phase within the second (spread evenly here), not all at the same instant.
        slots = 100  # 10 ms slots
        per_slot: list[list[tuple[str, mqtt.Client, int]]] = [[] for _ in range(slots)]
        for g, (sn, c) in enumerate(clients):
            for part in range(3):
                phase = (g / max(len(clients), 1) + part / 3) % 1.0
                per_slot[int(phase * slots)].append((sn, c, part))
        tick = 0
        start = time.time()
        while not stop.is_set():
            for slot, due in enumerate(per_slot):
                target = start + tick + slot / slots
                time.sleep(max(0.0, target - time.time()))
                if stop.is_set():
                    return
                for sn, c, part in due:
                    data = {
                        "bench_ts_ns": time.time_ns(),
                        "part": part,
                        "mode_code": 0,
                        "environment_temperature": 20.5 + part,
                    }
                    body = {
                        "tid": f"{sn}-{tick}-{part}",
                        "bid": "b",
                        "timestamp": int(time.time() * 1000),
                        "gateway": sn,
                        "data": data,
                    }
                    c.publish(f"thing/product/{sn}/osd", json.dumps(body), qos=0)
            tick += 1

    threading.Thread(target=run, daemon=True).start()
    return [c for _, c in clients]


def latency(gateways: int, seconds: float, tmp: Path) -> dict[str, Any]:
    rt = start_runtime(tmp / "latency")
    s = rt.runtime.settings
    station = rt.runtime.station
    samples: list[float] = []

    def on_tel(ev: TelemetryUpdated) -> None:
        ts = ev.changed.get("bench_ts_ns")
        if isinstance(ts, int):
            samples.append((time.time_ns() - ts) / 1e6)

    rt.submit(_subscribe(station, on_tel)).result()
    stop = threading.Event()
    clients = gateway_load(
        station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password, gateways, seconds, stop
    )
    time.sleep(2)
    samples.clear()
    time.sleep(seconds)
    stop.set()
    for c in clients:
        c.loop_stop()
        c.disconnect()
    rt.stop()
    samples.sort()
    return {
        "gateways": gateways,
        "messages": len(samples),
        "rate_msg_s": round(len(samples) / seconds),
        "p50_ms": round(statistics.median(samples), 2) if samples else None,
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 2) if samples else None,
    }


def serve_cmd(data: Path, mport: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gcs",
        "serve",
        "--data-dir",
        str(data),
        "--host",
        "127.0.0.1",
        "--mqtt-port",
        str(mport),
        "--ntp-port",
        str(free_port()),
        "--http-port",
        str(free_port()),
        "--https-port",
        str(free_port()),
        "--s3-port",
        str(free_port()),
    ]


def start_serve(
    data: Path, mport: int, tree: Path = REPO, results: dict[str, Any] | None = None
) -> subprocess.Popen[str]:
    """`gcs serve` from `tree` (its own code through PYTHONPATH), started twice: the first start
    creates the data dir, the second (normal) start is the one returned."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    for attempt in ("first", "second"):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            serve_cmd(data, mport),
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "ready":
                break
        if results is not None:
            results[f"ready_s_{attempt}_start"] = round(time.perf_counter() - t0, 2)
        if attempt == "first":
            proc.terminate()
            proc.wait(15)
    return proc


def serve_figures(gateways: int, seconds: float, tmp: Path) -> dict[str, Any]:
    data = tmp / "serve"
    mport = free_port()
    results: dict[str, Any] = {}
    proc = start_serve(data, mport, results=results)
    p = psutil.Process(proc.pid)
    time.sleep(5)

    def tree_rss() -> float:
        return sum(x.memory_info().rss for x in [p, *p.children(recursive=True)]) / 2**20

    results["idle_rss_mb_station"] = round(p.memory_info().rss / 2**20, 1)
    results["idle_rss_mb_with_broker"] = round(tree_rss(), 1)
    s = load_settings(data)
    stop = threading.Event()
    procs = [p, *p.children(recursive=True)]
    for x in procs:
        x.cpu_percent()
    clients = gateway_load(
        mport, s.mqtt.device_username, s.mqtt.device_password, gateways, seconds, stop
    )
    time.sleep(seconds)
    cpu = {("station" if x.pid == p.pid else "broker"): round(x.cpu_percent(), 1) for x in procs}
    results["load_cpu_percent"] = cpu
    results["load_rss_mb_with_broker"] = round(tree_rss(), 1)
    stop.set()
    for c in clients:
        c.loop_stop()
        c.disconnect()
    proc.terminate()
    proc.wait(15)
    return results


def serve_cpu(
    tree: Path, gateways: int, seconds: float, warmup: float, tmp: Path
) -> dict[str, Any]:
    """CPU time (user+sys, psutil) of `gcs serve` from `tree` under `gateways` at DJI rates,
    over `seconds` after `warmup`, as percent of one core; the station process and its broker
    child separately. CPU time is less disturbed by other load on the machine than wall percent."""
    data = Path(tempfile.mkdtemp(dir=tmp))
    mport = free_port()
    proc = start_serve(data, mport, tree)
    p = psutil.Process(proc.pid)
    s = load_settings(data)
    stop = threading.Event()
    clients = gateway_load(
        mport, s.mqtt.device_username, s.mqtt.device_password, gateways, seconds, stop
    )
    try:
        time.sleep(warmup)
        procs = [p, *p.children(recursive=True)]

        def cpu() -> list[float]:
            return [sum(x.cpu_times()[:2]) for x in procs]

        c0, t0 = cpu(), time.perf_counter()
        time.sleep(seconds)
        c1, t1 = cpu(), time.perf_counter()
    finally:
        stop.set()
        for c in clients:
            c.loop_stop()
            c.disconnect()
        proc.terminate()
        proc.wait(15)
    pct = [100 * (b - a) / (t1 - t0) for a, b in zip(c0, c1, strict=True)]
    return {
        "station_cpu_percent": round(pct[0], 2),
        "broker_cpu_percent": round(sum(pct[1:]), 2),
    }


def compare(
    rev: str, rounds: int, gateways: int, seconds: float, warmup: float, tmp: Path
) -> dict[str, Any]:
    """A/B of `serve_cpu`: this tree against `rev` (a commit, checked out in a temporary detached
    worktree, or a directory holding another tree), alternating A/B/A/B in one run."""
    other = Path(rev)
    made = not other.is_dir()
    if made:
        other = tmp / "compare-tree"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(other), rev],
            check=True,
            capture_output=True,
        )
    runs: dict[str, list[dict[str, Any]]] = {"this": [], "other": []}
    try:
        for _ in range(rounds):
            for name, tree in (("this", REPO), ("other", other)):
                runs[name].append(serve_cpu(tree, gateways, seconds, warmup, tmp))
    finally:
        if made:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)],
                check=False,
                capture_output=True,
            )

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("station_cpu_percent", "broker_cpu_percent"):
            xs = sorted(r[key] for r in rs)
            out[key] = {"median": round(statistics.median(xs), 2), "min": xs[0], "max": xs[-1]}
        return out

    this_rev = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "gateways": gateways,
        "seconds_each": seconds,
        "rounds": rounds,
        "this": {"tree": str(REPO), "rev": this_rev, "runs": runs["this"], **summary(runs["this"])},
        "other": {"tree": str(other), "rev": rev, "runs": runs["other"], **summary(runs["other"])},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateways", type=int, default=200)
    ap.add_argument("--flood", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--compare", metavar="REV", help="only the A/B station CPU against REV")
    ap.add_argument("--rounds", type=int, default=4, help="A/B rounds for --compare")
    ap.add_argument(
        "--warmup", type=float, default=10, help="seconds of load before --compare measures"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.compare:
            cmp = compare(args.compare, args.rounds, args.gateways, args.seconds, args.warmup, tmp)
            print(
                json.dumps(
                    {"machine": {"cpus": os.cpu_count()}, "serve_cpu_compare": cmp}, indent=2
                )
            )
            return
        out = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "flood": flood(args.flood, tmp),
            "gateways_at_dji_rates": latency(args.gateways, args.seconds, tmp),
            "serve": serve_figures(args.gateways, args.seconds, tmp),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
