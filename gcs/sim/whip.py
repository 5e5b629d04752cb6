"""A simulated Dock 3 / Matrice 4 camera pushing over WHIP (url_type 4), with aiortc.

Theory of operation. `WhipPush` is a thread running its own asyncio loop. It encodes the same
test picture as the RTMP camera (`video.picture`, sending time drawn in) with libx264 and hands
the encoded access units to aiortc as `av.Packet`s, which aiortc packetizes into RTP without
encoding again. Signalling is WHIP: the SDP offer (all host candidates gathered, no STUN: the
site is offline) is POSTed to the URL `live_start_push` gave, the `201 Created` answer is set,
and on `stop()` the session's `Location` is DELETEd, as a device ends its push. A refused or
broken session is retried every 2 s, as devices do.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
import time
from typing import Any
from urllib.parse import urljoin

from gcs.aio import spawn
from gcs.sim import video

log = logging.getLogger(__name__)

_TIME_BASE = fractions.Fraction(1, 90000)


def available() -> bool:
    """Whether this install can push WHIP (aiortc and PyAV with numpy)."""
    try:
        import aiortc  # noqa: F401
    except ImportError:
        return False
    return video.available()


def _loopback_when_alone() -> None:
    """As the station's media server does (gcs.video.whip, which the simulator may not import):
    ICE on 127.0.0.1 when the machine has no other address, where aioice would offer none."""
    from aioice import ice

    if getattr(ice.get_host_addresses, "gcs_loopback", False):
        return
    original = ice.get_host_addresses

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        found = original(use_ipv4, use_ipv6)
        return found or (["127.0.0.1"] if use_ipv4 else [])

    get_host_addresses.gcs_loopback = True  # type: ignore[attr-defined]
    setattr(ice, "get_host_addresses", get_host_addresses)  # noqa: B010


class WhipPush(threading.Thread):
    """Push the test picture to a WHIP endpoint until `stop()`; `lens` may change meanwhile."""

    def __init__(self, url: str, quality: int, lens: str) -> None:
        super().__init__(name="sim-whip-camera", daemon=True)
        self.url = url
        self.size = video.SIZES.get(quality, video.SIZES[0])
        self.lens = lens
        self.frames = 0
        self.sessions = 0
        self.last_error = ""
        #: The session URL of the running push (for DELETE), once answered.
        self.location = ""
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def stop(self) -> None:
        self._stop.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass  # the loop ended meanwhile

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self._stop.is_set():
            return
        while not self._stop.is_set():
            try:
                await self._push()
            except Exception as exc:  # refused, dropped: try again like a device
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.info("sim WHIP push to %s: %s", self.url.split("?", 1)[0], exc)
            try:
                await asyncio.wait_for(self._wake.wait(), 2.0)
            except TimeoutError:
                pass

    async def _push(self) -> None:
        import aiohttp
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

        assert self._wake is not None
        _loopback_when_alone()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        track = _camera_track(self)
        transceiver = pc.addTransceiver(track, direction="sendonly")
        caps = RTCRtpSender.getCapabilities("video")
        transceiver.setCodecPreferences(
            [
                c
                for c in (caps.codecs if caps is not None else [])
                if c.mimeType.lower() in ("video/h264", "video/rtx")
            ]
        )
        closed = asyncio.Event()

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                closed.set()

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
            try:
                await pc.setLocalDescription(await pc.createOffer())
                headers = {"Content-Type": "application/sdp"}
                async with http.post(self.url, data=pc.localDescription.sdp, headers=headers) as r:
                    text = await r.text()
                    if r.status != 201:
                        raise ConnectionRefusedError(f"HTTP {r.status}: {text.strip()}")
                    self.location = urljoin(self.url, r.headers.get("Location", ""))
                await pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="answer"))
                self.sessions += 1
                stop = spawn(self._wake.wait(), name="sim-whip-stop")
                ended = spawn(closed.wait(), name="sim-whip-ended")
                await asyncio.wait({stop, ended}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                ended.cancel()
                if not self._stop.is_set():
                    raise ConnectionResetError("the WebRTC connection ended")
                if self.location:
                    async with http.delete(self.location) as r:
                        await r.read()
            finally:
                track.stop()
                await pc.close()


def _camera_track(push: WhipPush) -> Any:
    """A video track of pre-encoded H.264 (aiortc packs `av.Packet`s without encoding)."""
    from aiortc import MediaStreamTrack

    class Track(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.push = push
            self.encoder: Any = None
            self.pending: list[Any] = []
            self.n = 0
            self.t0 = 0.0

        async def recv(self) -> Any:
            from aiortc.mediastreams import MediaStreamError

            while not self.pending:
                if self.readyState != "live":
                    raise MediaStreamError
                self.pending = await self._next()
            return self.pending.pop(0)

        async def _next(self) -> list[Any]:
            if self.encoder is None:
                self.encoder = video.h264_encoder(self.push.size)
                self.t0 = time.monotonic()
            delay = self.t0 + self.n / video.FPS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            loop = asyncio.get_running_loop()
            packets = await loop.run_in_executor(None, self._encode, self.n)
            self.n += 1
            self.push.frames += 1
            return packets

        def _encode(self, n: int) -> list[Any]:
            import av

            img = video.picture(n, self.push.size, self.push.lens)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = n, fractions.Fraction(1, video.FPS)
            out = []
            for packet in self.encoder.encode(frame):
                packet.pts = packet.dts = int(n * 90000 / video.FPS)
                packet.time_base = _TIME_BASE
                out.append(packet)
            return out

    return Track()
