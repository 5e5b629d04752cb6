"""Benchmark of the video window's measurements and recording (issue 12): prints JSON.

One RTMP push of 1280x720 at 30 fps (PyAV + libx264, the sender's frame number drawn into the
picture) into the station's media server (`gcs media`, child process). In this process, the
station's own `Decoder` reads the playback URL and, for every picture, two latencies are taken
when it is decoded: the **receive-side** one the desktop shows (now − the arrival time the media
server stamped into the packet, `gcs.video.stamp`) and the **glass-to-glass** one (now − the time
the sender encoded that frame number; same clock). Their difference is what the station cannot
see on a real device (encode, RTMP, the server's demuxer). Beside it a `Recorder` copies the
stream to MP4 for the same time: its CPU (thread time) and the file's frames and duration.
Also the cost of stamping one packet (a copy with the SEI in front) in the media server.

Run: PYTHONPATH=. .venv/bin/python tests/bench/live_tools.py [--seconds 10]

Measured on the 2-core build machine (2026-12-03, 10 s, 1280x720@30): receive-side latency
p50/p99 36/82 ms, glass-to-glass 48/100 ms (before the media server wrote video PES lengths:
69/110 and 80/131); recorder 0.5 % of a core; stamping 6 us (5 KB) / 22 us (60 KB) a packet.
`tests/bench/live_latency.py` (glass to glass through the decoder, 1 stream) on the same day:
RTMP p50/p99 78/111 -> 46/93 ms, WHIP 82/136 -> 46/83 ms with the PES lengths.
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

from gcs.video import stamp
from gcs.video.decoder import Decoder, FrameInfo
from gcs.video.process import MediaProcess
from gcs.video.recorder import Recorder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], p: float) -> float | None:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))], 1) if xs else None


def thread_cpu_s(native_id: int | None) -> float:
    for t in psutil.Process().threads():
        if t.id == native_id:
            return float(t.user_time + t.system_time)
    return 0.0


def stamp_cost_us(size: int, n: int = 2000) -> float:
    import av

    packet = av.Packet(b"\x00\x00\x00\x01\x65" + b"\x11" * size)
    packet.pts = packet.dts = 0
    t0 = time.perf_counter()
    for i in range(n):
        stamp.stamp_packet(packet, 0, 1796297842.0 + i)
    return round((time.perf_counter() - t0) / n * 1e6, 2)


def run(seconds: float) -> dict[str, Any]:
    rtmp, http = free_port(), free_port()
    with tempfile.TemporaryDirectory() as d:
        media = MediaProcess(
            host="127.0.0.1", rtmp_port=rtmp, http_port=http, log_path=Path(d) / "media.log"
        )
        media.start()
        events: list[dict[str, Any]] = []
        media.on_event = events.append
        secret, token = secrets.token_urlsafe(16), secrets.token_urlsafe(8)
        media.add("cam", secret, token)
        pusher = Pusher(
            f"rtmp://127.0.0.1:{rtmp}/live/cam?secret={secret}",
            seconds=seconds + 15,
            size=(1280, 720),
        )
        pusher.start()
        receive: list[float] = []
        glass: list[float] = []
        lock = threading.Lock()

        def on_frame(picture: Any, info: FrameInfo) -> None:
            now_wall, now_mono = time.time(), time.monotonic()
            sent = pusher.sent_at.get(read_number(picture[:, :, 1]))
            with lock:
                if info.arrival_s is not None:
                    receive.append((now_wall - info.arrival_s) * 1000)
                if sent is not None and now_mono - sent < 5:
                    glass.append((now_mono - sent) * 1000)

        url = f"http://127.0.0.1:{http}/live/cam.ts?token={token}"
        try:
            deadline = time.monotonic() + 15
            while not any(e.get("event") == "publishing" for e in events):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the push did not arrive: {events}")
                time.sleep(0.05)
            decoder = Decoder(url, on_frame, lambda state, message: None)
            decoder.start()
            recorder = Recorder(url, Path(d) / "rec.mp4")
            recorder.start()
            if not recorder.wait_started(15):
                raise RuntimeError("the recorder got no picture")
            time.sleep(1.0)  # past the start-up burst
            with lock:
                receive.clear()
                glass.clear()
            cpu0, t0 = thread_cpu_s(recorder.native_id), time.monotonic()
            time.sleep(seconds)
            cpu1, t1 = thread_cpu_s(recorder.native_id), time.monotonic()
            recorder.stop()
            recorder.join(15)
            decoder.stop()
            result = recorder.result
        finally:
            pusher.stop.set()
            media.stop()
    assert result is not None
    return {
        "size": "1280x720@30",
        "seconds": round(t1 - t0, 1),
        "pictures": len(receive),
        "receive_side_latency_ms_p50": pct(receive, 0.50),
        "receive_side_latency_ms_p99": pct(receive, 0.99),
        "glass_to_glass_latency_ms_p50": pct(glass, 0.50),
        "glass_to_glass_latency_ms_p99": pct(glass, 0.99),
        "unseen_by_the_station_ms_p50": (
            round(statistics.median(glass) - statistics.median(receive), 1)
            if glass and receive
            else None
        ),
        "recorder_cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 2),
        "recording": {
            "frames": result.frames,
            "duration_s": result.duration_s,
            "ended_by": result.ended_by,
            "dropped": result.dropped,
        },
        "stamp_us_per_packet": {"5 KB": stamp_cost_us(5_000), "60 KB": stamp_cost_us(60_000)},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    print(json.dumps({"cpus": psutil.cpu_count(), **run(a.seconds)}, indent=2))


if __name__ == "__main__":
    main()
