"""What a DJI media file says about itself: EXIF, DJI XMP, `.SRT` telemetry, thumbnails.

Sans-IO: bytes in, values out (the station runs these in an executor, never on its loop).

DJI files vary, and every variant seen in real files is handled:

* XMP attributes under `drone-dji` (`http://www.dji.com/drone-dji/1.0/`), or the older
  `http://www.dji.com` namespace (prefix `DJI:`, Zenmuse XT S); `GpsLongtitude` (sic) as well
  as `GpsLongitude`; numbers written with a sign (`+221.404`);
* GPS only in EXIF (Mini 2, Zenmuse XT2), or in both — the EXIF position is the one the camera
  stamped and is preferred (DJI's XMP position is the aircraft's, which can differ, e.g. an
  H20T with RTK); EXIF altitude below sea level (`GPSAltitudeRef` 1);
* thermal R-JPEGs without any position: the item simply has none.

Pillow reads EXIF and decodes/downscales the image (well kept, wheels everywhere, already what
any Python image tool uses); the XMP packet is read with defusedxml (no entities, no external
references), as the WPML reader does.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from defusedxml import ElementTree
from PIL import ExifTags, Image, UnidentifiedImageError

DJI_NS = ("http://www.dji.com/drone-dji/1.0/", "http://www.dji.com")
THUMB_SIZE = 320
#: Largest image (pixels) the station decodes; Pillow's own bomb check refuses beyond 2x.
MAX_PIXELS = 200_000_000


class MediaFileError(ValueError):
    """A file that is not a readable photo (truncated, not an image, unsupported)."""


@dataclass(frozen=True, slots=True)
class MediaMeta:
    """Where and how a file was shot; None = not known from this source."""

    lat: float | None = None
    lng: float | None = None
    absolute_altitude: float | None = None
    relative_altitude: float | None = None
    gimbal_yaw: float | None = None
    gimbal_pitch: float | None = None
    gimbal_roll: float | None = None
    aircraft_yaw: float | None = None
    aircraft_pitch: float | None = None
    aircraft_roll: float | None = None
    create_time_ms: int | None = None
    camera_model: str | None = None
    image_source: str | None = None  # XMP ImageSource, e.g. "InfraredCamera"
    width: int | None = None
    height: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}

    def merged_over(self, base: MediaMeta) -> MediaMeta:
        """This (the file's) values where known, else `base`'s (the callback's)."""
        values = {
            f.name: getattr(self, f.name)
            if getattr(self, f.name) is not None
            else getattr(base, f.name)
            for f in fields(self)
            if f.name != "extra"
        }
        return replace(self, **values)


def number(value: Any) -> float | None:
    """A finite float from a DJI value (`"+32.50"`, 32.5, `"32"`), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _xmp_packet(data: bytes) -> bytes | None:
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        return None
    end = data.find(b"</x:xmpmeta>", start)
    if end < 0:
        return None
    return data[start : end + len(b"</x:xmpmeta>")]


_DUP_XMLNS = re.compile(rb'(xmlns:([\w-]+)="[^"]*")(\s+xmlns:\2="[^"]*")+')


def read_xmp(data: bytes) -> dict[str, str]:
    """The DJI attributes of the file's XMP packet (local name → text); {} if none/unreadable.

    The Zenmuse XT S declares `xmlns:DJI` twice in one element, which XML forbids: the repeat
    is dropped before parsing.
    """
    packet = _xmp_packet(data)
    if packet is None:
        return {}
    packet = _DUP_XMLNS.sub(rb"\1", packet)
    try:
        root = ElementTree.fromstring(packet)
    except Exception:  # defusedxml raises several types for hostile or broken XML
        return {}
    out: dict[str, str] = {}
    for el in root.iter():
        for name, value in el.attrib.items():
            if name.startswith("{"):
                ns, local = name[1:].split("}", 1)
                if ns in DJI_NS or (
                    ns.startswith("http://ns.adobe.com/") and local in ("CreateDate", "Model")
                ):
                    out.setdefault(local, value)
        if el.tag.startswith("{") and el.text and el.text.strip():
            ns, local = el.tag[1:].split("}", 1)
            if ns in DJI_NS:
                out.setdefault(local, el.text.strip())
    return out


def _dms(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    out = d + m / 60 + s / 3600
    if not math.isfinite(out):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode(errors="replace")
    return -out if str(ref).strip().upper() in ("S", "W") else out


def _exif_time(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        t = datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    return int(t.replace(tzinfo=UTC).timestamp() * 1000)


def parse_time(text: Any) -> int | None:
    """Epoch ms from DJI's time forms: ms number, `2021-05-10 16:04:20`, ISO-8601.

    A time without zone is read as UTC (the cameras' local time is not known).
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        v = float(text)
        if not math.isfinite(v) or v <= 0:
            return None
        return int(v if v > 1e11 else v * 1000)
    if not isinstance(text, str) or not text.strip():
        return None
    s = text.strip().replace("Z", "+00:00")
    for candidate in (s, s.replace(" ", "T", 1)):
        try:
            t = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return int(t.timestamp() * 1000)
    return None


def read_photo(data: bytes) -> MediaMeta:
    """EXIF + DJI XMP of a photo (JPEG/TIFF/...).

    Raises:
        MediaFileError: not an image Pillow can read, or truncated before its header ends.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            exif = im.getexif()
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
            sub = exif.get_ifd(ExifTags.IFD.Exif)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaFileError(f"not a readable image: {exc}") from exc
    xmp = read_xmp(data)
    lat = _dms(gps.get(2), gps.get(1)) if 2 in gps else None
    lng = _dms(gps.get(4), gps.get(3)) if 4 in gps else None
    if lat is None or lng is None:
        lat = number(xmp.get("GpsLatitude"))
        lng = number(xmp.get("GpsLongitude", xmp.get("GpsLongtitude")))
    if (
        lat is not None
        and lng is not None
        and ((lat == 0 and lng == 0) or abs(lat) > 90 or abs(lng) > 180)
    ):
        lat = lng = None  # no fix (DJI writes 0, 0)
    abs_alt = number(xmp.get("AbsoluteAltitude"))
    if abs_alt is None and 6 in gps:
        abs_alt = number(gps.get(6))
        ref = gps.get(5)
        if abs_alt is not None and ref in (b"\x01", 1):
            abs_alt = -abs_alt
    model = exif.get(272) or xmp.get("Model")
    return MediaMeta(
        lat=lat,
        lng=lng,
        absolute_altitude=abs_alt,
        relative_altitude=number(xmp.get("RelativeAltitude")),
        gimbal_yaw=number(xmp.get("GimbalYawDegree")),
        gimbal_pitch=number(xmp.get("GimbalPitchDegree")),
        gimbal_roll=number(xmp.get("GimbalRollDegree")),
        aircraft_yaw=number(xmp.get("FlightYawDegree")),
        aircraft_pitch=number(xmp.get("FlightPitchDegree")),
        aircraft_roll=number(xmp.get("FlightRollDegree")),
        create_time_ms=_exif_time(sub.get(36867) or exif.get(306))
        or parse_time(xmp.get("CreateDate")),
        camera_model=str(model).strip("\x00 ") if model else None,
        image_source=xmp.get("ImageSource"),
        width=width,
        height=height,
        extra={k: v for k, v in xmp.items() if k in ("GpsStatus", "RtkFlag", "AltitudeType")},
    )


def embedded_preview(data: bytes) -> bytes | None:
    """The JPEG preview a camera stored in EXIF IFD1, if any (DJI: 160x120)."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            ifd1 = im.getexif().get_ifd(ExifTags.IFD.IFD1)
            app1 = next(
                (
                    body
                    for marker, body in getattr(im, "applist", [])
                    if marker == "APP1" and body.startswith(b"Exif\x00\x00")
                ),
                None,
            )
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    offset, length = ifd1.get(513), ifd1.get(514)
    if app1 is None or not isinstance(offset, int) or not isinstance(length, int) or length <= 0:
        return None
    blob = app1[6 + offset : 6 + offset + length]
    return blob if blob.startswith(b"\xff\xd8") and len(blob) == length else None


def _downscale(data: bytes, size: int) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise MediaFileError(f"image of {w}x{h} pixels is too large to preview")
        im.draft("RGB", (size, size))
        im.load()
        rgb = im.convert("RGB")
        rgb.thumbnail((size, size))
        out = io.BytesIO()
        rgb.save(out, "JPEG", quality=80)
        return out.getvalue()


def thumbnail(data: bytes, size: int = THUMB_SIZE) -> tuple[bytes, str]:
    """A JPEG no larger than `size` px on its long side, and how it was made.

    The image is downscaled (JPEG draft mode decodes at 1/2..1/8, so a 12 MP photo costs a
    fraction of a full decode); when the image data is damaged (a truncated file) the camera's
    embedded EXIF preview is used instead ("embedded").

    Raises:
        MediaFileError: neither a decodable image nor an embedded preview.
    """
    errors = (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    )
    try:
        return _downscale(data, size), "downscaled"
    except errors as exc:
        preview = embedded_preview(data)
        if preview is not None:
            try:
                return _downscale(preview, size), "embedded"
            except errors:
                pass
        raise MediaFileError(f"cannot make a preview: {exc}") from exc


def preview_thumbnail(data: bytes, size: int = THUMB_SIZE) -> bytes | None:
    """A thumbnail from the camera's embedded EXIF preview alone (None if it has none).

    The preview sits in the first kilobytes of the file, so a thumbnail costs a ranged read
    and a 160x120 decode instead of the whole 4-20 MB photo and a 12-48 MP decode.
    """
    preview = embedded_preview(data)
    if preview is None:
        return None
    try:
        return _downscale(preview, size)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, MediaFileError):
        return None


# -- .SRT telemetry ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackPoint:
    t_ms: int  # from the video's start
    lat: float
    lng: float
    abs_alt: float | None = None
    rel_alt: float | None = None
    gimbal_yaw: float | None = None
    time: str = ""


_CUE = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{3})\s*-->")
_FIELD = re.compile(
    r"\[?\s*(latitude|longitude|longtitude|rel_alt|abs_alt|gb_yaw)\s*:\s*([-+\d.]+)"
)
_GPS = re.compile(r"GPS\(\s*([-+\d.]+)\s*,\s*([-+\d.]+)\s*,\s*([-+\d.]+)M?\s*\)")
_BARO = re.compile(r"BAROMETER:\s*([-+\d.]+)")
_STAMP = re.compile(r"^(\d{4}[-.]\d\d[-.]\d\d \d\d:\d\d:\d\d)", re.M)


def parse_srt(text: str) -> list[TrackPoint]:
    """The track of a DJI `.SRT` subtitle: one point per block that carries a position.

    Understands the `[latitude: ..] [longitude: ..]` forms (M300 RTK, Mavic 3T, M2EA with
    `longtitude`) and the older `GPS(lat,lon,alt) BAROMETER:h` form. Blocks without a valid
    position (0, 0 before a fix) are skipped.
    """
    points: list[TrackPoint] = []
    for block in re.split(r"\r?\n\s*\r?\n(?=\s*\d+\s*\r?\n\s*\d+:\d\d)", text):
        cue = _CUE.search(block)
        if cue is None:
            continue
        h, m, s, ms = (int(g) for g in cue.groups())
        t_ms = ((h * 60 + m) * 60 + s) * 1000 + ms
        values = {k.replace("longtitude", "longitude"): number(v) for k, v in _FIELD.findall(block)}
        lat, lng = values.get("latitude"), values.get("longitude")
        abs_alt, rel_alt = values.get("abs_alt"), values.get("rel_alt")
        gps = _GPS.search(block)
        if (lat is None or lng is None) and gps is not None:
            lat, lng = number(gps.group(1)), number(gps.group(2))
            abs_alt = number(gps.group(3))
            baro = _BARO.search(block)
            rel_alt = number(baro.group(1)) if baro else None
        if lat is None or lng is None or (lat == 0 and lng == 0) or abs(lat) > 90 or abs(lng) > 180:
            continue
        stamp = _STAMP.search(block)
        points.append(
            TrackPoint(
                t_ms,
                lat,
                lng,
                abs_alt,
                rel_alt,
                values.get("gb_yaw"),
                stamp.group(1) if stamp else "",
            )
        )
    return points
