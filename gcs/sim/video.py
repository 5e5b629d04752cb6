"""A simulated camera: a real H.264 stream pushed over RTMP to the URL `live_start_push` gave.

The picture is a moving bar on a background whose colour says the lens (wide blue, zoom green,
IR grey, normal dark), with the sending time drawn across the top as 32 black/white blocks
(milliseconds of the wall clock, modulo 2³²) so a receiver can measure latency: see
`read_time_ms`. Resolution follows `video_quality` (§7.2). Encoding uses PyAV's libx264 (GPL)
where it is installed (a development install). The installers have no PyAV (THIRD-PARTY.md):
there the camera writes lossless H.264 of its own (`gcs.sim.pcm264`: I_PCM macroblocks, only
those that changed, 640x360 at 15 fps) and pushes it with the station's video engine (Qt's
LGPL FFmpeg, `gcs.video.ffmpeg`). With neither, `available()` is False and the simulated
cameras are silent but still answer every method.
"""

from __future__ import annotations

import fractions
import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

#: Height of the band carrying the sending time.
BAND = 32
BITS = 32
SIZES = {0: (640, 360), 1: (960, 540), 2: (1280, 720), 3: (1280, 720), 4: (1920, 1080)}
LENS_COLOURS = {
    "wide": (30, 60, 160),
    "zoom": (30, 140, 60),
    "ir": (110, 110, 110),
    "thermal": (110, 110, 110),
}
FPS = 30


#: The lossless fallback's picture size and rate (`gcs.sim.pcm264`: ~20 KB a picture).
PCM_SIZE = (640, 360)
PCM_FPS = 15


def encoder() -> str | None:
    """ "x264" (PyAV), "pcm" (`gcs.sim.pcm264` pushed through the station's video engine) or
    None when this installation can push no video."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return None
    try:
        import av  # noqa: F401

        return "x264"
    except ImportError:
        pass
    from gcs.video import ffmpeg

    return "pcm" if ffmpeg.unavailable() is None else None


def available() -> bool:
    return encoder() is not None


def draw_time_ms(img: Any, ms: int) -> None:
    w = img.shape[1] // BITS
    for bit in range(BITS):
        img[:BAND, bit * w : (bit + 1) * w] = 255 if (ms >> bit) & 1 else 0


def read_time_ms(img: Any) -> int:
    """The sending time (ms, modulo 2³²) drawn by `draw_time_ms`, from a decoded picture."""
    w = img.shape[1] // BITS
    ms = 0
    for bit in range(BITS):
        if img[4 : BAND - 4, bit * w + 2 : (bit + 1) * w - 2].mean() > 127:
            ms |= 1 << bit
    return ms


def picture(n: int, size: tuple[int, int], lens: str) -> Any:
    """Picture `n` of the test stream (RGB): the lens colour, a moving bar, the time now."""
    import numpy as np

    w, h = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = LENS_COLOURS.get(lens, (20, 20, 20))
    x = (n * 6) % max(1, w - 24)
    img[BAND:, x : x + 24] = 255
    draw_time_ms(img, int(time.time() * 1000) & 0xFFFFFFFF)
    return img


def h264_encoder(size: tuple[int, int]) -> Any:
    """A libx264 encoder for the test picture: zerolatency, a keyframe every half second."""
    import av

    enc: Any = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = size[0], size[1], "yuv420p"
    enc.time_base = fractions.Fraction(1, FPS)
    enc.framerate = fractions.Fraction(FPS, 1)
    enc.options = {"tune": "zerolatency", "preset": "ultrafast", "g": str(FPS // 2)}
    return enc


class CameraPush(threading.Thread):
    """Push until `stop()`; a refused or broken connection is retried every 2 s (as devices
    do). `lens` may change while it runs; a new quality needs a new push."""

    def __init__(self, url: str, quality: int, lens: str, *, kind: str | None = None) -> None:
        """`kind`: the encoder ("x264" or "pcm"; default: the best installed)."""
        super().__init__(name="sim-camera", daemon=True)
        self.url = url
        self.kind = kind or encoder() or "x264"
        self.size = SIZES.get(quality, SIZES[0]) if self.kind == "x264" else PCM_SIZE
        self.lens = lens
        self.frames = 0
        self.connections = 0
        self.last_error = ""
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self._push()
            except Exception as exc:  # refused, dropped: try again like a device
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.info("sim camera push to %s: %s", self.url.split("?", 1)[0], exc)
            self._stop.wait(2.0)

    def _push(self) -> None:
        if self.kind == "pcm":
            self._push_pcm()
            return
        import av

        w, h = self.size
        out: Any = av.open(self.url, "w", format="flv", timeout=(5.0, 5.0))
        self.connections += 1
        try:
            s: Any = out.add_stream("libx264", rate=FPS)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"tune": "zerolatency", "preset": "ultrafast", "g": str(FPS // 2)}
            t0 = time.monotonic()
            n = 0
            while not self._stop.is_set():
                frame = av.VideoFrame.from_ndarray(picture(n, self.size, self.lens), format="rgb24")
                frame.pts, frame.time_base = n, fractions.Fraction(1, FPS)
                for packet in s.encode(frame):
                    out.mux(packet)
                n += 1
                self.frames += 1
                delay = t0 + n / FPS - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
        finally:
            out.close()

    def _push_pcm(self) -> None:
        """The installers' camera: lossless H.264 of our own, muxed and pushed by FFmpeg."""
        from gcs.sim.pcm264 import Encoder
        from gcs.video import ffmpeg

        w, h = self.size
        enc = Encoder(w, h, gop=PCM_FPS * 2)
        tb = fractions.Fraction(1, PCM_FPS)
        out = ffmpeg.Output(
            self.url,
            "flv",
            io_options={"rw_timeout": "5000000"},
            open_timeout=5.0,
            stop=self._stop,
        )
        self.connections += 1
        try:
            index = out.add_video_stream("h264", w, h, enc.extradata, tb)
            t0 = time.monotonic()
            n = 0
            while not self._stop.is_set():
                au, key = enc.encode(picture(n, self.size, self.lens))
                out.mux(ffmpeg.Packet.new(au, time_base=tb, pts=n, key=key), index)
                n += 1
                self.frames += 1
                delay = t0 + n / PCM_FPS - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
        finally:
            out.close()
