"""The simulator's camera without an H.264 encoder (the installers'): lossless I_PCM H.264 of
its own (`gcs.sim.pcm264`), muxed and pushed with the station's video engine (Qt's FFmpeg),
decoded by FFmpeg with the sending time read back exactly."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from waits import wait_until

from gcs.sim.pcm264 import Encoder
from gcs.sim.video import CameraPush, draw_time_ms, picture, read_time_ms
from gcs.video import ffmpeg

np = pytest.importorskip("numpy")
PORTS_ANY = ("--rtmp-port", "0", "--http-port", "0")


def _decode(path: Path) -> list[Any]:
    with ffmpeg.Input(str(path)) as inp:
        v = inp.video
        assert v is not None and v.codec == "h264"
        dec = ffmpeg.Decoder(v)
        pictures = []
        for pkt in inp.packets(v):
            pictures += dec.decode(pkt)
        pictures += dec.decode(None)
        dec.close()
    return pictures


@pytest.mark.parametrize("size", [(640, 360), (200, 120)])
def test_pictures_come_back_as_they_were_drawn(tmp_path: Path, size: tuple[int, int]) -> None:
    w, h = size
    enc = Encoder(w, h, gop=10)
    out_path = tmp_path / "cam.ts"
    out = ffmpeg.Output(out_path, "mpegts")
    index = out.add_video_stream("h264", w, h, enc.extradata, Fraction(1, 15))
    drawn, sizes, keys = [], [], []
    for n in range(25):
        img = picture(n, size, "zoom")
        draw_time_ms(img, 4_000_000_000 + n * 67)
        au, key = enc.encode(img)
        drawn.append(img)
        sizes.append(len(au))
        keys.append(key)
        out.mux(ffmpeg.Packet.new(au, time_base=Fraction(1, 15), pts=n, key=key), index)
    out.close()
    assert keys == [n % 10 == 0 for n in range(25)]
    assert max(sizes[1:10]) < sizes[0] / 4  # only what changed is sent between key frames
    pictures = _decode(out_path)
    assert len(pictures) == 25
    for n, pic in enumerate(pictures):
        assert (pic.width, pic.height) == size  # the cropping to a size not of 16s holds
        rgb = pic.to_ndarray()
        if w >= 320:  # the time band needs room for its 32 blocks
            assert read_time_ms(rgb) == 4_000_000_000 + n * 67
        # lossless but for the RGB → YUV 4:2:0 → RGB round trip
        assert np.abs(rgb.astype(int) - drawn[n].astype(int)).mean() < 2.0


def test_a_picture_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError):
        Encoder(641, 360)
    with pytest.raises(ValueError, match="640x360"):
        Encoder(640, 360).encode(np.zeros((100, 100, 3), np.uint8))


def test_the_camera_pushes_to_the_media_server_over_rtmp(tmp_path: Path) -> None:
    """`CameraPush(kind="pcm")` into the station's media server (`gcs media`, a child process
    as in the station): accepted with the stream's secret, played back with the time."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcs", "media", "--host", "127.0.0.1", *PORTS_ANY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    events: list[dict[str, Any]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            events.append(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    cam: CameraPush | None = None
    try:
        ready = wait_until(
            lambda: next((e for e in events if e["event"] in ("ready", "failed")), None),
            60,
            "the media server ready",
        )
        assert ready["event"] == "ready", ready
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"op": "add", "name": "c", "secret": "s", "token": "t"}))
        proc.stdin.write("\n")
        proc.stdin.flush()
        url = f"rtmp://127.0.0.1:{ready['rtmp_port']}/live/c?secret=s"
        cam = CameraPush(url, 2, "wide", kind="pcm")
        assert cam.size == (640, 360)  # the lossless camera stays small
        cam.start()
        wait_until(lambda: any(e["event"] == "publishing" for e in events), 30, "publishing")
        playback = f"http://127.0.0.1:{ready['http_port']}/live/c.ts?token=t"
        with ffmpeg.Input(playback, {"fflags": "nobuffer"}) as inp:
            v = inp.video
            assert v is not None and (v.width, v.height) == (640, 360)
            dec = ffmpeg.Decoder(v)
            times: list[int] = []
            for pkt in inp.packets(v):
                times += [read_time_ms(p.to_ndarray()) for p in dec.decode(pkt)]
                if len(times) >= 10:
                    break
            dec.close()
        assert times == sorted(times) and times[-1] > times[0], times
        assert cam.connections == 1 and not cam.last_error
    finally:
        if cam is not None:
            cam.stop()
            cam.join(10)
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
