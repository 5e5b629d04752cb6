"""Decoding a live stream off the GUI thread: `Decoder` reads a playback URL with FFmpeg
(`gcs.video.ffmpeg`) on its own thread and hands each decoded picture (an RGB array) to a
callback, with its frame rate and bitrate. Only the newest picture matters to a window, so a
slow consumer costs nothing here: the callback is expected to keep the latest and drop the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gcs.video import ffmpeg, stamp

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

    def stop(self) -> None:
        self._stop.set()

    def _state(self, state: str, text: str) -> None:
        try:
            self.on_state(state, text)
        except RuntimeError:  # the window listening is gone (Qt deleted the signal's source)
            self._stop.set()

    def run(self) -> None:
        missing = ffmpeg.unavailable()
        if missing is not None:
            self._state("error", missing)
            return
        while not self._stop.is_set():
            self._play_once()
            self._stop.wait(1.0)  # the device may (re)start pushing: try again

    def _play_once(self) -> None:
        options = {"fflags": "nobuffer", "analyzeduration": "200000", "probesize": "32768"}
        try:
            container = ffmpeg.Input(
                self.url, options, open_timeout=5.0, read_timeout=10.0, stop=self._stop
            )
        except Exception as exc:
            self._state("waiting", f"waiting for the picture ({exc})")
            return
        decoder: ffmpeg.Decoder | None = None
        try:
            stream = container.video
            if stream is None:
                self._state("waiting", "the stream has no video; waiting")
                return
            # slice threads only: frame threading adds a frame of latency per thread
            decoder = ffmpeg.Decoder(stream)
            self._state("playing", "")
            frames, t0 = 0, time.monotonic()
            window: list[tuple[float, int]] = []
            arrivals: dict[int | None, float | None] = {}
            for packet in container.packets(stream):
                if self._stop.is_set():
                    break
                size = packet.size
                arrival = stamp.arrival_time(packet.head(256)) if size else None
                if size:
                    arrivals[packet.pts] = arrival
                    if len(arrivals) > 64:  # frames the decoder never gave back
                        arrivals.pop(next(iter(arrivals)))
                for picture in decoder.decode(packet):
                    now = time.monotonic()
                    frames += 1
                    window.append((now, size))
                    while window and now - window[0][0] > 2.0:
                        window.pop(0)
                    span = max(1e-3, now - window[0][0]) if len(window) > 1 else 1.0
                    info = FrameInfo(
                        picture.width,
                        picture.height,
                        round((len(window) - 1) / span, 1),
                        round(sum(s for _, s in window) * 8 / 1000 / span, 1),
                        frames,
                        arrivals.pop(picture.pts, arrival),
                    )
                    self.on_frame(picture.to_ndarray(), info)
                packet.free()
            if not self._stop.is_set():
                self._state("waiting", f"the stream stopped after {frames} pictures; waiting")
            log.info("decoded %d frames in %.1f s", frames, time.monotonic() - t0)
        except Exception as exc:  # a corrupt or cut stream ends this attempt only
            self._state("waiting", f"the stream broke ({exc}); waiting")
        finally:
            if decoder is not None:
                decoder.close()
            container.close()


def first_picture(
    url: str, publishing: Callable[[], bool], timeout_s: float
) -> ffmpeg.Picture | None:
    """The first picture decoded from `url` once `publishing()` says the device pushes, or
    None if none came within `timeout_s` (blocking: for an executor)."""
    deadline = time.monotonic() + timeout_s
    options = {"fflags": "nobuffer", "analyzeduration": "500000"}
    while time.monotonic() < deadline:
        if not publishing():
            time.sleep(0.1)
            continue
        left = max(0.5, deadline - time.monotonic())
        try:
            with ffmpeg.Input(url, options, open_timeout=left, read_timeout=left) as src:
                stream = src.video
                if stream is None:
                    return None
                decoder = ffmpeg.Decoder(stream)
                try:
                    for packet in src.packets(stream):
                        pictures = decoder.decode(packet)
                        if pictures:
                            return pictures[0]
                        if time.monotonic() > deadline:
                            return None
                finally:
                    decoder.close()
        except ffmpeg.FFmpegError as exc:
            log.info("first picture of %s: %s", url.split("?", 1)[0], exc)
            time.sleep(0.2)
    return None
