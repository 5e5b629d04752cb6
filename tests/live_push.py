"""A test-only RTMP publisher: PyAV encodes a moving picture with libx264 and pushes it.

libx264 (GPL) comes with PyPI's PyAV wheels; it is used by tests only, never by the product.
"""

from __future__ import annotations

import fractions
import threading
import time
from typing import Any

#: Height of the band at the top of the picture that carries the frame number (16 bits).
BAR = 32


def draw_number(img: Any, n: int) -> None:
    """Draw `n` as 16 black/white blocks across the top band (survives H.264 compression)."""
    w = img.shape[1] // 16
    for bit in range(16):
        img[:BAR, bit * w : (bit + 1) * w] = 255 if (n >> bit) & 1 else 0


def read_number(img: Any) -> int:
    """The number `draw_number` drew into a decoded picture (RGB or grey)."""
    w = img.shape[1] // 16
    n = 0
    for bit in range(16):
        if img[4 : BAR - 4, bit * w + 4 : (bit + 1) * w - 4].mean() > 127:
            n |= 1 << bit
    return n


class Pusher(threading.Thread):
    """Push `url` at 30 fps until `stop` is set or `seconds` pass; `error` says how it ended."""

    def __init__(self, url: str, seconds: float = 30.0, size: tuple[int, int] = (640, 360)) -> None:
        super().__init__(name="test-rtmp-push", daemon=True)
        self.url = url
        self.seconds = seconds
        self.size = size
        self.stop = threading.Event()
        self.frames = 0
        self.error: str | None = None
        self.sent_at: dict[int, float] = {}  # frame number → time.monotonic() when encoded

    def run(self) -> None:
        import av
        import numpy as np

        w, h = self.size
        out: Any = None
        try:
            out = av.open(self.url, "w", format="flv", timeout=(5.0, 5.0))
            s: Any = out.add_stream("libx264", rate=30)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"tune": "zerolatency", "preset": "ultrafast", "g": "15"}
            t0 = time.monotonic()
            while not self.stop.is_set() and time.monotonic() - t0 < self.seconds:
                img = np.zeros((h, w, 3), np.uint8)
                x = (self.frames * 8) % w
                img[BAR:, x : x + 16] = 255
                draw_number(img, self.frames)
                self.sent_at[self.frames] = time.monotonic()
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts, frame.time_base = self.frames, fractions.Fraction(1, 30)
                for p in s.encode(frame):
                    out.mux(p)
                self.frames += 1
                delay = t0 + self.frames / 30 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except Exception as exc:  # the server refused or closed: what the test looks at
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if out is not None:
                try:
                    out.close()
                except Exception as exc:
                    self.error = self.error or f"{type(exc).__name__}: {exc}"
