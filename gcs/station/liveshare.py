"""Pilot 2's live share (H5 `liveshare` module, protocol §10.2): the RTMP URL the station's H5
page configures in Pilot, so the pilot can start a share from Pilot's camera view.

Theory of operation. After its RC is bound, the H5 page asks for its share URL (`issue()`): the
station makes one stream per RC, named `{rc_sn}-share`, with a secret made for it only, adds it
to the media server and to the live streams (`Live.streams`, `share=True`) under the video id
`{rc_sn}/0-0-0/share-0` ("the RC's own share": Pilot shares whatever camera its pilot views).
The page hands the URL to Pilot with `liveshareSetConfig(2, '{"url": …}')` (2 is RTMP in the
JSBridge's numbering, not MQTT's url_type). When the pilot starts the share, the push arrives
like any other and the stream is listed as live for that RC, on the desktop and in the API; the
operator sees a line in the events when it starts and stops. Asking again returns the same URL
(Pilot keeps its configuration across page reloads). The station never stops a share itself:
the pilot does, on the RC; the station's `live_start_push` to the RC (url_type 1) is separate
and keeps working.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from gcs.protocol.errors import StationCode
from gcs.protocol.models import Domain
from gcs.station.bus import LogEntry
from gcs.station.capability import Capability
from gcs.station.commands import CommandRefused
from gcs.station.live import Live, LiveChanged, Stream

log = logging.getLogger(__name__)

#: The camera index and video index of an RC's own share in its video id.
SHARE_CAMERA = "0-0-0"
SHARE_VIDEO = "share-0"
#: The liveshare type number of RTMP in the JSBridge (§10.2: 1 Agora, 2 RTMP, 3 RTSP, 4 GB28181).
LIVESHARE_RTMP = 2


def share_video_id(rc_sn: str) -> str:
    return f"{rc_sn}/{SHARE_CAMERA}/{SHARE_VIDEO}"


def _now_ms() -> int:
    return int(time.time() * 1000)


class LiveShare(Capability):
    name = "liveshare"
    _unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self._unsubscribe = self.station.bus.subscribe(LiveChanged, self._on_live)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def issue(self, rc_sn: str, *, actor: str = "pilot") -> Stream:
        """The share stream of RC `rc_sn` (made on first use); its `ingest_url` goes to Pilot.

        Raises:
            CommandRefused: `rc_sn` is not a known RC, or the media server is not running.
        """
        view = self.station.registry.view(rc_sn)
        if view is None or not view.is_gateway or view.domain != Domain.RC:
            raise self._refuse(
                StationCode.NOT_FOUND,
                f"{rc_sn!r} is not a remote controller the station knows",
                f"{rc_sn!r} 不是地面站已知的遥控器",
                rc_sn,
            )
        live = self.station.capability(Live)
        vid = share_video_id(rc_sn)
        existing = live.stream(vid)
        if existing is not None:
            return existing
        media = await live.ensure_media()
        if media is None or live.ingest is None:
            raise self._refuse(
                StationCode.NOT_SUPPORTED,
                "the station's media server is not running, so Pilot cannot share live video",
                "地面站媒体服务器未运行，Pilot 无法分享直播",
                rc_sn,
            )
        name, secret = f"{rc_sn}-share", secrets.token_urlsafe(16)
        url = live.ingest.url(1, name, secret)
        stream = Stream(vid, rc_sn, name, secret, 1, 0, url, video_type="normal", share=True)
        stream.token = secrets.token_urlsafe(16)
        stream.started_ms = _now_ms()
        media.add(name, secret, stream.token)
        live.streams[stream.key] = stream
        self._say(rc_sn, "info", f"RC {rc_sn}: Pilot's live share is set up ({actor})")
        self.station.bus.publish(LiveChanged(_now_ms(), rc_sn, vid, "started"))
        return stream

    def _on_live(self, event: LiveChanged) -> None:
        stream = self.station.capability(Live).stream(event.video_id) if event.video_id else None
        if stream is None or not stream.share:
            return
        if event.what == "publishing":
            self._say(stream.gateway_sn, "info", f"RC {stream.gateway_sn}: Pilot is sharing live")
        elif event.what == "unpublished":
            self._say(stream.gateway_sn, "info", f"RC {stream.gateway_sn}: Pilot's share stopped")

    def _refuse(self, code: StationCode, en: str, zh: str, sn: str) -> CommandRefused:
        self._say(sn, "warning", f"live share refused: {en}")
        return CommandRefused(code, en, zh, method="liveshare", sn=sn)

    def _say(self, sn: str, level: str, message: str) -> None:
        log.log(logging.WARNING if level == "warning" else logging.INFO, "%s", message)
        self.station.bus.publish(LogEntry(_now_ms(), "live", level, message, sn))
