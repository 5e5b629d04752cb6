"""Recording a live stream to MP4 without re-encoding.

Theory of operation. A `Recorder` is one more viewer of the media server: it reads the stream's
playback URL (MPEG-TS over HTTP) with FFmpeg (`gcs.video.ffmpeg`) on its own thread and copies
the H.264 packets into an MP4 muxer whose stream is made from the input stream as a template —
nothing is decoded or encoded, so the file has the device's own resolution, profile and bitrate.
The file is fragmented MP4 written fragment by fragment (`MP4_OPTIONS`), so a recording the
station could not finish still plays up to its last second (`salvage` turns it into a plain MP4
at the next start). The file starts at a key frame (packets before the first one are dropped)
and its timestamps are moved to start at zero; a packet whose decoding time does not advance (a
device glitch the MP4 muxer refuses) is dropped and counted. `stop()` ends the recording; a
stream that ends by itself ends it too. Either way the muxer is closed, so the MP4 index is
written and the file plays.

The result (`Recording`) says where the file is, how long it is and how it ended; `on_done` is
called with it on the recorder's thread when it has finished (the caller moves it on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gcs.video import ffmpeg

log = logging.getLogger(__name__)

#: How long to wait for the playback URL to give a stream before giving up.
OPEN_TIMEOUT_S = 10.0
#: How long a stream may be silent before the recording is ended.
READ_TIMEOUT_S = 10.0
#: Fragmented MP4: the index travels with each fragment (one per key frame, at most a second
#: long) and every fragment reaches the disk when written, so a recording cut short by a crash
#: or a power cut keeps everything up to its last second (`salvage`).
MP4_OPTIONS = {
    "movflags": "+frag_keyframe+empty_moov+default_base_moof",
    "frag_duration": "1000000",
    "flush_packets": "1",
}


class NoVideoEngine(RuntimeError):
    """This installation has no video engine: nothing can be recorded."""


def have_engine() -> bool:
    return ffmpeg.unavailable() is None


@dataclass(frozen=True, slots=True)
class Recording:
    """How a recording ended. `frames` 0 means no file was written (`path` does not exist)."""

    path: Path
    frames: int
    duration_s: float
    width: int
    height: int
    codec: str
    started_at: float  # time.time() of the first key frame written
    ended_by: str  # "stop" | "stream ended" | "error"
    problem: str = ""
    dropped: int = 0


OnDone = Callable[[Recording], None]


class Recorder(threading.Thread):
    """Copy the stream at `url` into the MP4 file `path` until `stop()` or the stream ends."""

    def __init__(
        self,
        url: str,
        path: Path,
        on_done: OnDone | None = None,
        *,
        publishing: Callable[[], bool] | None = None,
    ) -> None:
        """`publishing()` says whether the device pushes the stream now: the URL is not read
        before it does (so a recording of a device that never pushes stops at once)."""
        super().__init__(name="video-recorder", daemon=True)
        self.url = url
        self.path = path
        self.on_done = on_done
        self.publishing = publishing
        self.frames = 0
        self.result: Recording | None = None
        self._halt = threading.Event()
        self._first_key = threading.Event()

    def stop(self) -> None:
        self._halt.set()

    def wait_started(self, timeout: float) -> bool:
        """True once the first key frame is in the file."""
        return self._first_key.wait(timeout)

    def run(self) -> None:
        try:
            result = self._record()
        except Exception as exc:  # a bug must still end with a result the caller can show
            log.exception("recorder for %s", self.path)
            result = self._result(0.0, 0, 0, "", "error", f"recording failed: {exc}", 0, 0.0)
        self.result = result
        if self.on_done is not None:
            self.on_done(result)

    def _result(
        self,
        duration: float,
        width: int,
        height: int,
        codec: str,
        ended_by: str,
        problem: str,
        dropped: int,
        started_at: float,
    ) -> Recording:
        return Recording(
            self.path,
            self.frames,
            round(duration, 3),
            width,
            height,
            codec,
            started_at,
            ended_by,
            problem,
            dropped,
        )

    def _record(self) -> Recording:
        missing = ffmpeg.unavailable()
        if missing is not None:
            return self._result(0.0, 0, 0, "", "error", f"cannot record: {missing}", 0, 0.0)
        src: ffmpeg.Input | None = None
        while src is None:  # the device may not push yet: wait for it until stopped
            if self.publishing is not None and not self.publishing():
                if self._halt.wait(0.1):
                    why = "no picture arrived before the recording was stopped"
                    return self._result(0.0, 0, 0, "", "stop", why, 0, 0.0)
                continue
            try:
                src = ffmpeg.Input(
                    self.url,
                    {"fflags": "nobuffer", "analyzeduration": "500000"},
                    open_timeout=OPEN_TIMEOUT_S,
                    read_timeout=READ_TIMEOUT_S,
                    stop=self._halt,
                )
            except Exception as exc:
                log.info("recording %s: no stream yet: %s", self.path.name, exc)
                if self._halt.wait(1.0):
                    why = f"no picture arrived before the recording was stopped ({exc})"
                    return self._result(0.0, 0, 0, "", "stop", why, 0, 0.0)
        try:
            if src.video is None:
                return self._result(0.0, 0, 0, "", "error", "the stream has no video", 0, 0.0)
            return self._copy(src, src.video)
        finally:
            src.close()

    def _copy(self, src: ffmpeg.Input, vs: ffmpeg.Stream) -> Recording:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_name(self.path.name + ".part")
        out = ffmpeg.Output(part, "mp4", MP4_OPTIONS)
        index = out.add_stream_from(vs)
        width, height = vs.width, vs.height
        codec = vs.codec
        origin: int | None = None
        last_dts = -1
        first_t = last_t = 0.0
        started_at = 0.0
        dropped = 0
        ended_by, problem = "stream ended", ""
        try:
            for packet in src.packets(vs):
                if self._halt.is_set():
                    ended_by = "stop"
                    break
                if packet.dts is None or packet.size == 0:
                    continue
                if origin is None:
                    if not packet.is_keyframe:
                        continue
                    origin = packet.dts
                    started_at = time.time()
                dts = packet.dts - origin
                pts = (packet.pts if packet.pts is not None else packet.dts) - origin
                if dts <= last_dts or pts < 0:
                    dropped += 1
                    continue
                last_dts = dts
                packet.dts, packet.pts = dts, pts
                t = float(dts * packet.time_base)
                first_t = t if self.frames == 0 else first_t
                last_t = t
                out.mux(packet, index, interleave=True)
                self.frames += 1
                if self.frames == 1:
                    self._first_key.set()
            else:
                ended_by = "stream ended" if not self._halt.is_set() else "stop"
        except Exception as exc:  # a cut or corrupt stream ends the recording, the file stays
            ended_by = "stream ended"
            log.info("recording %s: the stream ended: %s", self.path.name, exc)
            if self.frames == 0:
                problem = f"the stream broke: {exc}"
        finally:
            try:
                out.close()
            except Exception as exc:
                problem = problem or f"the MP4 could not be finished: {exc}"
                ended_by = "error"
        if self.frames == 0:
            part.unlink(missing_ok=True)
            why = problem or "no picture arrived (no key frame) before the recording ended"
            return self._result(0.0, width, height, codec, "error", why, dropped, 0.0)
        part.replace(self.path)
        fps = self.frames / max(1e-3, last_t - first_t) if self.frames > 1 else 30.0
        duration = last_t - first_t + 1.0 / fps
        return self._result(duration, width, height, codec, ended_by, problem, dropped, started_at)


def salvage(part: Path) -> Path | None:
    """A recording cut short (the station stopped while writing `NAME.mp4.part`): its complete
    fragments copied into a plain `NAME.mp4` beside it, and the `.part` removed. None when
    nothing in it can be read (the `.part` is left alone). Blocking."""
    target = part.with_name(part.name.removesuffix(".part"))
    scratch = target.with_name(target.name + ".salvage")
    frames = 0
    try:
        with ffmpeg.Input(str(part)) as src:
            vs = src.video
            if vs is None:
                return None
            out = ffmpeg.Output(scratch, "mp4", {"movflags": "+faststart"})
            index = out.add_stream_from(vs)
            try:
                for packet in src.packets(vs):
                    out.mux(packet, index, interleave=True)
                    frames += 1
            except ffmpeg.FFmpegError as exc:  # the fragment the crash cut
                log.info("salvaging %s: the end is cut: %s", part.name, exc)
            out.close()
    except (ffmpeg.FFmpegError, ffmpeg.Unavailable, OSError) as exc:
        log.info("salvaging %s: %s", part.name, exc)
        frames = 0
    if frames == 0:
        scratch.unlink(missing_ok=True)
        return None
    scratch.replace(target)
    part.unlink()
    return target
