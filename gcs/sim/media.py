"""Media a simulated dock uploads after a flight: photos to the station's object store.

After landing, a real dock asks the cloud for storage credentials (`storage_config_get`,
protocol §6), PUTs each photo of the flight to the S3-compatible endpoint it was given, and
reports each one with a `file_upload_callback` event (§5). Uploads are signed with AWS
Signature Version 4 and the temporary session token, written here with the standard library
only (the simulator needs no S3 client).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import io
import logging
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from PIL import Image

from gcs.sim.link import LinkError
from gcs.sim.messages import result_of

if TYPE_CHECKING:
    from gcs.sim.dock import SimDock

log = logging.getLogger(__name__)


class UploadError(Exception):
    """The store refused or could not be reached; `status` is the HTTP status (0 if none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class StorageGrant:
    """The DJI STS object of a `storage_config_get` reply."""

    bucket: str
    access_key_id: str
    access_key_secret: str
    security_token: str
    endpoint: str
    object_key_prefix: str
    region: str
    provider: str

    @classmethod
    def from_output(cls, output: Any) -> StorageGrant:
        """Read the reply's `output`.

        Raises:
            ValueError: a field is missing or not text.
        """
        if not isinstance(output, dict):
            raise ValueError("storage_config_get output is not an object")
        creds = output.get("credentials")
        if not isinstance(creds, dict):
            raise ValueError("storage_config_get output has no credentials object")

        def text(obj: dict[str, Any], key: str, required: bool = True) -> str:
            value = obj.get(key, "")
            if not isinstance(value, str) or (required and not value):
                raise ValueError(f"storage_config_get: {key!r} must be a non-empty string")
            return value

        return cls(
            bucket=text(output, "bucket"),
            access_key_id=text(creds, "access_key_id"),
            access_key_secret=text(creds, "access_key_secret"),
            security_token=text(creds, "security_token", required=False),
            endpoint=text(output, "endpoint").rstrip("/"),
            object_key_prefix=text(output, "object_key_prefix", required=False).strip("/"),
            region=text(output, "region", required=False) or "us-east-1",
            provider=text(output, "provider", required=False),
        )

    def object_key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.object_key_prefix, *parts) if p)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_put(
    grant: StorageGrant,
    key: str,
    body: bytes,
    content_type: str,
    now: datetime.datetime | None = None,
) -> urllib.request.Request:
    """A path-style S3 PUT of `body` to `key`, signed with SigV4 and the session token."""
    now = now or datetime.datetime.now(datetime.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urlsplit(grant.endpoint)
    base_path = parts.path.rstrip("/")
    path = quote(f"{base_path}/{grant.bucket}/{key}", safe="/-_.~")
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {
        "content-type": content_type,
        "host": parts.netloc,
        "x-amz-content-sha256": payload_hash,
        "x-amz-date": amz_date,
    }
    if grant.security_token:
        headers["x-amz-security-token"] = grant.security_token
    names = sorted(headers)
    canonical = "\n".join(
        [
            "PUT",
            path,
            "",
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            payload_hash,
        ]
    )
    scope = f"{day}/{grant.region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key_bytes = _hmac(("AWS4" + grant.access_key_secret).encode(), day)
    for part in (grant.region, "s3", "aws4_request"):
        key_bytes = _hmac(key_bytes, part)
    signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={grant.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    url = f"{parts.scheme}://{parts.netloc}{path}"
    request = urllib.request.Request(url, data=body, method="PUT")
    for name, value in headers.items():
        if name != "host":
            request.add_header(name, value)
    return request


def put_object(grant: StorageGrant, key: str, body: bytes, content_type: str) -> None:
    """Upload one object (blocking; run it in an executor).

    Raises:
        UploadError: the store answered an error status or could not be reached.
    """
    request = signed_put(grant, key, body, content_type)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the station's own certificate
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace")
        raise UploadError(f"PUT {key}: HTTP {exc.code} {detail}", exc.code) from None
    except OSError as exc:
        raise UploadError(f"PUT {key}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Shot:
    """Where and when a photo was taken, and where the camera pointed."""

    taken_at: datetime.datetime
    latitude: float
    longitude: float
    height: float  # ellipsoidal
    elevation: float  # above take-off
    gimbal_yaw: float
    gimbal_pitch: float = -90.0
    aircraft_yaw: float | None = None  # None: the gimbal's
    aircraft_pitch: float = 0.0


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


#: XMP ImageSource of each DJI file-name lens suffix (DJI_..._0001_W.JPG).
IMAGE_SOURCES = {"W": "WideCamera", "Z": "ZoomCamera", "T": "InfraredCamera", "V": "VisibleCamera"}


def image_source(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    return IMAGE_SOURCES.get(stem.rsplit("_", 1)[-1].upper(), "VisibleCamera")


def dji_photo(
    shot: Shot,
    camera_model: str = "M3TD",
    size: tuple[int, int] = (640, 480),
    source: str = "VisibleCamera",
) -> bytes:
    """A real JPEG carrying what a DJI camera writes: EXIF (make, model, capture time, GPS
    position and altitude) and DJI XMP (`drone-dji`: position, altitudes, gimbal and flight
    angles), all matching `shot`. The picture is a plain gradient (cheap to encode)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "DJI"  # Make
    exif[0x0110] = camera_model  # Model
    stamp = shot.taken_at.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = stamp  # DateTime
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = stamp  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[0] = b"\x02\x03\x00\x00"
    gps[1] = "N" if shot.latitude >= 0 else "S"
    gps[2] = _dms(shot.latitude)
    gps[3] = "E" if shot.longitude >= 0 else "W"
    gps[4] = _dms(shot.longitude)
    gps[5] = b"\x00" if shot.height >= 0 else b"\x01"
    gps[6] = round(abs(shot.height), 3)
    flight_yaw = shot.gimbal_yaw if shot.aircraft_yaw is None else shot.aircraft_yaw
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="DJI Meta Data" '
        'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" '
        f'xmp:CreateDate="{shot.taken_at.strftime("%Y-%m-%dT%H:%M:%S")}" '
        f'tiff:Make="DJI" tiff:Model="{camera_model}" '
        f'drone-dji:Version="1.5" drone-dji:ImageSource="{source}" '
        'drone-dji:GpsStatus="RTK" drone-dji:AltitudeType="RtkAlt" '
        f'drone-dji:GpsLatitude="{shot.latitude:+.7f}" '
        f'drone-dji:GpsLongitude="{shot.longitude:+.7f}" '
        f'drone-dji:AbsoluteAltitude="{shot.height:+.3f}" '
        f'drone-dji:RelativeAltitude="{shot.elevation:+.3f}" '
        'drone-dji:GimbalRollDegree="+0.00" '
        f'drone-dji:GimbalYawDegree="{shot.gimbal_yaw:+.2f}" '
        f'drone-dji:GimbalPitchDegree="{shot.gimbal_pitch:+.2f}" '
        'drone-dji:FlightRollDegree="+0.00" '
        f'drone-dji:FlightYawDegree="{flight_yaw:+.2f}" '
        f'drone-dji:FlightPitchDegree="{shot.aircraft_pitch:+.2f}"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif, xmp=xmp.encode())
    return out.getvalue()


def photo_name(shot: Shot, index: int) -> str:
    """DJI's file name pattern: DJI_<yyyymmddHHMMSS>_<nnnn>_V.JPG (V = visible)."""
    return f"DJI_{shot.taken_at.strftime('%Y%m%d%H%M%S')}_{index:04d}_V.JPG"


def short_mp4(shot: Shot, seconds: float = 1.0, size: tuple[int, int] = (320, 240)) -> bytes:
    """A real H.264 MP4 (a moving gradient) whose container says when it was shot."""
    import av  # the sim needs FFmpeg only to make videos
    from av.video.stream import VideoStream

    out = io.BytesIO()
    container = av.open(out, "w", format="mp4")
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    stream = container.add_stream(codec, rate=30)
    assert isinstance(stream, VideoStream)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    container.metadata["creation_time"] = shot.taken_at.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    for i in range(max(1, int(seconds * 30))):
        frame = av.VideoFrame.from_image(base.rotate(i * 3))  # type: ignore[no-untyped-call]
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return out.getvalue()


def upload_callback_data(
    shot: Shot,
    *,
    name: str,
    object_key: str,
    flight_id: str,
    drone_model_key: str,
    payload_model_key: str,
) -> dict[str, Any]:
    """`file_upload_callback` data for one uploaded photo (docs example form + `result`)."""
    return {
        "result": 0,
        "file": {
            "cloud_to_cloud_id": "DEFAULT",
            "object_key": object_key,
            "path": flight_id,
            "name": name,
            "ext": {
                "flight_id": flight_id,
                "drone_model_key": drone_model_key,
                "payload_model_key": payload_model_key,
                "is_original": True,
            },
            "metadata": {
                "gimbal_yaw_degree": f"{shot.gimbal_yaw:.2f}",
                "absolute_altitude": round(shot.height, 3),
                "relative_altitude": round(shot.elevation, 3),
                "create_time": shot.taken_at.strftime("%Y-%m-%d %H:%M:%S"),
                "shoot_position": {"lat": round(shot.latitude, 8), "lng": round(shot.longitude, 8)},
            },
        },
    }


async def upload_photos(dock: SimDock, flight_id: str, shots: list[Shot]) -> None:
    """After landing: STS credentials, one PUT and one file_upload_callback per photo, then
    the same for a short video.

    Progress shows in the dock's OSD (`media_file_detail.remain_upload`), what was stored in
    `dock.uploaded`, and why an upload stopped in `dock.media_error`.
    """
    detail = dock.dock_props["media_file_detail"]
    detail["remain_upload"] = len(shots) + 1  # the photos and one video
    reply = None
    for _ in range(10):
        if dock.online:
            try:
                reply = await dock.messages.request("storage_config_get", {"module": 0})
                break
            except LinkError:
                pass
        await asyncio.sleep(dock.timing.reconnect_max_s)
    if reply is None:
        dock.media_error = "storage_config_get: not online"
        return
    result, output = result_of(reply)
    try:
        if result != 0:
            raise ValueError(f"storage_config_get answered result {result}")
        grant = StorageGrant.from_output(output)
    except ValueError as exc:
        dock.media_error = str(exc)
        log.warning("%s: no media upload: %s", dock.sn, exc)
        return
    loop = asyncio.get_running_loop()
    payload_key = "1-" + "-".join(dock.product.camera_index.split("-")[:2])
    for i, shot in enumerate(shots, 1):
        name = photo_name(shot, i)
        key = grant.object_key(flight_id, name)
        try:
            body = await loop.run_in_executor(None, dji_photo, shot, dock.product.aircraft_name)
            await loop.run_in_executor(None, put_object, grant, key, body, "image/jpeg")
        except UploadError as exc:
            dock.media_error = str(exc)
            log.warning("%s: media upload failed: %s", dock.sn, exc)
            return
        dock.uploaded.append(key)
        detail["remain_upload"] = len(shots) + 1 - i
        data = upload_callback_data(
            shot,
            name=name,
            object_key=key,
            flight_id=flight_id,
            drone_model_key=dock.aircraft_model_key,
            payload_model_key=payload_key,
        )
        dock.messages.send_event("file_upload_callback", data, need_reply=True)
    # and a short video of the last waypoint, as a dock uploads the flight's recordings
    shot = shots[-1]
    name = f"DJI_{shot.taken_at.strftime('%Y%m%d%H%M%S')}_{len(shots) + 1:04d}_V.MP4"
    key = grant.object_key(flight_id, name)
    try:
        body = await loop.run_in_executor(None, short_mp4, shot)
        await loop.run_in_executor(None, put_object, grant, key, body, "video/mp4")
    except UploadError as exc:
        dock.media_error = str(exc)
        log.warning("%s: media upload failed: %s", dock.sn, exc)
        return
    dock.uploaded.append(key)
    detail["remain_upload"] = 0
    data = upload_callback_data(
        shot,
        name=name,
        object_key=key,
        flight_id=flight_id,
        drone_model_key=dock.aircraft_model_key,
        payload_model_key=payload_key,
    )
    dock.messages.send_event("file_upload_callback", data, need_reply=True)
