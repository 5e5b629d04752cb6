"""The wayline library through the HTTP API (§8.2 #11–#16, §8.4 upload) with a real HTTP client
and boto3 for Pilot's upload, against a running station with its embedded object store."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from command_peers import runtime
from station_harness import SHARED_DATA

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry

__all__ = ["runtime"]

WAYLINES = SHARED_DATA / "waylines"
FILES = sorted(WAYLINES.glob("*.kmz"))
pytestmark = pytest.mark.skipif(len(FILES) != 3, reason=f"no shared wayline files in {WAYLINES}")


def http_base(rt: ThreadedRuntime) -> str:
    url = next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http")
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str, str]]:
    s = runtime.runtime.settings
    base = http_base(runtime)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/manage/api/v1/login",
            json={
                "username": s.pilot.default_user,
                "password": s.pilot.default_password,
                "flag": 2,
            },
        ) as r:
            token = (await r.json())["data"]["access_token"]
        session.headers["x-auth-token"] = token
        yield session, f"{base}/wayline/api/v1/workspaces/{s.station.workspace_id}", base


async def upload(session: aiohttp.ClientSession, ws: str, name: str, data: bytes) -> Any:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/vnd.google-earth.kmz")
    async with session.post(f"{ws}/waylines/file/upload", data=form) as r:
        return r.status, await r.json()


async def listing(session: aiohttp.ClientSession, ws: str, query: Any = ()) -> dict[str, Any]:
    async with session.get(f"{ws}/waylines", params=query) as r:
        body = await r.json()
        assert r.status == 200, body
        return body["data"]  # type: ignore[no-any-return]


def objects(rt: ThreadedRuntime) -> list[Path]:
    return sorted((rt.runtime.station.data_dir / "objects").rglob("*.kmz"))


async def test_upload_list_url_and_duplicates(
    runtime: ThreadedRuntime, api: tuple[aiohttp.ClientSession, str, str]
) -> None:
    session, ws, _ = api
    ids = {}
    for path in FILES:
        status, body = await upload(session, ws, path.name, path.read_bytes())
        assert status == 200 and body["code"] == 0, body
        row = body["data"]
        assert row["name"] == path.stem
        assert row["sign"] == hashlib.md5(path.read_bytes()).hexdigest()
        assert row["template_types"] == [0]
        ids[path.stem] = row["id"]
    found = await listing(session, ws, {"key": "m3m-seed"})
    assert len(found["list"]) == 1, (found, await listing(session, ws))
    seed = found["list"][0]
    assert seed["drone_model_key"] == "0-77-2"
    assert seed["payload_model_keys"] == ["1-68-0"]
    assert seed["start_wayline_point"]["start_latitude"] == pytest.approx(49.7155415)
    assert seed["start_wayline_point"]["start_lontitude"] == pytest.approx(-101.148371)
    assert seed["user_name"] == runtime.runtime.settings.pilot.default_user

    # Ordering, paging and filters.
    by_name = await listing(session, ws, {"order_by": "name asc", "page_size": "2"})
    assert [w["name"] for w in by_name["list"]] == [p.stem for p in FILES][:2]
    assert by_name["pagination"] == {"page": 1, "page_size": 2, "total": 3}
    page2 = await listing(session, ws, {"order_by": "name desc", "page": "2", "page_size": "2"})
    assert [w["name"] for w in page2["list"]] == [FILES[0].stem]
    m3e = await listing(session, ws, [("drone_model_keys", "0-77-0"), ("template_type", "0")])
    assert [w["name"] for w in m3e["list"]] == ["psdk-sample-waypoint"]
    assert (await listing(session, ws, {"template_type": "1"}))["list"] == []
    async with session.get(f"{ws}/waylines", params={"order_by": "size desc"}) as r:
        assert r.status == 400

    # Duplicate names: Pilot's check, and an upload under a taken name is refused.
    async with session.get(
        f"{ws}/waylines/duplicate-names",
        params=[("name", "psdk-sample-waypoint"), ("name", "new one")],
    ) as r:
        assert (await r.json())["data"] == ["psdk-sample-waypoint"]
    before = objects(runtime)
    status, body = await upload(session, ws, FILES[0].name, FILES[0].read_bytes())
    assert status == 200 and body["code"] != 0 and "already exists" in body["message"]
    assert objects(runtime) == before

    # /url redirects to a short-lived presigned GET that serves the very bytes.
    wid = ids["pilot2-waypoint-makeathon"]
    async with session.get(f"{ws}/waylines/{wid}/url", allow_redirects=False) as r:
        assert r.status == 302
        location = r.headers["Location"]
    assert "X-Amz-Signature" in location and "X-Amz-Expires=600" in location
    async with aiohttp.ClientSession() as anonymous, anonymous.get(location) as r:
        assert r.status == 200
        assert await r.read() == (WAYLINES / "pilot2-waypoint-makeathon.kmz").read_bytes()

    # Favourites.
    async with session.post(f"{ws}/favorites", params=[("id", wid)]) as r:
        assert r.status == 200
    fav = await listing(session, ws, {"favorited": "true"})
    assert [w["id"] for w in fav["list"]] == [wid]
    async with session.delete(f"{ws}/favorites", params=[("id", wid)]) as r:
        assert r.status == 200 and (await r.json())["code"] == 0
    assert (await listing(session, ws, {"favorited": "true"}))["list"] == []

    # Rename and delete (the object goes too).
    async with session.put(f"{ws}/waylines/{wid}", json={"name": "renamed"}) as r:
        assert (await r.json())["data"]["name"] == "renamed"
    async with session.put(f"{ws}/waylines/{wid}", json={"name": "psdk-sample-waypoint"}) as r:
        assert r.status == 200 and (await r.json())["code"] != 0
    async with session.delete(f"{ws}/waylines/{wid}") as r:
        assert r.status == 200
    assert not any(wid in p.name for p in objects(runtime))
    async with session.get(f"{ws}/waylines/{wid}/url", allow_redirects=False) as r:
        assert r.status == 404
    for stem, other in ids.items():
        if other != wid:
            async with session.delete(f"{ws}/waylines/{other}") as r:
                assert r.status == 200 and (await r.json())["code"] == 0, stem


def _broken_route(good: bytes) -> bytes:
    """The same KMZ with its waylines.wpml cut off: a file `gcs.wpml` refuses."""
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("waylines.wpml"):
                body = body[: len(body) // 2]
            z.writestr(info, body)
    return out.getvalue()


async def test_bad_files_are_refused_with_findings_and_nothing_stored(
    runtime: ThreadedRuntime, api: tuple[aiohttp.ClientSession, str, str]
) -> None:
    session, ws, _ = api
    events: list[LogEntry] = []
    station = runtime.runtime.station
    runtime.call_soon(station.bus.subscribe, LogEntry, events.append)
    before = objects(runtime)
    for name, data in [
        ("text.kmz", b"this is not a zip"),
        ("cut.kmz", _broken_route(FILES[0].read_bytes())),
    ]:
        status, body = await upload(session, ws, name, data)
        assert status == 200 and body["code"] != 0, body
        assert body["code"] == 210002
        assert "is not a usable wayline file" in body["message"]
        findings = body["data"]["findings"]
        assert findings and all(f["message_zh"] for f in findings)
        assert any(f["severity"] == "error" for f in findings)
    assert objects(runtime) == before
    assert (await listing(session, ws))["pagination"]["total"] == 0
    deadline = asyncio.get_running_loop().time() + 5
    while not any("cut is not a usable" in e.message for e in events):
        assert asyncio.get_running_loop().time() < deadline, events
        await asyncio.sleep(0.02)


def _s3(sts: dict[str, Any]) -> Any:
    c = sts["credentials"]
    return boto3.client(
        "s3",
        endpoint_url=sts["endpoint"],
        aws_access_key_id=c["access_key_id"],
        aws_secret_access_key=c["access_key_secret"],
        aws_session_token=c["security_token"] or None,
        region_name=sts["region"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


async def test_pilot_uploads_with_sts_and_calls_back(
    runtime: ThreadedRuntime, api: tuple[aiohttp.ClientSession, str, str]
) -> None:
    session, ws, base = api
    workspace = runtime.runtime.settings.station.workspace_id
    async with session.post(f"{base}/storage/api/v1/workspaces/{workspace}/sts") as r:
        sts = (await r.json())["data"]
    s3 = _s3(sts)
    good = (WAYLINES / "pilot2-m3m-seed.kmz").read_bytes()
    key = f"{sts['object_key_prefix'].rstrip('/')}/wayline/pilot-route.kmz"
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(
        None, lambda: s3.put_object(Bucket=sts["bucket"], Key=key, Body=good)
    )
    async with session.get(f"{ws}/waylines/duplicate-names", params={"name": "pilot-route"}) as r:
        assert (await r.json())["data"] == []
    callback = {
        "object_key": key,
        "name": "pilot-route",
        "metadata": {
            "drone_model_key": "0-77-2",
            "payload_model_keys": ["1-68-0"],
            "template_types": [0],
        },
    }
    async with session.post(f"{ws}/upload-callback", json=callback) as r:
        body = await r.json()
        assert r.status == 200 and body["code"] == 0, body
    [row] = (await listing(session, ws, {"key": "pilot-route"}))["list"]
    assert row["sign"] == hashlib.md5(good).hexdigest()
    assert row["object_key"] == key
    assert row["drone_model_key"] == "0-77-2"

    # A broken file uploaded by Pilot is refused and removed from the bucket.
    bad_key = f"{sts['object_key_prefix'].rstrip('/')}/wayline/broken.kmz"
    await loop.run_in_executor(
        None, lambda: s3.put_object(Bucket=sts["bucket"], Key=bad_key, Body=b"PK broken")
    )
    async with session.post(
        f"{ws}/upload-callback", json={**callback, "object_key": bad_key, "name": "broken"}
    ) as r:
        assert r.status == 400
        assert (await r.json())["data"]["findings"]
    with pytest.raises(ClientError):
        await loop.run_in_executor(None, lambda: s3.head_object(Bucket=sts["bucket"], Key=bad_key))
    # An object outside the workspace's upload folder is not taken.
    async with session.post(
        f"{ws}/upload-callback", json={**callback, "object_key": "waylines/x.kmz"}
    ) as r:
        assert r.status == 403
    async with session.delete(f"{ws}/waylines/{row['id']}") as r:
        assert r.status == 200 and (await r.json())["code"] == 0
