"""Decoding a live stream off the GUI thread: `Decoder` reads a playback URL with PyAV on its
own thread and hands each decoded picture (an RGB array) to a callback, with its frame rate and
bitrate. Only the newest picture matters to a window, so a slow consumer costs nothing here: the
callback is expected to keep the latest and drop the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gcs.video import stamp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FrameInfo:
    width: int
    height: int
    fps: float
    kbps: float
    frames: int
    #: time.time() when the picture's packet reached the media server (stamped into the
    #: stream by it, `gcs.video.stamp`); None for a stream without the stamp.
    arrival_s: float | None = None


OnFrame = Callable[[Any, FrameInfo], None]
OnState = Callable[[str, str], None]
"""(state, message): "playing", "waiting" (no picture yet, or it stopped: retried every second)
or "error" (it cannot play at all), with the reason in words."""


class Decoder(threading.Thread):
    def __init__(self, url: str, on_frame: OnFrame, on_state: OnState) -> None:
        super().__init__(name="video-decoder", daemon=True)
        self.url = url
        self.on_frame = on_frame
        self.on_state = on_state
        self._stop = threading.Event()
        self._container: Any = None

    def stop(self) -> None:
        self._stop.set()

    def _state(self, state: str, text: str) -> None:
        try:
            self.on_state(state, text)
        except RuntimeError:  # the window listening is gone (Qt deleted the signal's source)
            self._stop.set()

    def run(self) -> None:
        try:
            import av  # noqa: F401
        except ImportError:
            self._state("error", "this build has no video engine (PyAV)")
            return
        while not self._stop.is_set():
            self._play_once()
            self._stop.wait(1.0)  # the device may (re)start pushing: try again

    def _play_once(self) -> None:
        import av

        options = {"fflags": "nobuffer", "analyzeduration": "200000", "probesize": "32768"}
        try:
            container: Any = av.open(self.url, options=options, timeout=(5.0, 10.0))
        except Exception as exc:
            self._state("waiting", f"waiting for the picture ({exc})")
            return
        try:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # frame threading adds a frame of latency per thread
            self._state("playing", "")
            frames, t0 = 0, time.monotonic()
            window: list[tuple[float, int]] = []
            arrivals: dict[int | None, float | None] = {}
            for packet in container.demux(stream):
                if self._stop.is_set():
                    break
                if packet.size:
                    arrivals[packet.pts] = stamp.arrival_time(memoryview(packet))
                    if len(arrivals) > 64:  # frames the decoder never gave back
                        arrivals.pop(next(iter(arrivals)))
                for frame in packet.decode():
                    now = time.monotonic()
                    frames += 1
                    window.append((now, packet.size))
                    while window and now - window[0][0] > 2.0:
                        window.pop(0)
                    span = max(1e-3, now - window[0][0]) if len(window) > 1 else 1.0
                    info = FrameInfo(
                        frame.width,
                        frame.height,
                        round((len(window) - 1) / span, 1),
                        round(sum(s for _, s in window) * 8 / 1000 / span, 1),
                        frames,
                        arrivals.pop(frame.pts, None),
                    )
                    self.on_frame(frame.to_ndarray(format="rgb24"), info)
            if not self._stop.is_set():
                self._state("waiting", f"the stream stopped after {frames} pictures; waiting")
            log.info("decoded %d frames in %.1f s", frames, time.monotonic() - t0)
        except Exception as exc:  # a corrupt or cut stream ends this attempt only
            self._state("waiting", f"the stream broke ({exc}); waiting")
        finally:
            container.close()
