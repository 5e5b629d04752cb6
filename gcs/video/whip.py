"""WHIP ingest (url_type 4, Dock 3 / Matrice 4) in the media server, on aiortc.

Theory of operation. A device POSTs an SDP offer (`application/sdp`) to the stream's WHIP URL,
`/rtc/v1/whip/?app=live&stream=NAME&secret=S` (the SRS-style endpoint DJI's docs show, §7.3;
the secret may also come as `Authorization: Bearer S`). The HTTP thread of the media server
hands the offer to `WhipIngest`, which runs aiortc on an asyncio loop of its own thread: one
`RTCPeerConnection` per session, receive-only, H.264 only, ICE with host candidates only (no
STUN: the site is offline). The answer (all candidates gathered, no trickle) goes back as
`201 Created` with a `Location` the device DELETEs to end the session. On a machine with no
address but loopback, ICE uses 127.0.0.1 (`loopback_when_alone`).

No re-encoding: aiortc normally decodes what it receives; here its decoder factory is replaced
(`_install_pass_through`, this child process only ingests) by one that hands on each complete
H.264 access unit (Annex B, as the RTP depayloader rebuilt it) with its RTP timestamp. Those
go into the same MPEG-TS output as an RTMP push (`server._Fanout`): the muxer's stream is made
from the first keyframe's parameter sets, and packets are copied with their 90 kHz timestamps.
Its jitter buffer is replaced too, by one that finishes a frame at its marker bit instead of at
the next frame's first packet (one frame interval less latency: `marker_jitter_buffer`).
Audio, if a device sends some, is dropped unread.

aiortc is optional at run time (like PyAV): without it `unavailable()` says why and every WHIP
offer is answered 503 with that sentence.
"""

from __future__ import annotations

import asyncio
import fractions
import io
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gcs.aio import spawn
from gcs.video import stamp
from gcs.video.server import TS_OPTIONS, MediaServer, Slot, _Fanout, emit

log = logging.getLogger("gcs.video.whip")

#: The path of the WHIP endpoint (SRS's, as in DJI's example URL, §7.3) and of its sessions.
WHIP_PATH = "/rtc/v1/whip/"
SESSION_PATH = "/rtc/v1/whip/session/"
#: Seconds to answer an offer (ICE gathering of host candidates takes milliseconds).
ANSWER_TIMEOUT_S = 15.0
#: Largest SDP offer accepted.
MAX_OFFER = 64 * 1024
_TIME_BASE = fractions.Fraction(1, 90000)


def unavailable() -> str | None:
    """None when WHIP can be served; else the reason, in words."""
    try:
        import aiortc  # noqa: F401
    except ImportError as exc:
        return f"this build has no WebRTC stack (aiortc): {exc}"
    return None


def nal_types(data: bytes) -> set[int]:
    """The NAL unit types of an Annex B access unit."""
    types: set[int] = set()
    i = data.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(data):
        types.add(data[i + 3] & 0x1F)
        i = data.find(b"\x00\x00\x01", i + 3)
    return types


def is_keyframe(data: bytes) -> bool:
    """An access unit a player can start from: an IDR picture (5) or parameter sets (7)."""
    return bool(nal_types(data) & {5, 7})


class WhipError(Exception):
    """An offer refused; `status` is the HTTP answer, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(eq=False)
class Session:
    id: str
    slot: Slot
    pc: Any
    task: asyncio.Task[None] | None = None
    frames: int = 0
    ended: threading.Event = field(default_factory=threading.Event)


class _PassThrough:
    """Stands in for aiortc's H.264 decoder: each complete access unit comes out as an
    `av.Packet` (pts = RTP timestamp, 90 kHz) instead of decoded pictures."""

    def decode(self, encoded_frame: Any) -> list[Any]:
        import av

        packet = av.Packet(encoded_frame.data)
        packet.pts = packet.dts = encoded_frame.timestamp
        packet.time_base = _TIME_BASE
        return [packet]


class _Drop:
    """Stands in for the decoder of any other codec (audio): nothing comes out."""

    def decode(self, encoded_frame: Any) -> list[Any]:
        return []


def marker_jitter_buffer() -> type:
    """aiortc's jitter buffer, finishing a video frame at its last RTP packet (marker bit set,
    RFC 6184 §5.1) when every packet from the first one is there. aiortc's own waits for the
    first packet of the next frame, which holds every picture back one frame interval (33 ms
    at 30 fps); a frame with a gap still waits for that (or for the retransmission)."""
    from aiortc.jitterbuffer import JitterBuffer, JitterFrame

    class MarkerJitterBuffer(JitterBuffer):
        def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
            pli, frame = super().add(packet)
            if frame is None and self._is_video:
                frame = self._complete()
            return pli, frame

        def _complete(self) -> JitterFrame | None:
            """The oldest frame, if all its packets up to the marked last one are here."""
            if self._origin is None:
                return None
            parts: list[bytes] = []
            timestamp = None
            for count in range(self.capacity):
                packet = self._packets[(self._origin + count) % self.capacity]
                if packet is None or timestamp not in (None, packet.timestamp):
                    return None  # a gap, or the frame's end was lost: aiortc's rule applies
                timestamp = packet.timestamp
                parts.append(getattr(packet, "_data", b""))
                if packet.marker:
                    self.remove(count + 1)
                    return JitterFrame(data=b"".join(parts), timestamp=packet.timestamp)
            return None

    return MarkerJitterBuffer


def loopback_when_alone() -> None:
    """Let ICE use 127.0.0.1 on a machine with no other address (a laptop with no network at
    all, device simulator on the same machine): aioice leaves loopback out of its host
    candidates, and then nothing could connect. With a LAN address nothing changes."""
    from aioice import ice

    if getattr(ice.get_host_addresses, "gcs_loopback", False):
        return
    original = ice.get_host_addresses

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        found = original(use_ipv4, use_ipv6)
        return found or (["127.0.0.1"] if use_ipv4 else [])

    get_host_addresses.gcs_loopback = True  # type: ignore[attr-defined]
    setattr(ice, "get_host_addresses", get_host_addresses)  # noqa: B010


_patched = False


def _install_pass_through() -> None:
    global _patched
    if _patched:
        return
    from aiortc import rtcrtpreceiver

    original: Callable[[Any], Any] = getattr(rtcrtpreceiver, "get_decoder")  # noqa: B009

    def get_decoder(codec: Any) -> Any:
        if codec.mimeType.lower() == "video/h264":
            return _PassThrough()
        if codec.mimeType.lower().startswith("audio/"):
            return _Drop()
        return original(codec)

    setattr(rtcrtpreceiver, "get_decoder", get_decoder)  # noqa: B010
    setattr(rtcrtpreceiver, "JitterBuffer", marker_jitter_buffer())  # noqa: B010
    loopback_when_alone()
    _patched = True


class WhipIngest:
    """WHIP sessions of one media server. `offer()` and `end()` are called from HTTP threads;
    everything of aiortc runs on this object's own loop thread."""

    def __init__(self, server: MediaServer) -> None:
        self.server = server
        self.sessions: dict[str, Session] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="whip", daemon=True).start()
                self._loop = loop
            return self._loop

    # -- called from HTTP threads ------------------------------------------------------------

    def offer(self, name: str, secret: str, sdp: str) -> tuple[str, str]:
        """Accept a device's offer for stream `name`: (answer SDP, session id).

        Raises:
            WhipError: 503 no aiortc, 404 unknown stream, 401 wrong secret, 409 already
                pushed, 400 an offer without H.264 video or that aiortc cannot read.
        """
        why = unavailable()
        if why is not None:
            raise WhipError(503, f"WHIP push to {name!r} refused: {why}")
        slot = self.server.slots.get(name)
        if slot is None or not slot.secret:
            raise WhipError(404, f"WHIP push to {name!r} refused: unknown stream")
        if not secrets.compare_digest(slot.secret, secret):
            raise WhipError(401, f"WHIP push to {name!r} refused: wrong secret")
        if slot.publishing or any(s.slot is slot for s in self.sessions.values()):
            raise WhipError(409, f"WHIP push to {name!r} refused: already pushed")
        future = asyncio.run_coroutine_threadsafe(self._answer(slot, sdp), self._ensure_loop())
        try:
            return future.result(ANSWER_TIMEOUT_S)
        except TimeoutError as exc:
            future.cancel()
            raise WhipError(504, f"WHIP push to {name!r}: no answer in time") from exc

    def end(self, session_id: str) -> bool:
        """End a session (the device's DELETE). False if there is no such session."""
        session = self.sessions.get(session_id)
        if session is None or self._loop is None:
            return False
        future = asyncio.run_coroutine_threadsafe(self._close(session), self._loop)
        try:
            future.result(ANSWER_TIMEOUT_S)
        except Exception as exc:  # closing went wrong: the session is gone all the same
            log.warning("whip: ending session %s: %s", session_id, exc)
        return True

    def end_stream(self, name: str) -> None:
        """End the sessions of a removed stream."""
        for session in [s for s in self.sessions.values() if s.slot.name == name]:
            self.end(session.id)

    # -- on the loop thread ------------------------------------------------------------------

    async def _answer(self, slot: Slot, sdp: str) -> tuple[str, str]:
        from aiortc import (
            RTCConfiguration,
            RTCPeerConnection,
            RTCRtpReceiver,
            RTCSessionDescription,
        )

        _install_pass_through()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # host candidates only
        session = Session(secrets.token_urlsafe(12), slot, pc)

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video" and session.task is None:
                session.task = spawn(self._relay(session, track), name=f"whip-{slot.name}")

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(session)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            caps = RTCRtpReceiver.getCapabilities("video")
            h264 = [
                c
                for c in (caps.codecs if caps is not None else [])
                if c.mimeType.lower() in ("video/h264", "video/rtx")
            ]
            videos = [t for t in pc.getTransceivers() if t.kind == "video"]
            if not videos:
                raise WhipError(400, f"WHIP push to {slot.name!r}: the offer has no video")
            for t in videos:
                t.setCodecPreferences(h264)
            await pc.setLocalDescription(await pc.createAnswer())
        except WhipError:
            await pc.close()
            raise
        except Exception as exc:  # aiortc's words for an offer it cannot take
            await pc.close()
            raise WhipError(
                400, f"WHIP push to {slot.name!r}: cannot use the offer (H.264 needed): {exc}"
            ) from exc
        self.sessions[session.id] = session
        log.info("whip: session %s for %s", session.id, slot.name)
        return pc.localDescription.sdp, session.id

    async def _close(self, session: Session) -> None:
        if self.sessions.pop(session.id, None) is None:
            return
        await session.pc.close()
        if session.task is not None:
            try:
                await asyncio.wait_for(session.task, 5.0)
            except (TimeoutError, asyncio.CancelledError):
                pass
        session.ended.set()
        log.info("whip: session %s of %s ended", session.id, session.slot.name)

    async def _relay(self, session: Session, track: Any) -> None:
        """Copy the track's access units into the slot's MPEG-TS output until it ends."""
        import av
        from aiortc.mediastreams import MediaStreamError

        slot = session.slot
        fan = _Fanout(slot)
        out: Any = None
        ostream: Any = None
        last_dts = -1
        try:
            while not slot.closed.is_set():
                try:
                    packet = await track.recv()
                except MediaStreamError:
                    break
                data = bytes(packet)
                key = is_keyframe(data)
                if ostream is None:
                    if 7 not in nal_types(data):
                        continue  # wait for the parameter sets
                    template: Any = av.open(io.BytesIO(data), format="h264")
                    out = av.open(fan, "w", format="mpegts", options=TS_OPTIONS)
                    ostream = out.add_stream_from_template(template.streams.video[0])
                    template.close()
                    slot.publishing = True
                    emit("publishing", name=slot.name)
                    log.info("whip: %s publishing", slot.name)
                if packet.dts is None or packet.dts <= last_dts:
                    continue
                last_dts = packet.dts
                # issue 12: its arrival time (the frame complete here), for the latency shown
                copy = av.Packet(stamp.framed(time.time(), 0) + data)
                copy.stream = ostream
                copy.time_base = _TIME_BASE
                copy.pts = copy.dts = packet.dts
                copy.is_keyframe = key
                fan.key = key
                out.mux(copy)
                session.frames += 1
                slot.packets += 1
        except Exception as exc:  # a corrupt push ends this stream only
            log.warning("whip: %s ended: %s", slot.name, exc)
        finally:
            if out is not None:
                slot.publishing = False
                try:
                    out.close()
                except Exception as exc:
                    log.info("whip: closing the TS muxer of %s: %s", slot.name, exc)
                emit("unpublished", name=slot.name)
            for v in list(slot.viewers):
                slot.drop(v)
            if session.id in self.sessions:
                spawn(self._close(session), name=f"whip-close-{slot.name}")
