"""Live video benchmark: prints JSON.

The station's media server (`gcs media`, FFmpeg through PyAV, in its child process) receives an
RTMP push of 1280x720 at 30 fps (PyAV + libx264, zerolatency, the sender's frame number drawn
into the picture) and a reader in this process decodes the station's playback URL (MPEG-TS over
HTTP) on its own thread. Latency = time a frame is decoded − time it was encoded (same clock),
so it covers encode, RTMP, the media server, HTTP and decode (no display). Also: CPU of the
media server child and of the decoding thread, RSS of the child, for 1 and for 4 streams.

Run: PYTHONPATH=. .venv/bin/python tests/bench/live_latency.py [--seconds 10] [--streams 1 4]
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from live_push import Pusher, read_number

from gcs.video.process import MediaProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Reader(threading.Thread):
    def __init__(self, url: str, pusher: Pusher, until: float) -> None:
        super().__init__(daemon=True)
        self.url, self.pusher, self.until = url, pusher, until
        self.latencies: list[float] = []
        self.cpu = 0.0
        self.frames = 0

    def run(self) -> None:
        import av

        c: Any = av.open(
            self.url, options={"fflags": "nobuffer", "analyzeduration": "0", "probesize": "32768"}
        )
        vs = c.streams.video[0]
        vs.thread_type = "SLICE"
        t0 = time.thread_time()
        for frame in c.decode(vs):
            now = time.monotonic()
            img = frame.to_ndarray(format="gray")
            n = read_number(img)
            sent = self.pusher.sent_at.get(n)
            if sent is not None and now - sent < 5:
                self.latencies.append((now - sent) * 1000)
            self.frames += 1
            if now > self.until:
                break
        self.cpu = time.thread_time() - t0
        c.close()


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))], 1) if xs else float("nan")


def run(streams: int, seconds: float) -> dict[str, Any]:
    rtmp, http = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        media = MediaProcess(
            host="127.0.0.1", rtmp_port=rtmp, http_port=http, log_path=Path(d) / "media.log"
        )
        media.start()
        events: list[dict[str, Any]] = []
        media.on_event = events.append
        proc = psutil.Process(media.pid)
        pushers, readers = [], []
        try:
            for i in range(streams):
                name, secret, token = f"cam{i}", secrets.token_urlsafe(16), secrets.token_urlsafe(8)
                media.add(name, secret, token)
                p = Pusher(
                    f"rtmp://127.0.0.1:{rtmp}/live/{name}?secret={secret}",
                    seconds=seconds + 10,
                    size=(1280, 720),
                )
                p.start()
                pushers.append((p, name, token))
            deadline = time.monotonic() + 15
            while sum(e.get("event") == "publishing" for e in events) < streams:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pushes did not arrive: {events}")
                time.sleep(0.05)
            time.sleep(1.0)  # past the start-up burst
            cpu0, t0 = proc.cpu_times(), time.monotonic()
            until = t0 + seconds
            for p, name, token in pushers:
                r = Reader(f"http://127.0.0.1:{http}/live/{name}.ts?token={token}", p, until)
                r.start()
                readers.append(r)
            for r in readers:
                r.join(seconds + 15)
            cpu1, t1 = proc.cpu_times(), time.monotonic()
            rss = proc.memory_info().rss
        finally:
            for p, _, _ in pushers:
                p.stop.set()
            media.stop()
        lat = [x for r in readers for x in r.latencies]
        return {
            "streams": streams,
            "size": "1280x720@30",
            "seconds": round(t1 - t0, 1),
            "frames_decoded": sum(r.frames for r in readers),
            "latency_ms_p50": pct(lat, 0.50),
            "latency_ms_p99": pct(lat, 0.99),
            "latency_ms_mean": round(statistics.fmean(lat), 1) if lat else None,
            "media_server_cpu_pct": round(
                100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (t1 - t0), 1
            ),
            "decode_cpu_pct_per_stream": round(
                100 * statistics.fmean(r.cpu for r in readers) / (t1 - t0), 1
            ),
            "media_server_rss_mib": round(rss / 2**20, 1),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--streams", type=int, nargs="+", default=[1, 4])
    a = ap.parse_args()
    out = {"cpus": psutil.cpu_count(), "runs": [run(n, a.seconds) for n in a.streams]}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
