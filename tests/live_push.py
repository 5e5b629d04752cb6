"""A test-only RTMP publisher: PyAV encodes a moving picture with libx264 and pushes it.

libx264 (GPL) comes with PyPI's PyAV wheels; it is used by tests only, never by the product.
"""

from __future__ import annotations

import fractions
import threading
import time
from typing import Any


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
                img[:, x : x + 16] = 255
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
