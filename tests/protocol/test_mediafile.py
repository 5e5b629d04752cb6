"""What real DJI files say about themselves (shared/data/media, README's expected values), and
what the reader does with files that are not what they claim."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from station_harness import SHARED_DATA

from gcs.protocol.mediafile import (
    MediaFileError,
    number,
    parse_srt,
    parse_time,
    preview_thumbnail,
    read_photo,
    read_xmp,
    thumbnail,
)

PHOTOS = SHARED_DATA / "media" / "photos"
SRT = SHARED_DATA / "media" / "srt"

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"shared data folder {SHARED_DATA} is not present"
)

# file: lat, lng, absolute altitude, relative altitude, gimbal yaw, gimbal pitch (README)
EXPECTED = {
    "DJI_H20T.jpg": (40.563781, -79.764963, 221.404, 16.508, 32.5, -10.5),
    "H20T.JPG": (30.133225, 120.396122, 26.678, 10.766, 137.0, -28.9),
    "DJI_XTS.jpg": (36.729694, 119.843342, -29.44, 37.70, 91.3, 19.9),
    "DJI_XT2.jpg": (9.972157, 76.377786, 39.156853, 1.9, 82.4, 0.0),
    "DJI_0060.JPG": (33.625066, -116.405053, 1032.8, 122.3, 0.0, 0.0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_photos(name: str) -> None:
    lat, lng, abs_alt, rel_alt, yaw, pitch = EXPECTED[name]
    m = read_photo((PHOTOS / name).read_bytes())
    assert m.lat == pytest.approx(lat, abs=1e-6)
    assert m.lng == pytest.approx(lng, abs=1e-6)
    assert m.absolute_altitude == pytest.approx(abs_alt, abs=1e-3)
    assert m.relative_altitude == pytest.approx(rel_alt, abs=1e-3)
    assert m.gimbal_yaw == pytest.approx(yaw, abs=1e-3)
    assert m.gimbal_pitch == pytest.approx(pitch, abs=1e-3)
    assert m.create_time_ms is not None


def test_capture_times_and_cameras() -> None:
    h20t = read_photo((PHOTOS / "DJI_H20T.jpg").read_bytes())
    assert parse_time("2021-05-28 10:33:46") == h20t.create_time_ms
    assert h20t.camera_model == "ZH20T"
    assert read_photo((PHOTOS / "H20T.JPG").read_bytes()).image_source == "InfraredCamera"
    assert read_photo((PHOTOS / "DJI_XT2.jpg").read_bytes()).camera_model == "FLIR"


def test_older_dji_namespace_with_a_repeated_declaration() -> None:
    xmp = read_xmp((PHOTOS / "DJI_XTS.jpg").read_bytes())
    assert xmp["AbsoluteAltitude"] == "-29.44" and xmp["GimbalPitchDegree"] == "+19.90"


def test_gps_longtitude_spelling_and_xmp_only_position() -> None:
    im = Image.new("RGB", (32, 24), "gray")
    out = io.BytesIO()
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:GpsLatitude="22.5" '
        'drone-dji:GpsLongtitude="+113.9" drone-dji:AbsoluteAltitude="abc"/></rdf:RDF>'
        "</x:xmpmeta>"
    )
    im.save(out, "JPEG", xmp=xmp.encode())
    m = read_photo(out.getvalue())
    assert (m.lat, m.lng) == (22.5, 113.9)
    assert m.absolute_altitude is None  # not a number: unknown, not a crash


def test_thumbnails() -> None:
    for name in EXPECTED:
        thumb, how = thumbnail((PHOTOS / name).read_bytes())
        with Image.open(io.BytesIO(thumb)) as im:
            assert max(im.size) <= 320 and im.format == "JPEG"
        # DJI_XTS.jpg's image data ends 22 bytes early: its embedded preview is used
        assert how == ("embedded" if name == "DJI_XTS.jpg" else "downscaled")


def test_bad_files() -> None:
    whole = (PHOTOS / "H20T.JPG").read_bytes()
    for data in (b"", b"not an image at all", whole[:300]):
        with pytest.raises(MediaFileError):
            read_photo(data)
        with pytest.raises(MediaFileError):
            thumbnail(data)
    assert number("north") is None and number(float("nan")) is None and number(True) is None
    assert number("+32.50") == 32.5
    assert parse_time("yesterday") is None and parse_time("2021-05-10 16:04:20") is not None


@pytest.mark.parametrize(
    ("name", "points", "first"),
    [
        ("DJI_M300RTK.SRT", 7, (49.125749, 14.634775, 535.407)),
        ("DJI_MAVIC_3T.SRT", 12, (50.106373, 14.495168, 327.094)),
        ("DJI_MAVIC_ENTERPRISE_ADVANCED.SRT", 10, (49.128048, 14.635630, 485.386)),
        ("matrice_300.srt", 381, (36.6146, -6.1120, 0.0)),
    ],
)
def test_srt_tracks(name: str, points: int, first: tuple[float, float, float]) -> None:
    track = parse_srt((SRT / name).read_text(encoding="utf-8", errors="replace"))
    assert len(track) == points
    assert (track[0].lat, track[0].lng, track[0].abs_alt) == pytest.approx(first)
    assert [p.t_ms for p in track] == sorted(p.t_ms for p in track)
    assert parse_srt("garbage\n\n1\nno cue") == []


def test_the_head_of_a_large_photo_is_enough() -> None:
    """EXIF, XMP and the embedded preview of a 4 MB, 12 MP photo are in its first 256 KB."""
    whole = (PHOTOS / "DJI_0060.JPG").read_bytes()
    head = whole[: 256 * 1024]
    assert read_photo(head) == read_photo(whole)
    preview = preview_thumbnail(head)
    assert preview is not None
    with Image.open(io.BytesIO(preview)) as im:
        assert im.format == "JPEG" and 100 <= max(im.size) <= 320
    assert preview_thumbnail(b"\xff\xd8 no exif") is None
