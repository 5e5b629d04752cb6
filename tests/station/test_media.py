"""The media library: real DJI photos uploaded with boto3 under a dock's STS credentials, then
reported in literal wire JSON (`file_upload_callback` from a raw dock, Pilot's HTTP calls);
metadata from the file wins, thumbnails, dedupe, refusals, and a catalogue that survives."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from command_peers import DOCK, RawDock, runtime, wait_for
from station_harness import SHARED_DATA

from gcs.runtime import ThreadedRuntime
from gcs.sim.media import Shot, short_mp4
from gcs.sim.pilot_web import PilotWeb
from gcs.station import media as station_media
from gcs.station.bus import LogEntry
from gcs.station.media import Media, MediaRow
from gcs.station.uploads import Uploads
from gcs.store import media as q
from gcs.store.db import Store
from gcs.store.media import MediaQuery

__all__ = ["runtime"]

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"shared data folder {SHARED_DATA} is not present"
)

PHOTOS = SHARED_DATA / "media" / "photos"
SRT = SHARED_DATA / "media" / "srt"


class Logs:
    def __init__(self) -> None:
        self.items: list[LogEntry] = []
        self.lock = threading.Lock()

    def add(self, e: LogEntry) -> None:
        with self.lock:
            self.items.append(e)

    def find(self, *words: str) -> LogEntry | None:
        with self.lock:
            return next((e for e in self.items if all(w in e.message for w in words)), None)


@pytest.fixture(scope="module")
def logs(runtime: ThreadedRuntime) -> Logs:
    seen = Logs()

    async def attach() -> None:
        runtime.runtime.station.bus.subscribe(LogEntry, seen.add)

    runtime.submit(attach()).result(5)
    return seen


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime, logs: Logs) -> Iterator[RawDock]:
    s = runtime.runtime.settings
    d = RawDock(runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password)
    d.online()
    wait_for(lambda: runtime.runtime.station.registry.is_online(DOCK), what="dock online")
    yield d
    d.close()


@pytest.fixture(scope="module")
def s3(runtime: ThreadedRuntime) -> Any:
    """boto3 with the STS credentials a dock gets from storage_config_get."""
    station = runtime.runtime.station
    sts = runtime.submit(station.capability(Uploads).sts_for(f"media/{DOCK}/")).result(10)
    creds = sts["credentials"]
    client = boto3.client(
        "s3",
        endpoint_url=sts["endpoint"],
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["access_key_secret"],
        aws_session_token=creds["security_token"],
        region_name=sts["region"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    client.bucket = sts["bucket"]
    return client


def media(rt: ThreadedRuntime) -> Media:
    return rt.runtime.station.capability(Media)


def by_key(rt: ThreadedRuntime, key: str) -> MediaRow | None:
    store = rt.runtime.station.store
    assert store is not None
    return rt.submit(store.call(q.get_by_key, key)).result(5)


def idle(rt: ThreadedRuntime) -> None:
    rt.submit(media(rt).wait_idle()).result(30)


def catalogued(rt: ThreadedRuntime, key: str) -> MediaRow:
    """The row of `key` once its callback arrived and its file has been read."""
    wait_for(lambda: by_key(rt, key), what=f"{key} catalogued")
    idle(rt)
    row = by_key(rt, key)
    assert row is not None
    return row


def callback(dock: RawDock, key: str, metadata: dict[str, Any], **ext: Any) -> str:
    """A Dock 2's file_upload_callback, as on the wire (§5)."""
    return dock.event(
        "file_upload_callback",
        str(uuid.uuid4()),
        {
            "file": {
                "object_key": key,
                "path": "wayline/2024",
                "name": key.rsplit("/", 1)[-1],
                "ext": {
                    "flight_id": ext.get("flight_id", "flight-1"),
                    "drone_model_key": "0-67-0",
                    "payload_model_key": "1-43-0",
                    "is_original": True,
                },
                "metadata": metadata,
            },
            "result": 0,
            "progress": {"current_step": 1, "percent": 100, "total_step": 1},
        },
    )


def test_dock_photo_catalogued_with_the_files_metadata(
    runtime: ThreadedRuntime, dock: RawDock, s3: Any, logs: Logs
) -> None:
    key = f"media/{DOCK}/task-1/DJI_20210528103346_0001_T.jpg"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=(PHOTOS / "DJI_H20T.jpg").read_bytes())
    # The callback's values are rough (and the yaw a string, as docks send it): the file wins.
    callback(
        dock,
        key,
        {
            "gimbal_yaw_degree": "30.0",
            "absolute_altitude": 221.4,
            "relative_altitude": 16.5,
            "create_time": "2021-05-28 10:33:46",
            "shoot_position": {"lat": 40.5, "lng": -79.7},
        },
    )
    row = catalogued(runtime, key)
    assert row.status == "ok" and row.device_sn == DOCK and row.flight_id == "flight-1"
    assert row.kind == "photo" and row.source == "dock"
    assert row.lat == pytest.approx(40.563781, abs=1e-6)
    assert row.lng == pytest.approx(-79.764963, abs=1e-6)
    assert row.absolute_altitude == pytest.approx(221.404)
    assert row.relative_altitude == pytest.approx(16.508)
    assert row.gimbal_yaw == pytest.approx(32.5) and row.gimbal_pitch == pytest.approx(-10.5)
    assert row.camera_model == "ZH20T" and row.lens == "thermal"
    assert (row.width, row.height) == (640, 512)
    assert row.thumbnail_key == f"thumbnails/{key}.jpg"
    assert logs.find(key, "differs", "gimbal_yaw 30.0 → 32.5")
    # the thumbnail is in the store, beside the object, and is a small JPEG
    url = media(runtime).download_url(row, thumbnail=True)
    with urllib.request.urlopen(url, timeout=10) as r:
        thumb = r.read()
    assert thumb[:2] == b"\xff\xd8" and len(thumb) < 60_000


def test_repeated_callbacks_make_one_item(runtime: ThreadedRuntime, dock: RawDock, s3: Any) -> None:
    key = f"media/{DOCK}/task-1/DJI_0060.JPG"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=(PHOTOS / "DJI_0060.JPG").read_bytes())
    tid = callback(dock, key, {})
    first = catalogued(runtime, key)
    callback(dock, key, {})  # the same file reported again (new tid)
    dock.event("file_upload_callback", "b", {"file": {"object_key": key}}, tid=tid)  # re-send
    # callbacks are handled in arrival order: once a later one is in, the repeats were seen
    sentinel = f"media/{DOCK}/task-1/after-the-repeats.jpg"
    callback(dock, sentinel, {})
    catalogued(runtime, sentinel)
    rows, total = runtime.submit(media(runtime).query(MediaQuery(name="DJI_0060"))).result(5)
    assert total == 1 and rows[0].id == first.id
    # Mini 2: GPS only in EXIF, XMP without GpsLatitude
    assert rows[0].lat == pytest.approx(33.625066, abs=1e-6)
    assert rows[0].lng == pytest.approx(-116.405053, abs=1e-6)
    assert rows[0].absolute_altitude == pytest.approx(1032.8)


def test_key_outside_the_docks_folder_is_refused(
    runtime: ThreadedRuntime, dock: RawDock, logs: Logs
) -> None:
    keys = ("media/OTHERDOCK/x.jpg", f"media/{DOCK}/../OTHER/x.jpg", "thumbnails/a.jpg")
    for key in keys:
        callback(dock, key, {})
    for key in keys:
        entry = wait_for(lambda k=key: logs.find(repr(k), "outside"), what=f"refusal of {key}")
        assert entry.kind == "rejected" and entry.level == "warning" and "目录" in entry.message
        assert by_key(runtime, key) is None


def test_object_not_in_the_store_recorded_as_missing(
    runtime: ThreadedRuntime, dock: RawDock, logs: Logs
) -> None:
    key = f"media/{DOCK}/task-1/never-uploaded.jpg"
    callback(dock, key, {"shoot_position": {"lat": 22.5, "lng": 113.9}})
    row = wait_for(lambda: by_key(runtime, key), what="catalogued")
    assert row.status == "missing" and "no such object" in row.note
    assert row.lat == 22.5  # what the callback said is kept
    assert logs.find(key, "not in the store")


def test_bad_files_and_bad_metadata_keep_their_rows(
    runtime: ThreadedRuntime, dock: RawDock, s3: Any, logs: Logs
) -> None:
    whole = (PHOTOS / "H20T.JPG").read_bytes()
    bad = {
        f"media/{DOCK}/bad/truncated.jpg": whole[:600],
        f"media/{DOCK}/bad/not-an-image.jpg": b"this is a text file, not a photo\n" * 20,
    }
    for key, body in bad.items():
        s3.put_object(Bucket=s3.bucket, Key=key, Body=body)
        callback(dock, key, {"gimbal_yaw_degree": "north", "absolute_altitude": "high"})
    for key in bad:
        row = catalogued(runtime, key)
        assert row.status == "ok"
        assert row.gimbal_yaw is None and row.absolute_altitude is None
        assert row.note, "the row says why the file could not be read"
        assert logs.find(key, "not a number", "'north'")
        assert logs.find(key, row.note)
    # what was catalogued before is still there
    assert by_key(runtime, f"media/{DOCK}/task-1/DJI_0060.JPG") is not None


def test_srt_gives_the_video_its_track(runtime: ThreadedRuntime, dock: RawDock, s3: Any) -> None:
    video, srt = f"media/{DOCK}/v/DJI_0001.MP4", f"media/{DOCK}/v/DJI_0001.SRT"
    s3.put_object(Bucket=s3.bucket, Key=video, Body=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    callback(dock, video, {})
    catalogued(runtime, video)
    s3.put_object(Bucket=s3.bucket, Key=srt, Body=(SRT / "DJI_M300RTK.SRT").read_bytes())
    callback(dock, srt, {})
    catalogued(runtime, srt)
    row = by_key(runtime, video)
    assert row is not None and row.kind == "video" and row.track
    track = json.loads(row.track)
    assert len(track) == 7 and track[0][1:3] == [49.125749, 14.634775]


def test_priority_event_and_command_declared(runtime: ThreadedRuntime, dock: RawDock) -> None:
    dock.event("highest_priority_upload_flighttask_media", str(uuid.uuid4()), {"flight_id": "f9"})
    wait_for(lambda: media(runtime).priority.get(DOCK) == "f9", what="priority")
    spec = runtime.runtime.station.commands.spec("upload_flighttask_media_prioritize")
    assert spec is not None and not spec.progress


def _http(rt: ThreadedRuntime) -> str:
    return next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http").rstrip("/")


def _call(rt: ThreadedRuntime, method: str, path: str, token: str, body: Any = None) -> Any:
    req = urllib.request.Request(
        _http(rt) + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "x-auth-token": token},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def _login(rt: ThreadedRuntime) -> tuple[str, str]:
    s = rt.runtime.settings
    doc = _call(
        rt,
        "POST",
        "/manage/api/v1/login",
        "",
        {"username": s.pilot.default_user, "password": s.pilot.default_password, "flag": 2},
    )
    return doc["data"]["access_token"], doc["data"]["workspace_id"]


def test_pilot_media_module(runtime: ThreadedRuntime, logs: Logs) -> None:
    token, ws = _login(runtime)
    sts = _call(runtime, "POST", f"/storage/api/v1/workspaces/{ws}/sts", token)["data"]
    creds = sts["credentials"]
    pilot_s3 = boto3.client(
        "s3",
        endpoint_url=sts["endpoint"],
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["access_key_secret"],
        aws_session_token=creds["security_token"],
        region_name=sts["region"],
        config=Config(s3={"addressing_style": "path"}),
    )
    body = (PHOTOS / "DJI_XTS.jpg").read_bytes()
    md5 = hashlib.md5(body).hexdigest()
    tiny = f"{md5}_2019_12_25_16_10_22"
    base = f"/media/api/v1/workspaces/{ws}"
    ask = {
        "fingerprint": md5,
        "name": "DJI_XTS.jpg",
        "path": "p",
        "ext": {"tinny_fingerprint": tiny},
    }
    assert _call(runtime, "POST", f"{base}/fast-upload", token, ask)["code"] != 0
    key = f"{sts['object_key_prefix'].rstrip('/')}/DJI_XTS.jpg"
    pilot_s3.put_object(Bucket=sts["bucket"], Key=key, Body=body)
    doc = _call(
        runtime,
        "POST",
        f"{base}/upload-callback",
        token,
        {
            "result": 0,
            "name": "DJI_XTS.jpg",
            "path": "DJI_202401",
            "object_key": key,
            "fingerprint": md5,
            "sub_file_type": 0,
            "ext": {
                "file_group_id": "g1",
                "drone_model_key": "0-60-0",
                "payload_model_key": "1-26-0",
                "is_original": True,
                "tinny_fingerprint": tiny,
                "sn": "1ZNBJ7R0010073",
            },
            "metadata": {
                "absolute_altitude": -29.4,
                "relative_altitude": 37.7,
                "gimbal_yaw_degree": 91.3,
                "created_time": "2019-12-25T16:10:22+00:00",
                "shoot_position": {"lat": 36.7297, "lng": 119.8433},
            },
        },
    )
    assert doc["code"] == 0 and doc["data"] == key
    assert _call(runtime, "POST", f"{base}/fast-upload", token, ask)["code"] == 0
    known = _call(
        runtime,
        "POST",
        f"{base}/files/tiny-fingerprints",
        token,
        {"tiny_fingerprints": [tiny, "x_1"]},
    )
    assert known["data"]["tiny_fingerprints"] == [tiny]
    group = {"file_group_id": "g1", "file_count": 1, "file_uploaded_count": 1}
    assert _call(runtime, "POST", f"{base}/group-upload-callback", token, group)["code"] == 0
    # a key outside Pilot's folder is refused with a reason
    bad = _call(
        runtime, "POST", f"{base}/upload-callback", token, {"object_key": f"media/{DOCK}/x.jpg"}
    )
    assert bad["code"] == 400 and "outside" in bad["message"]
    idle(runtime)
    # the integrator API: list, filter, download redirect, delete
    listing = _call(
        runtime, "GET", f"/media/api/v1/files/{ws}/files?device_sn=1ZNBJ7R0010073", token
    )
    assert listing["data"]["pagination"]["total"] == 1
    item = listing["data"]["list"][0]
    assert item["metadata"]["absolute_altitude"] == pytest.approx(-29.44)  # the file's
    assert item["metadata"]["gimbal_pitch_degree"] == pytest.approx(19.9)
    assert item["has_thumbnail"]
    req = urllib.request.Request(
        _http(runtime) + f"/media/api/v1/files/{ws}/file/{item['file_id']}/url",
        headers={"x-auth-token": token},
    )
    with urllib.request.urlopen(req, timeout=10) as r:  # follows the 302 to the store
        assert r.read() == body
    photos = _call(runtime, "GET", f"/media/api/v1/files/{ws}/files?type=photo&page_size=2", token)
    assert photos["data"]["pagination"]["total"] >= 3 and len(photos["data"]["list"]) == 2
    gone = _call(runtime, "DELETE", f"/media/api/v1/files/{ws}/file/{item['file_id']}", token)
    assert gone["code"] == 0
    assert _call(runtime, "POST", f"{base}/fast-upload", token, ask)["code"] != 0
    with pytest.raises(ClientError, match=r"NoSuchKey"):
        pilot_s3.get_object(Bucket=sts["bucket"], Key=key)


def test_catalogue_survives_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "gcs.db")
    row = MediaRow(0, "ws", "media/D/a.jpg", "a.jpg", "dock", 1, 1, fingerprint="abc", lat=1.5)
    store.call_sync(q.insert, row)
    store.close()
    again = Store(tmp_path / "gcs.db")
    try:
        found = again.call_sync(q.get_by_key, "media/D/a.jpg")
        assert found is not None and found.lat == 1.5
        assert again.call_sync(q.has_fingerprint, "ws", "ABC")
        _, new = again.call_sync(q.insert, row)
        assert not new
    finally:
        again.close()


def test_simulated_pilot_uploads_dji_like_photos(runtime: ThreadedRuntime) -> None:
    s = runtime.runtime.settings
    shot = Shot(
        taken_at=datetime.datetime(2024, 5, 20, 15, 6, 7),
        latitude=22.5431234,
        longitude=113.9512345,
        height=123.456,
        elevation=80.5,
        gimbal_yaw=-75.6,
        gimbal_pitch=-45.0,
        aircraft_yaw=-88.3,
        aircraft_pitch=-3.0,
    )

    async def pilot_uploads_twice() -> tuple[tuple[str, bool], tuple[str, bool]]:
        web = PilotWeb(_http(runtime), s.pilot.default_user, s.pilot.default_password, "RC1")
        try:
            await web.login()
            first = await web.upload_photo(shot, "DJI_20240520150607_0001_W.JPG", aircraft_sn="AC1")
            again = await web.upload_photo(shot, "DJI_20240520150607_0001_W.JPG", aircraft_sn="AC1")
            return first, again
        finally:
            await web.stop()

    (key, uploaded), (_, again) = asyncio.run(pilot_uploads_twice())
    assert uploaded and not again, "the second time fast-upload said the library has it"
    row = catalogued(runtime, key)
    assert row.source == "pilot" and row.device_sn == "AC1" and row.lens == "wide"
    assert (row.lat, row.lng) == (pytest.approx(22.5431234, abs=1e-6), pytest.approx(113.9512345))
    assert row.gimbal_pitch == -45.0 and row.aircraft_yaw == -88.3 and row.thumbnail_key


def test_websocket_pushes_and_per_task_counts(
    runtime: ThreadedRuntime, dock: RawDock, s3: Any
) -> None:
    token, _ = _login(runtime)
    key = f"media/{DOCK}/task-ws/DJI_0002_Z.JPG"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=(PHOTOS / "H20T.JPG").read_bytes())
    # the task's last progress says two files are coming
    dock.event(
        "flighttask_progress",
        "task-ws",
        {
            "result": 0,
            "output": {
                "status": "ok",
                "progress": {"current_step": 25, "percent": 100},
                "ext": {"flight_id": "task-ws", "media_count": 2, "wayline_mission_state": 9},
            },
        },
    )

    async def watch() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        url = _http(runtime).replace("http", "ws", 1) + f"/api/v1/ws?x-auth-token={token}"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            callback(dock, key, {}, flight_id="task-ws")
            dock.event(
                "highest_priority_upload_flighttask_media",
                str(uuid.uuid4()),
                {"flight_id": "task-ws"},
            )
            async with asyncio.timeout(10):
                while len(seen) < 2:
                    doc = json.loads((await ws.receive()).data)
                    if doc["biz_code"] in (
                        "file_upload_callback",
                        "highest_priority_upload_flighttask_media",
                    ):
                        seen[doc["biz_code"]] = doc["data"]
        return seen

    seen = asyncio.run(watch())
    assert seen["file_upload_callback"]["object_key"] == key
    assert seen["file_upload_callback"]["job_id"] == "task-ws"
    assert seen["highest_priority_upload_flighttask_media"] == {"sn": DOCK, "job_id": "task-ws"}
    catalogued(runtime, key)
    got, expected = runtime.submit(media(runtime).flight_counts("task-ws")).result(5)
    assert (got, expected) == (1, 2)


def test_too_large_to_read_is_catalogued_unread(
    runtime: ThreadedRuntime, dock: RawDock, s3: Any, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stands for a 4 GB video or photo: catalogued at once, never read into memory
    monkeypatch.setattr(station_media, "MAX_READ_BYTES", 1000)
    key = f"media/{DOCK}/big/DJI_0003.JPG"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=(PHOTOS / "DJI_XT2.jpg").read_bytes())
    callback(dock, key, {"shoot_position": {"lat": 9.9, "lng": 76.3}})
    row = catalogued(runtime, key)
    assert row.status == "ok" and row.size == (PHOTOS / "DJI_XT2.jpg").stat().st_size
    assert "too large" in row.note and not row.thumbnail_key and row.lat == 9.9
    assert logs.find(key, "too large")


def test_advertised_provider_per_client_kind(runtime: ThreadedRuntime) -> None:
    station = runtime.runtime.station
    storage = station.settings.storage
    uploads = station.capability(Uploads)
    token, ws = _login(runtime)
    try:
        assert storage.dock_provider == storage.pilot_provider == "minio"  # the defaults
        storage.pilot_provider = "aws"
        pilot = _call(runtime, "POST", f"/storage/api/v1/workspaces/{ws}/sts", token)["data"]
        assert pilot["provider"] == "aws"
        dock = runtime.submit(uploads.sts_for(f"media/{DOCK}/")).result(10)
        assert dock["provider"] == "minio"
        storage.dock_provider = "s3-ish"  # not a DJI provider: told minio, and logged
        assert runtime.submit(uploads.sts_for(f"media/{DOCK}/")).result(10)["provider"] == "minio"
    finally:
        storage.dock_provider = storage.pilot_provider = "minio"


def test_video_metadata_and_first_frame(runtime: ThreadedRuntime, dock: RawDock, s3: Any) -> None:
    shot = Shot(datetime.datetime(2024, 5, 20, 15, 6, 7), 49.1257, 14.6348, 535.4, 54.8, -75.6)
    key = f"media/{DOCK}/v2/DJI_20240520150607_0001_W.MP4"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=short_mp4(shot, seconds=2.0))
    callback(dock, key, {})
    row = catalogued(runtime, key)
    assert row.kind == "video" and row.codec in ("h264", "mpeg4")
    assert (row.width, row.height) == (320, 240)
    assert row.duration_ms == pytest.approx(2000, abs=100)
    assert row.create_time == int(shot.taken_at.replace(tzinfo=datetime.UTC).timestamp() * 1000)
    assert row.thumbnail_key and not row.note


def test_a_file_named_like_a_video_that_is_not_one(
    runtime: ThreadedRuntime, dock: RawDock, s3: Any, logs: Logs
) -> None:
    key = f"media/{DOCK}/v2/DJI_0009.MP4"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    callback(dock, key, {})
    row = catalogued(runtime, key)
    assert row.status == "ok" and "not a readable video" in row.note
    assert logs.find(key, "not a readable video")


def test_only_an_administrator_deletes(runtime: ThreadedRuntime, dock: RawDock, s3: Any) -> None:
    d = str(runtime.runtime.station.data_dir)
    add = subprocess.run(
        [sys.executable, "-m", "gcs", "user", "add", "dave", "--password", "dave-pass-1",
         "--data-dir", d],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    doc = _call(
        runtime,
        "POST",
        "/manage/api/v1/login",
        "",
        {"username": "dave", "password": "dave-pass-1", "flag": 2},
    )
    token, ws = doc["data"]["access_token"], doc["data"]["workspace_id"]
    key = f"media/{DOCK}/keep/DJI_0100.JPG"
    s3.put_object(Bucket=s3.bucket, Key=key, Body=(PHOTOS / "DJI_XT2.jpg").read_bytes())
    callback(dock, key, {})
    row = catalogued(runtime, key)
    refused = _call(runtime, "DELETE", f"/media/api/v1/files/{ws}/file/{row.id}", token)
    assert refused["code"] == 403 and "administrator" in refused["message"]
    assert by_key(runtime, key) is not None
    listing = _call(runtime, "GET", f"/media/api/v1/files/{ws}/files?name=DJI_0100", token)
    assert listing["data"]["pagination"]["total"] == 1  # a pilot may still list and download


def _listing_rows() -> list[MediaRow]:
    base = MediaRow(0, "ws", "", "", "dock", 0, 0, kind="photo")
    return [
        replace(base, object_key="k/b", name="b.jpg", size=30, device_sn="S2", create_time=3000),
        replace(base, object_key="k/a", name="A.jpg", size=10, device_sn="S1", create_time=1000),
        replace(base, object_key="k/c", name="c.jpg", size=None, device_sn="S3", received_at=2000),
        replace(base, object_key="k/d", name="d.jpg", size=20, device_sn="S1", create_time=4000),
    ]


@pytest.mark.parametrize(
    ("order_by", "names"),
    [
        ("", ["d.jpg", "b.jpg", "c.jpg", "A.jpg"]),  # newest first (c: time of reception)
        ("create_time asc", ["A.jpg", "c.jpg", "b.jpg", "d.jpg"]),
        ("name asc", ["A.jpg", "b.jpg", "c.jpg", "d.jpg"]),
        ("size desc", ["b.jpg", "d.jpg", "A.jpg", "c.jpg"]),
        ("device_sn asc, create_time desc", ["d.jpg", "A.jpg", "b.jpg", "c.jpg"]),
    ],
)
def test_listing_order_and_date_range(tmp_path: Path, order_by: str, names: list[str]) -> None:
    store = Store(tmp_path / "gcs.db")
    try:
        for row in _listing_rows():
            store.call_sync(q.insert, row)
        rows, total = store.call_sync(q.query, MediaQuery(order_by=order_by))
        assert [r.name for r in rows] == names and total == 4
        # a date range keeps the order and cuts by capture time (reception time if none)
        ranged, total = store.call_sync(
            q.query, MediaQuery(order_by=order_by, since_ms=1500, until_ms=3000)
        )
        assert [r.name for r in ranged] == [n for n in names if n in ("b.jpg", "c.jpg")]
        assert total == 2
    finally:
        store.close()


def test_listing_refuses_an_unknown_order(tmp_path: Path) -> None:
    store = Store(tmp_path / "gcs.db")
    try:
        with pytest.raises(ValueError, match="cannot sort by 'fingerprint asc'"):
            store.call_sync(q.query, MediaQuery(order_by="fingerprint asc"))
        with pytest.raises(ValueError, match="cannot sort"):
            store.call_sync(q.query, MediaQuery(order_by="name; DROP TABLE media_files"))
    finally:
        store.close()


def test_http_listing_order_and_dates(runtime: ThreadedRuntime) -> None:
    token, ws = _login(runtime)
    store = runtime.runtime.station.store
    assert store is not None
    for row in _listing_rows():
        store.call_sync(q.insert, replace(row, workspace_id=ws, object_key=f"order/{row.name}"))
    path = f"/media/api/v1/files/{ws}/files?name=.jpg&device_sn=S1,S2,S3"
    by_name = _call(runtime, "GET", path + "&order_by=name%20asc", token)
    assert [f["file_name"] for f in by_name["data"]["list"]] == ["A.jpg", "b.jpg", "c.jpg", "d.jpg"]
    oldest = _call(runtime, "GET", path + "&order_by=create_time%20asc&begin_time=1500", token)
    assert [f["file_name"] for f in oldest["data"]["list"]] == ["c.jpg", "b.jpg", "d.jpg"]
    bad = _call(runtime, "GET", path + "&order_by=secret%20asc", token)
    assert bad["code"] == 400 and "cannot sort by 'secret asc'" in bad["message"]
