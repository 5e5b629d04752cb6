"""The video engine (`gcs.video.ffmpeg`): Qt's LGPL FFmpeg through ctypes, checked against
files PyAV (the tests' encoder, never shipped) writes and reads."""

from __future__ import annotations

import fractions
import itertools
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from waits import wait_until

from gcs.video import ffmpeg

av = pytest.importorskip("av")
np = pytest.importorskip("numpy")

W, H, FRAMES = 320, 180, 45


def _colour(n: int) -> int:
    return (n * 5) % 250


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 pictures of H.264 (30 fps) whose red level tells which picture it is."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    out: Any = av.open(str(path), "w", format="mp4")
    out.metadata["creation_time"] = "2026-12-03T10:15:00.000000Z"
    s: Any = out.add_stream("libx264", rate=30)
    s.width, s.height, s.pix_fmt = W, H, "yuv420p"
    s.options = {"preset": "ultrafast", "tune": "zerolatency"}
    for n in range(FRAMES):
        a = np.zeros((H, W, 3), np.uint8)
        a[:, :, 0] = _colour(n)
        frame = av.VideoFrame.from_ndarray(a, format="rgb24")
        frame.pts, frame.time_base = n, fractions.Fraction(1, 30)
        for p in s.encode(frame):
            out.mux(p)
    for p in s.encode(None):
        out.mux(p)
    out.close()
    return path


def test_the_engine_is_qts_lgpl_ffmpeg() -> None:
    eng = ffmpeg.engine()
    assert "LGPL" in eng.licence and "nonfree" not in eng.licence
    assert "PySide6" in eng.where  # the libraries Qt ships, not PyAV's GPL build
    assert eng.version[0] in ffmpeg.FORMAT_MAJORS
    assert ffmpeg.unavailable() is None


def test_an_unknown_version_makes_the_engine_unavailable_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ffmpeg, "FORMAT_MAJORS", range(0))
    with pytest.raises(ffmpeg.Unavailable, match="version this station does not know"):
        ffmpeg._load()


def test_streams_metadata_and_pictures_of_a_file(clip: Path) -> None:
    with ffmpeg.Input(str(clip)) as inp:
        v = inp.video
        assert v is not None and v.codec == "h264" and (v.width, v.height) == (W, H)
        assert v.average_rate == 30
        assert inp.duration_s == pytest.approx(FRAMES / 30, abs=0.05)
        assert inp.metadata.get("creation_time", "").startswith("2026-12-03T10:15:00")
        assert v.extradata[:1] == b"\x01"  # AVCC, as MP4 carries H.264
        dec = ffmpeg.Decoder(v)
        pictures = []
        for pkt in inp.packets(v):
            pictures += dec.decode(pkt)
        pictures += dec.decode(None)
        dec.close()
    assert len(pictures) == FRAMES
    # each picture keeps its packet's time (the live window matches arrival stamps by it)
    times = [p.pts or 0 for p in pictures]
    steps = {(b - a) * v.time_base for a, b in itertools.pairwise(times)}
    assert steps == {fractions.Fraction(1, 30)}
    for n in (0, 17, FRAMES - 1):
        rgb = pictures[n].to_ndarray()
        assert rgb.shape == (H, W, 3)
        assert abs(int(rgb[H // 2, W // 2, 0]) - _colour(n)) <= 3  # the right picture, in order


def test_remux_to_mp4_and_mpegts_keeps_every_packet(clip: Path, tmp_path: Path) -> None:
    chunks: list[bytes] = []
    mp4 = tmp_path / "copy.mp4"
    with ffmpeg.Input(str(clip)) as inp:
        v = inp.video
        assert v is not None
        ts = ffmpeg.Output(chunks.append, "mpegts", {"flush_packets": "1"})
        ts_index = ts.add_stream_from(v)
        out = ffmpeg.Output(mp4, "mp4", {"movflags": "+faststart"})
        out_index = out.add_stream_from(v)
        keys = 0
        for pkt in inp.packets(v):
            keys += pkt.is_keyframe
            ts.mux(ffmpeg.Packet.new(bytes(pkt), pkt), ts_index)
            out.mux(pkt, out_index, interleave=True)
        ts.close()
        out.close()
    assert keys >= 1
    copy: Any = av.open(str(mp4))
    assert copy.streams.video[0].frames == FRAMES
    assert copy.duration / 1e6 == pytest.approx(FRAMES / 30, abs=0.05)
    copy.close()
    (tmp_path / "copy.ts").write_bytes(b"".join(chunks))
    with av.open(str(tmp_path / "copy.ts")) as tsin:
        assert sum(1 for _ in tsin.decode(video=0)) == FRAMES


def test_a_copied_packet_keeps_its_timing_and_key_flag(clip: Path) -> None:
    with ffmpeg.Input(str(clip)) as inp:
        first = next(inp.packets())
        copy = ffmpeg.Packet.new(b"\x00\x00\x00\x01\x09\xf0" + bytes(first), first)
        assert (copy.pts, copy.dts, copy.is_keyframe) == (first.pts, first.dts, True)
        assert copy.size == first.size + 6 and copy.time_base == first.time_base


def test_garbage_is_an_error_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 20)
    with pytest.raises(ffmpeg.FFmpegError):
        ffmpeg.Input(str(bad))
    with pytest.raises(ffmpeg.FFmpegError, match="cannot open"):
        ffmpeg.Input(str(tmp_path / "missing.mp4"))


def test_a_silent_source_times_out_and_a_stop_interrupts_a_blocking_read() -> None:
    """A server that accepts and never answers: opening gives up at the open timeout; a stop
    event ends a wait at once (the decoder's and recorder's threads stop promptly)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        with pytest.raises(ffmpeg.FFmpegError):
            ffmpeg.Input(f"http://127.0.0.1:{port}/x.ts", open_timeout=0.5)
        stop = threading.Event()
        failure: list[BaseException] = []

        def open_until_stopped() -> None:
            try:
                ffmpeg.Input(f"http://127.0.0.1:{port}/y.ts", open_timeout=600, stop=stop)
            except BaseException as exc:
                failure.append(exc)

        t = threading.Thread(target=open_until_stopped, daemon=True)
        t.start()
        wait_until(lambda: len(accepted) >= 2, 10, "the second connection")
        stop.set()
        t.join(10)
        assert not t.is_alive()
        assert failure and isinstance(failure[0], ffmpeg.FFmpegError)
    finally:
        listener.close()
        for s in accepted:
            s.close()
