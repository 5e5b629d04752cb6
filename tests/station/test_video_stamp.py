"""The arrival time the media server stamps into H.264 (an SEI message): it reads back, it is
framed like the stream's other NAL units, and a decoder gives the same pictures with it."""

from __future__ import annotations

import fractions
from typing import Any

import pytest

from gcs.video import stamp


def test_the_stamp_reads_back_and_has_no_zero_bytes() -> None:
    t = 1796297842.951117
    nal = stamp.sei(t)
    assert nal[0] == 0x06 and nal[1] == 0x05 and nal[-1] == 0x80
    assert b"\x00" not in nal  # no emulation-prevention bytes needed
    assert stamp.arrival_time(b"\x00\x00\x00\x01" + nal + b"\x00\x00\x01\x65xx") == pytest.approx(
        t, abs=1e-6
    )
    assert stamp.arrival_time(b"\x00\x00\x00\x01\x65" + b"\x11" * 300) is None
    assert stamp.arrival_time(stamp.UUID + b"12ab") is None  # cut short or not digits


def test_framing_follows_the_stream() -> None:
    avcc = bytes([1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1])  # configuration version 1, 4-byte lengths
    assert stamp.nal_length_size(avcc) == 4
    assert stamp.nal_length_size(bytes([1, 0x42, 0xC0, 0x1E, 0xFD])) == 2
    assert stamp.nal_length_size(b"\x00\x00\x00\x01\x67") == 0  # Annex B extradata
    assert stamp.nal_length_size(None) == 0
    nal = stamp.sei(1.0)
    assert stamp.framed(1.0, 4) == len(nal).to_bytes(4, "big") + nal
    assert stamp.framed(1.0, 0) == b"\x00\x00\x00\x01" + nal


def test_a_decoder_gives_the_same_pictures_with_the_stamp() -> None:
    av = pytest.importorskip("av")
    np = pytest.importorskip("numpy")
    enc: Any = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = 160, 96, "yuv420p"
    enc.time_base = fractions.Fraction(1, 30)
    enc.options = {"tune": "zerolatency", "preset": "ultrafast", "g": "5"}
    packets = []
    for n in range(12):
        img = np.zeros((96, 160, 3), np.uint8)
        img[:, (n * 10) % 150 : (n * 10) % 150 + 10] = 255
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = n
        packets += enc.encode(frame)
    packets += enc.encode(None)

    def decode(stamped: bool) -> list[Any]:
        dec: Any = av.CodecContext.create("h264", "r")
        out = []
        for i, p in enumerate(packets):
            data = bytes(p)
            if stamped:
                data = stamp.framed(1000.0 + i, 0) + data
                assert stamp.arrival_time(data) == 1000.0 + i
            for f in dec.decode(av.Packet(data)):
                out.append(f.to_ndarray(format="gray"))
        for f in dec.decode(None):
            out.append(f.to_ndarray(format="gray"))
        return out

    plain, stamped = decode(False), decode(True)
    assert len(plain) == len(stamped) == 12
    assert all((a == b).all() for a, b in zip(plain, stamped, strict=True))


@pytest.mark.slow
def test_playback_carries_the_stamp_and_video_pes_lengths(tmp_path: Any) -> None:
    """The media server's MPEG-TS: each picture stamped with its arrival, and each video PES
    with its length, so a player's demuxer hands a picture on at its last byte instead of
    holding it until the next picture starts (one frame of latency)."""
    pytest.importorskip("av")
    import secrets
    import time
    import urllib.request

    from live_push import Pusher

    from gcs.video.process import MediaProcess

    media = MediaProcess(
        host="127.0.0.1", rtmp_port=0, http_port=0, log_path=tmp_path / "media.log"
    )
    media.start()
    secret, token = secrets.token_urlsafe(16), secrets.token_urlsafe(8)
    media.add("cam", secret, token)
    pusher = Pusher(f"rtmp://127.0.0.1:{media.rtmp_port}/live/cam?secret={secret}", seconds=30)
    pusher.start()
    try:
        url = f"http://127.0.0.1:{media.http_port}/live/cam.ts?token={token}"
        data = b""
        deadline = time.monotonic() + 20
        while not data and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    while len(data) < 188 * 400:
                        chunk = r.read(188 * 50)
                        if not chunk:
                            break
                        data += chunk
            except OSError:
                time.sleep(0.2)  # not publishing yet
        assert len(data) >= 188 * 400, "no playback"
        before = time.time()
        stamped = stamp.arrival_time(data[data.find(stamp.UUID) - 8 :])
        assert stamped is not None and before - 30 < stamped <= before
        lengths = []
        for i in range(0, len(data) - 188 + 1, 188):
            ts = data[i : i + 188]
            if ts[0] != 0x47 or not ts[1] & 0x40:  # sync byte, payload unit start
                continue
            start = 4 + (1 + ts[4] if ts[3] & 0x20 else 0)  # after an adaptation field
            if ts[start : start + 3] == b"\x00\x00\x01" and 0xE0 <= ts[start + 3] <= 0xEF:
                lengths.append(int.from_bytes(ts[start + 4 : start + 6], "big"))
        assert len(lengths) >= 10, "no video PES"
        assert all(n > 0 for n in lengths), lengths  # small pictures: length written
    finally:
        pusher.stop.set()
        pusher.join(10)
        media.stop()
