"""Recording and snapshots of live video for the desktop: calls run on the station through the
bridge (like `gcs.ui.media_bridge`, the only place the video windows reach `LiveRecording`).

One `LiveAccess` per `StationBridge` (`LiveAccess.of(bridge)`), a child of it: it relays the
station's `RecordingChanged` events to the Qt thread as `changed`, so every window showing a
camera follows its recording state, whoever started it (a window, the wall, the HTTP API).
It also sends a camera to the operator's external service (Agora, GB28181) and says where.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from gcs.station import live_external
from gcs.station.live import Live, Stream, parse_video_id
from gcs.station.live_record import ActiveRecording, LiveRecording, RecordingChanged
from gcs.station.media import MediaRow
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import language

__all__ = ["LiveAccess"]


class LiveAccess(QObject):
    changed = Signal(object)  # RecordingChanged, delivered on the Qt thread

    @classmethod
    def of(cls, bridge: StationBridge) -> LiveAccess:
        found = bridge.findChild(LiveAccess)
        return found if isinstance(found, LiveAccess) else cls(bridge)

    def __init__(self, bridge: StationBridge) -> None:
        super().__init__(bridge)
        self.bridge = bridge
        self._off: Callable[[], None] | None = None
        rt = bridge.threaded_runtime

        def forward(event: RecordingChanged) -> None:  # station thread; the signal is queued
            try:
                self.changed.emit(event)
            except RuntimeError:  # the bridge was deleted
                off, self._off = self._off, None
                if off is not None:
                    off()

        async def attach() -> None:
            self._off = rt.runtime.station.bus.subscribe(RecordingChanged, forward)

        rt.submit(attach()).result(10)
        self.destroyed.connect(lambda *_: self._detach())

    def _detach(self) -> None:
        off, self._off = self._off, None
        rt = self.bridge.threaded_runtime
        if off is not None and rt.thread.is_alive() and not rt.loop.is_closed():
            rt.loop.call_soon_threadsafe(off)

    def _recordings(self) -> LiveRecording:
        return self.bridge.threaded_runtime.runtime.station.capability(LiveRecording)

    def is_recording(self, video_id: str) -> bool:
        """Whether the station records this camera now (a cheap read, any thread)."""
        try:
            return self._recordings().recording(video_id) is not None
        except LookupError:
            return False

    def start_recording(
        self, video_id: str, on_done: Callable[[ActiveRecording | None, Any], None]
    ) -> None:
        self.bridge.run(self._recordings().start_recording(video_id, actor="desktop"), on_done)

    def stop_recording(
        self, video_id: str, on_done: Callable[[MediaRow | None, Any], None]
    ) -> None:
        self.bridge.run(self._recordings().stop_recording(video_id, actor="desktop"), on_done)

    def snapshot(
        self,
        video_id: str,
        picture: Any,
        width: int,
        height: int,
        taken_ms: int,
        on_done: Callable[[MediaRow | None, Any], None],
    ) -> None:
        """Save `picture` (RGB24, width×height; not modified afterwards) into the media library;
        the JPEG is encoded on the station's executor, not here."""
        coro = self._recordings().snapshot(
            video_id, picture, width, height, taken_ms=taken_ms, actor="desktop"
        )
        self.bridge.run(coro, on_done)

    # -- sending to an external service (Agora, GB28181) -----------------------------------

    def _live(self) -> Live:
        return self.bridge.threaded_runtime.runtime.station.capability(Live)

    def destinations(self) -> dict[int, tuple[str, str | None]]:
        """{url_type: (where it goes, what is missing or None)} of Agora (0) and GB28181 (3),
        in the desktop's language, from the settings in force."""
        cfg = self.bridge.threaded_runtime.runtime.station.settings.live
        zh = language() == "zh"
        out: dict[int, tuple[str, str | None]] = {}
        for url_type in live_external.EXTERNAL_URL_TYPES:
            try:
                live_external.external_url(url_type, cfg, "")
            except live_external.NotSetUp as err:
                out[url_type] = (live_external.NAMES[url_type], err.zh if zh else err.en)
                continue
            en, zh_text = live_external.destination(url_type, cfg)
            out[url_type] = (zh_text if zh else en, None)
        return out

    def external_streams(self, sn: str) -> list[tuple[str, str]]:
        """(video id, where it goes) of the streams of device `sn` (its cameras, or any camera
        of the gateway `sn`) sent to an external service."""
        zh = language() == "zh"
        found: list[tuple[str, str]] = []
        for s in list(self._live().streams.values()):
            parsed = parse_video_id(s.video_id)
            if s.external and sn in (s.gateway_sn, parsed[0] if parsed else ""):
                found.append((s.video_id, s.destination_zh if zh else s.destination))
        return sorted(found)

    def send(
        self, video_id: str, url_type: int, on_done: Callable[[Stream | None, Any], None]
    ) -> None:
        """Ask the device to send `video_id` to external service `url_type` (0 Agora,
        3 GB28181); `on_done(stream, error)` on the Qt thread."""
        coro = self._live().start_stream(video_id, url_type=url_type, actor="desktop")
        self.bridge.run(coro, on_done)

    def stop_sending(self, video_id: str, on_done: Callable[[None, Any], None]) -> None:
        self.bridge.run(self._live().stop_stream(video_id, actor="desktop"), on_done)
