"""Live video benchmark, glass to glass: prints JSON.

For RTMP (url_type 1) and for WHIP (url_type 4): the simulator's camera (`gcs.sim.video`
`CameraPush` over RTMP, `gcs.sim.whip.WhipPush` over WebRTC with aiortc) encodes a 1280x720
30 fps picture with the sending wall-clock time drawn into it and pushes it to the station's
media server (`gcs media`, its own child process); the desktop's decoder (`gcs.video.decoder.
Decoder`, the one the video windows use, on its own thread) reads the station's playback URL
(MPEG-TS over HTTP). Latency = the clock when a decoded picture reaches the decoder's output −
the time drawn in it (same clock), so it covers encode, transport (RTMP, or RTP/SRTP with its
jitter buffer), the media server, HTTP and decode; painting on screen is not included. The
cameras run in a process of their own, so the figures of this process are those of watching:
CPU per 720p30 stream watched (this process, and its decoder threads alone), its RSS, and CPU
and RSS of the media server child, for 1 and for 4 streams at once.

With several streams, one encoder feeds every camera's push (the same packets to each URL) unless
`--own-encoders`: four 720p30 libx264 encoders take about two cores by themselves, which on a
2-core machine starves everything and measures the cameras, not the station.

Run: PYTHONPATH=. .venv/bin/python tests/bench/live_latency.py [--seconds 10] [--streams 1 4]
     [--protocols rtmp whip] [--own-encoders]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import io
import json
import multiprocessing
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

from gcs.sim.video import FPS, SIZES, CameraPush, h264_encoder, picture, read_time_ms
from gcs.video.decoder import Decoder, FrameInfo
from gcs.video.process import MediaProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Watch:
    """One stream watched through the desktop's decoder: the latency of every picture."""

    def __init__(self, url: str) -> None:
        self.latencies: list[float] = []
        self.frames = 0
        self.recording = False
        self.decoder = Decoder(url, self.on_frame, lambda state, message: None)

    def on_frame(self, img: Any, info: FrameInfo) -> None:
        now = int(time.time() * 1000) & 0xFFFFFFFF
        self.frames += 1
        if self.recording:
            lat = (now - read_time_ms(img)) & 0xFFFFFFFF
            if lat < 10_000:
                self.latencies.append(float(lat))

    def cpu_s(self) -> float:
        native = self.decoder.native_id
        for t in psutil.Process().threads():
            if t.id == native:
                return float(t.user_time + t.system_time)
        return 0.0


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))], 1) if xs else float("nan")


def _ingest_url(protocol: str, host: str, media: MediaProcess, name: str, secret: str) -> str:
    if protocol == "rtmp":
        return f"rtmp://{host}:{media.rtmp_port}/live/{name}?secret={secret}"
    return f"http://{host}:{media.http_port}/rtc/v1/whip/?app=live&stream={name}&secret={secret}"


def push_main(protocol: str, urls: list[str], stop: Any, shared: bool) -> None:
    """The cameras, in a process of their own (their encoding is not the station's cost).

    `shared`: one encoder feeds every push (the same packets to each URL), so that 4 pushes of
    720p30 do not need 4 encoders (≈ 2 cores here) and the station's side is what is measured.
    """
    if shared:
        run_shared(protocol, urls, stop)
        return
    pushers: list[Any] = []
    for url in urls:
        if protocol == "rtmp":
            pushers.append(CameraPush(url, 2, "wide"))
        else:
            from gcs.sim.whip import WhipPush

            pushers.append(WhipPush(url, 2, "wide"))
    for p in pushers:
        p.start()
    stop.wait()
    for p in pushers:
        p.stop()
    for p in pushers:
        p.join(5)


def _frames(stop: Any) -> Any:
    """(n, packets) of the 720p test picture at 30 fps, one encoder, until `stop`."""
    import av

    size = SIZES[2]
    enc = h264_encoder(size)
    t0, n = time.monotonic(), 0
    while not stop.is_set():
        frame = av.VideoFrame.from_ndarray(picture(n, size, "wide"), format="rgb24")
        frame.pts, frame.time_base = n, fractions.Fraction(1, FPS)
        yield n, list(enc.encode(frame))
        n += 1
        delay = t0 + n / FPS - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def run_shared(protocol: str, urls: list[str], stop: Any) -> None:
    if protocol == "rtmp":
        _rtmp_shared(urls, stop)
    else:
        asyncio.run(_whip_shared(urls, stop))


def _rtmp_shared(urls: list[str], stop: Any) -> None:
    import av

    outs = [av.open(u, "w", format="flv", timeout=(5.0, 5.0)) for u in urls]
    streams = []
    for out in outs:
        st: Any = out.add_stream("h264", rate=FPS)
        st.width, st.height = SIZES[2]
        streams.append(st)
    header: bytes | None = None
    try:
        for _n, packets in _frames(stop):
            for p in packets:
                data = bytes(p)
                if header is None:
                    header = data  # the first keyframe carries SPS/PPS: FLV needs them first
                    template = av.open(io.BytesIO(header), format="h264")
                    for st in streams:
                        st.codec_context.extradata = template.streams.video[
                            0
                        ].codec_context.extradata
                    template.close()
                for out, st in zip(outs, streams, strict=True):
                    q = av.Packet(data)
                    q.pts, q.dts, q.time_base = p.pts, p.dts, p.time_base
                    q.is_keyframe = p.is_keyframe
                    q.stream = st
                    out.mux(q)
    finally:
        for out in outs:
            out.close()


async def _whip_shared(urls: list[str], stop: Any) -> None:
    import aiohttp
    from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    queues: list[asyncio.Queue[Any]] = [asyncio.Queue(maxsize=60) for _ in urls]

    class Track(MediaStreamTrack):
        kind = "video"

        def __init__(self, q: asyncio.Queue[Any]) -> None:
            super().__init__()
            self.q = q

        async def recv(self) -> Any:
            return await self.q.get()

    pcs = []
    async with aiohttp.ClientSession() as http:
        for url, q in zip(urls, queues, strict=True):
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            t = pc.addTransceiver(Track(q), direction="sendonly")
            caps = [
                c for c in (h264_caps() or []) if c.mimeType.lower() in ("video/h264", "video/rtx")
            ]
            t.setCodecPreferences(caps)
            await pc.setLocalDescription(await pc.createOffer())
            async with http.post(
                url, data=pc.localDescription.sdp, headers={"Content-Type": "application/sdp"}
            ) as r:
                assert r.status == 201, await r.text()
                answer = await r.text()
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            pcs.append(pc)
        loop = asyncio.get_running_loop()
        frames = _frames(stop)
        while True:
            item = await loop.run_in_executor(None, next, frames, None)
            if item is None:
                break
            n, packets = item
            for p in packets:
                p.pts = p.dts = int(n * 90000 / FPS)
                p.time_base = fractions.Fraction(1, 90000)
                for q in queues:
                    if not q.full():
                        q.put_nowait(p)
        for pc in pcs:
            await pc.close()


def h264_caps() -> Any:
    from aiortc import RTCRtpSender

    caps = RTCRtpSender.getCapabilities("video")
    return caps.codecs if caps is not None else None


def run(protocol: str, streams: int, seconds: float, shared: bool) -> dict[str, Any]:
    host = "127.0.0.1"
    with tempfile.TemporaryDirectory() as d:
        media = MediaProcess(
            host=host, rtmp_port=free_port(), http_port=free_port(), log_path=Path(d) / "m.log"
        )
        events: list[dict[str, Any]] = []
        lock = threading.Lock()

        def on_event(ev: dict[str, Any]) -> None:
            with lock:
                events.append(ev)

        media.on_event = on_event
        media.start()
        proc = psutil.Process(media.pid)
        ctx = multiprocessing.get_context("spawn")
        stop = ctx.Event()
        urls: list[str] = []
        watches: list[Watch] = []
        cameras: Any = None
        try:
            for i in range(streams):
                name, secret, token = f"cam{i}", secrets.token_urlsafe(16), secrets.token_urlsafe(8)
                media.add(name, secret, token)
                urls.append(_ingest_url(protocol, host, media, name, secret))
                w = Watch(f"http://{host}:{media.http_port}/live/{name}.ts?token={token}")
                watches.append(w)
            cameras = ctx.Process(
                target=push_main, args=(protocol, urls, stop, shared), daemon=True
            )
            cameras.start()
            deadline = time.monotonic() + 30
            while sum(e.get("event") == "publishing" for e in list(events)) < streams:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pushes did not arrive: {events}")
                time.sleep(0.05)
            for w in watches:
                w.decoder.start()
            deadline = time.monotonic() + 20
            while not all(w.frames > 30 for w in watches):  # past the start-up burst
                if time.monotonic() > deadline:
                    raise RuntimeError("no pictures decoded")
                time.sleep(0.05)
            me = psutil.Process()
            cpu0, mcpu0 = [w.cpu_s() for w in watches], me.cpu_times()
            pcpu0, t0 = proc.cpu_times(), time.monotonic()
            for w in watches:
                w.recording = True
            time.sleep(seconds)
            for w in watches:
                w.recording = False
            t1 = time.monotonic()
            cpu1, mcpu1 = [w.cpu_s() for w in watches], me.cpu_times()
            pcpu1 = proc.cpu_times()
            rss = proc.memory_info().rss
            watch_rss = me.memory_info().rss
        finally:
            for w in watches:
                w.decoder.stop()
            stop.set()
            if cameras is not None:
                cameras.join(15)
            media.stop()
        span = t1 - t0
        lat = [x for w in watches for x in w.latencies]
        return {
            "protocol": protocol,
            "streams": streams,
            "cameras": "one encoder for all" if shared else "one encoder each",
            "size": "1280x720@30",
            "seconds": round(span, 1),
            "frames_decoded": len(lat),
            "fps_per_stream": round(len(lat) / span / streams, 1),
            "glass_to_glass_ms_p50": pct(lat, 0.50),
            "glass_to_glass_ms_p99": pct(lat, 0.99),
            "glass_to_glass_ms_mean": round(statistics.fmean(lat), 1) if lat else None,
            # the whole watching process (decoder threads, FFmpeg's slice threads, picture
            # conversion) per stream; the decoder thread alone beside it
            "watch_cpu_pct_per_stream": round(
                100 * ((mcpu1.user + mcpu1.system) - (mcpu0.user + mcpu0.system)) / span / streams,
                1,
            ),
            "decoder_thread_cpu_pct_per_stream": round(
                100 * statistics.fmean(b - a for a, b in zip(cpu0, cpu1, strict=True)) / span, 1
            ),
            "media_server_cpu_pct": round(
                100 * ((pcpu1.user + pcpu1.system) - (pcpu0.user + pcpu0.system)) / span,
                1,
            ),
            "media_server_rss_mib": round(rss / 2**20, 1),
            "watching_process_rss_mib": round(watch_rss / 2**20, 1),
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--streams", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--protocols", nargs="+", default=["rtmp", "whip"])
    ap.add_argument(
        "--own-encoders",
        action="store_true",
        help="one encoder per camera (4 x 720p30 libx264 needs about 2 cores by itself)",
    )
    a = ap.parse_args()
    runs = [
        run(p, n, a.seconds, shared=n > 1 and not a.own_encoders)
        for p in a.protocols
        for n in a.streams
    ]
    print(json.dumps({"cpus": psutil.cpu_count(), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
