"""The parts of WHIP ingest (gcs.video.whip) that need no network: H.264 access units read for
keyframes, and the jitter buffer that finishes a frame at its RTP marker bit."""

from __future__ import annotations

from typing import Any

import pytest

from gcs.video.whip import is_keyframe, nal_types

SPS = b"\x00\x00\x00\x01\x67\x42\xc0\x1e"
PPS = b"\x00\x00\x00\x01\x68\xce\x3c\x80"
IDR = b"\x00\x00\x01\x65\x88\x84"
P = b"\x00\x00\x00\x01\x41\x9a\x02"


def test_nal_types_and_keyframes() -> None:
    assert nal_types(SPS + PPS + IDR) == {7, 8, 5}
    assert is_keyframe(SPS + PPS + IDR) and is_keyframe(IDR)
    assert not is_keyframe(P) and nal_types(P) == {1}
    assert nal_types(b"") == set() and nal_types(b"\x00\x00\x01") == set()


def _packet(seq: int, ts: int, data: bytes, marker: bool) -> Any:
    from aiortc.rtp import RtpPacket

    p = RtpPacket(payload_type=102, marker=int(marker), sequence_number=seq, timestamp=ts)
    p._data = data  # type: ignore[attr-defined]  # what aiortc's depayloader sets
    return p


def test_a_frame_is_finished_at_its_marker_not_at_the_next_frame() -> None:
    pytest.importorskip("aiortc")
    from aiortc.jitterbuffer import JitterBuffer

    from gcs.video.whip import marker_jitter_buffer

    stock, ours = JitterBuffer(512, is_video=True), marker_jitter_buffer()(512, is_video=True)
    frames = [
        [_packet(10, 0, b"a1", False), _packet(11, 0, b"a2", False), _packet(12, 0, b"a3", True)],
        [_packet(13, 3000, b"b1", True)],
    ]
    # aiortc's own buffer gives frame a only when frame b starts
    outs = [stock.add(p)[1] for p in frames[0]]
    assert outs == [None, None, None]
    done = stock.add(frames[1][0])[1]
    assert done is not None and done.data == b"a1a2a3"
    # ours gives it with its last packet, and b with its own
    outs = [ours.add(p)[1] for p in frames[0]]
    assert outs[:2] == [None, None] and outs[2] is not None
    assert outs[2].data == b"a1a2a3" and outs[2].timestamp == 0
    b = ours.add(frames[1][0])[1]
    assert b is not None and b.data == b"b1" and b.timestamp == 3000


def test_a_frame_with_a_gap_waits_until_the_gap_is_filled() -> None:
    pytest.importorskip("aiortc")
    from gcs.video.whip import marker_jitter_buffer

    buf = marker_jitter_buffer()(512, is_video=True)
    assert buf.add(_packet(20, 0, b"x1", False))[1] is None
    assert buf.add(_packet(22, 0, b"x3", True))[1] is None  # 21 missing: not complete
    frame = buf.add(_packet(21, 0, b"x2", False))[1]  # the retransmission arrives
    assert frame is not None and frame.data == b"x1x2x3"
    # a frame whose end was lost is given by aiortc's rule when the next frame starts
    assert buf.add(_packet(23, 3000, b"y1", False))[1] is None
    late = buf.add(_packet(25, 6000, b"z1", True))
    assert late[1] is None  # 24 (y's end) missing


def test_ice_falls_back_to_loopback_only_on_a_machine_without_a_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("aiortc")
    import ifaddr
    from aioice import ice

    from gcs.video.whip import loopback_when_alone

    monkeypatch.setattr(ice, "get_host_addresses", ice.get_host_addresses)  # undone after
    loopback_when_alone()
    lo = ifaddr.Adapter("lo", "lo", [ifaddr.IP("127.0.0.1", 8, "lo")])
    lan = ifaddr.Adapter("eth0", "eth0", [ifaddr.IP("192.0.2.7", 24, "eth0")])
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: [lo])
    assert ice.get_host_addresses(True, False) == ["127.0.0.1"]
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: [lo, lan])
    assert ice.get_host_addresses(True, False) == ["192.0.2.7"]  # a LAN: loopback stays out


def test_media_server_log_keeps_secrets_and_tokens_out(caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import urllib.error
    import urllib.request

    from gcs.video.server import MediaServer

    server = MediaServer("127.0.0.1", 0, 0)
    httpd = server.start_http()
    base = f"http://127.0.0.1:{server.http_port}"
    try:
        with caplog.at_level(logging.INFO, logger="gcs.video.server"):
            for url in (f"{base}/live/cam.ts?token=TOKEN123", f"{base}/nothing?secret=SECRET456"):
                with pytest.raises(urllib.error.HTTPError):
                    urllib.request.urlopen(url, timeout=5)
    finally:
        httpd.shutdown()
        httpd.server_close()
    text = caplog.text
    assert "token=***" in text and "secret=***" in text
    assert "TOKEN123" not in text and "SECRET456" not in text


def test_whip_without_aiortc_answers_503_in_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A media server whose build has no aiortc refuses every offer with the reason, as an
    event line for the station (which shows it to the operator)."""
    import json
    import urllib.error
    import urllib.request

    from gcs.video import whip
    from gcs.video.server import MediaServer

    monkeypatch.setattr(whip, "unavailable", lambda: "this build has no WebRTC stack (aiortc)")
    server = MediaServer("127.0.0.1", 0, 0)
    server.add("cam", "s3cret", "tok")
    httpd = server.start_http()
    url = f"http://127.0.0.1:{server.http_port}/rtc/v1/whip/?app=live&stream=cam&secret=s3cret"
    req = urllib.request.Request(url, data=b"v=0\r\n", method="POST")
    req.add_header("Content-Type", "application/sdp")
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=5)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert info.value.code == 503
    assert "aiortc" in info.value.read().decode()
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert {"event": "refused", "name": "cam"}.items() <= events[-1].items()
    assert "aiortc" in events[-1]["message"]
