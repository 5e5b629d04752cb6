"""Pilot's HTTP API against a running `gcs serve`, with a real HTTP client (protocol §8)."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from pilot_peers import (
    DOCK2,
    M3D,
    PilotStation,
    RawGateway,
    start_pilot_station,
)
from waits import async_wait_until

from gcs.web.tokens import TokenSigner

RC_SN = "5YSZL260021E9T"
DRONE_SN = "1581F5BKD225D00A"
DOCK_SN = "7CTDM4100B0BWN"
DOCK_DRONE_SN = "1581F6Q8D24A00FX"
OTHER_RC = "5YSZL260021E00"
ICON = "http://example.invalid/icons/rc.png"


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotStation]:
    st = start_pilot_station(
        tmp_path_factory.mktemp("pilot-http") / "station",
        icons={RC_SN: {"normal": ICON, "selected": ICON + "?s"}},
    )
    yield st
    st.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as s:
        yield s


async def call(
    http: aiohttp.ClientSession,
    st: PilotStation,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["x-auth-token"] = token
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    async with http.request(method, st.http + path.lstrip("/"), headers=headers, data=data) as r:
        text = await r.text()
        return r.status, (json.loads(text) if text else {})


async def login(
    http: aiohttp.ClientSession, st: PilotStation, user: str | None = None, pw: str | None = None
) -> dict[str, Any]:
    status, doc = await call(
        http,
        st,
        "POST",
        "manage/api/v1/login",
        body={"username": user or st.username, "password": pw or st.password, "flag": 2},
    )
    assert status == 200, doc
    assert doc["code"] == 0 and doc["message"] == "success"
    return dict(doc["data"])


def claims(token: str) -> dict[str, Any]:
    """The decoded claims of a station token (`gcs1.<claims>.<signature>`)."""
    body = token.split(".")[1]
    doc: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return doc


def tamper(token: str) -> str:
    prefix, claims, sig = token.split(".")
    raw = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    raw["role"] = "admin" if raw["role"] != "admin" else "pilot"
    raw["exp"] += 10_000
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
    return f"{prefix}.{forged}.{sig}"


async def test_login_returns_token_and_thing_credentials(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    data = await login(http, station)
    for key in ("access_token", "user_id", "username", "workspace_id", "mqtt_addr"):
        assert isinstance(data[key], str) and data[key], key
    assert data["username"] == station.username
    assert data["workspace_id"] == station.workspace_id
    assert data["mqtt_addr"] == f"tcp://127.0.0.1:{station.mqtt_port}"
    assert data["mqtt_username"] and data["mqtt_password"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"password": "x"}', "'username'"),
        (b'{"username": "pilot"}', "'password'"),
        (b'{"username": 5, "password": "x"}', "'username'"),
        (b'{"username": "pilot", "password": "x", "flag": 7}', "'flag'"),
    ],
)
async def test_malformed_login_is_400_with_a_reason(
    station: PilotStation, http: aiohttp.ClientSession, raw: bytes, needle: str
) -> None:
    status, doc = await call(http, station, "POST", "manage/api/v1/login", raw=raw)
    assert status == 400
    assert doc["code"] == 400 and needle in doc["message"]


async def test_wrong_password_is_not_401(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    status, doc = await call(
        http,
        station,
        "POST",
        "manage/api/v1/login",
        body={"username": station.username, "password": "wrong-password", "flag": 2},
    )
    assert status == 403 and doc["code"] == 403
    assert "wrong user name or password" in doc["message"]


async def test_bad_tokens_get_401_everywhere(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    good = (await login(http, station))["access_token"]
    forged = TokenSigner("not-the-station-secret").issue(
        user_id="x", username="pilot", role="admin", workspace_id=station.workspace_id, epoch=0
    )
    expired = TokenSigner(station.token_secret, 3600, clock=lambda: time.time() - 7200).issue(
        user_id=json.loads(
            base64.urlsafe_b64decode(good.split(".")[1] + "=" * (-len(good.split(".")[1]) % 4))
        )["uid"],
        username=station.username,
        role="admin",
        workspace_id=station.workspace_id,
        epoch=0,
    )
    bad_sig = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    ws = station.workspace_id
    paths = [
        ("GET", "manage/api/v1/users/current"),
        ("GET", "manage/api/v1/workspaces/current"),
        ("GET", f"manage/api/v1/workspaces/{ws}/devices/topologies"),
        ("POST", f"manage/api/v1/devices/{RC_SN}/binding"),
        ("POST", "manage/api/v1/token/refresh"),
    ]
    for method, path in paths:
        for token in (None, "", "garbage", tamper(good), bad_sig, forged, expired):
            body: dict[str, Any] | None = {} if method == "POST" else None
            status, doc = await call(http, station, method, path, token=token, body=body)
            assert status == 401, (method, path, token, doc)
        status, _ = await call(http, station, method, path, token=good, body={})
        assert status != 401, (method, path)


async def test_refresh_issues_a_new_working_token(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    first = await login(http, station)
    # A token's only time is its issue second ("iat"); two tokens of one user issued in the same
    # second are equal. Wait until this machine's clock (the station's too: same host, same
    # time.time) is past the first token's second, so the refreshed one must differ.
    issued = claims(first["access_token"])["iat"]
    await async_wait_until(lambda: time.time() >= issued + 1, 3, "the next clock second")
    status, doc = await call(
        http, station, "POST", "manage/api/v1/token/refresh", token=first["access_token"], body={}
    )
    assert status == 200 and doc["code"] == 0
    new = doc["data"]["access_token"]
    assert new != first["access_token"]
    assert claims(new)["iat"] > issued
    assert doc["data"]["mqtt_password"] == first["mqtt_password"]
    status, doc = await call(http, station, "GET", "manage/api/v1/users/current", token=new)
    assert status == 200 and doc["data"]["user_id"] == first["user_id"]


async def test_current_user_and_workspace(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    token = (await login(http, station))["access_token"]
    status, doc = await call(http, station, "GET", "manage/api/v1/users/current", token=token)
    assert status == 200
    assert doc["data"]["username"] == station.username
    assert doc["data"]["mqtt_addr"].startswith("tcp://")
    status, doc = await call(http, station, "GET", "manage/api/v1/workspaces/current", token=token)
    assert status == 200
    ws = doc["data"]
    assert ws["workspace_id"] == station.workspace_id
    assert ws["workspace_name"] == station.settings["station"]["workspace_name"]
    assert ws["platform_name"] == station.settings["station"]["platform_name"]
    assert ws["bind_code"] == station.settings["station"]["binding_code"]


async def wait_for(predicate: Any, within: float = 5.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_binding_and_topology_with_rc_dock_and_aircraft(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    me = await login(http, station)
    token = me["access_token"]
    ws = station.workspace_id
    # An RC that has not connected yet cannot be bound: 404 with a sentence, not 401.
    status, doc = await call(
        http,
        station,
        "POST",
        f"manage/api/v1/devices/{RC_SN}/binding",
        token=token,
        body={"device_sn": RC_SN, "user_id": me["user_id"], "workspace_id": ws},
    )
    assert status == 404 and "has not connected" in doc["message"]

    # Pilot's own MQTT login (thing module) with client id = RC serial.
    rc = RawGateway(
        station.mqtt_port, me["mqtt_username"], me["mqtt_password"], RC_SN, aircraft_sn=DRONE_SN
    )
    dock_user, dock_pw = station.device_login
    dock = RawGateway(
        station.mqtt_port,
        dock_user,
        dock_pw,
        DOCK_SN,
        model=DOCK2,
        aircraft_sn=DOCK_DRONE_SN,
        aircraft_model=M3D,
    )
    try:
        assert rc.rc == 0 and dock.rc == 0
        rc.update_topo()
        dock.update_topo()

        async def bound() -> bool:
            status, _ = await call(
                http,
                station,
                "POST",
                f"manage/api/v1/devices/{RC_SN}/binding",
                token=token,
                body={"device_sn": RC_SN, "user_id": me["user_id"], "workspace_id": ws},
            )
            return status == 200

        await wait_for(bound)
        # The Pilot login may use its RC's topics and nothing else (the dock's topics are
        # claimed by the dock's update_topo by now).
        assert rc.subscribe(f"thing/product/{RC_SN}/services") < 128
        assert rc.subscribe(f"thing/product/{DRONE_SN}/osd") < 128
        assert rc.subscribe(f"thing/product/{DOCK_SN}/services") >= 128
        assert rc.subscribe("thing/product/+/osd") >= 128
        status, _ = await call(
            http, station, "POST", f"manage/api/v1/devices/{DOCK_SN}/binding", token=token, body={}
        )
        assert status == 200
        # Binding for another workspace or another user is refused.
        status, _ = await call(
            http,
            station,
            "POST",
            f"manage/api/v1/devices/{RC_SN}/binding",
            token=token,
            body={"workspace_id": "e3dea0f5-37f2-4d79-ae58-490af3228069"},
        )
        assert status == 403
        status, doc = await call(
            http,
            station,
            "GET",
            f"manage/api/v1/workspaces/{ws}/devices/topologies",
            token=token,
        )
        assert status == 200 and doc["code"] == 0
        items = {i["parents"][0]["sn"]: i for i in doc["data"]["list"]}
        assert set(items) >= {RC_SN, DOCK_SN}
        rc_entry = items[RC_SN]["parents"][0]
        assert rc_entry["device_model"]["key"] == "2-119-0"
        assert rc_entry["device_model"]["device_model_key"] == "2-119-0"
        assert rc_entry["device_model"]["domain"] == "2"
        assert rc_entry["online_status"] is True
        assert rc_entry["device_callsign"]
        assert rc_entry["user_id"] == me["user_id"]
        assert rc_entry["user_callsign"] == me["username"]
        assert rc_entry["icon_urls"] == {
            "normal_icon_url": ICON,
            "selected_icon_url": ICON + "?s",
        }
        hosts = items[RC_SN]["hosts"]
        assert [h["sn"] for h in hosts] == [DRONE_SN]
        assert hosts[0]["device_model"]["key"] == "0-67-0" and hosts[0]["online_status"] is True
        dock_item = items[DOCK_SN]
        assert dock_item["parents"][0]["device_model"]["key"] == "3-2-0"
        assert [h["sn"] for h in dock_item["hosts"]] == [DOCK_DRONE_SN]
        assert dock_item["hosts"][0]["icon_urls"] == {
            "normal_icon_url": "",
            "selected_icon_url": "",
        }
        status, doc = await call(
            http, station, "GET", f"manage/api/v1/devices/{ws}/devices/{DRONE_SN}", token=token
        )
        assert status == 200 and doc["data"]["sn"] == DRONE_SN
        assert doc["data"]["gateway_sn"] == RC_SN and doc["data"]["bound_status"] is True
        status, _ = await call(
            http, station, "GET", f"manage/api/v1/devices/{ws}/devices/NOSUCHSN", token=token
        )
        assert status == 404
        # Another workspace's topology is not for this user.
        status, _ = await call(
            http,
            station,
            "GET",
            "manage/api/v1/workspaces/e3dea0f5-37f2-4d79-ae58-490af3228069/devices/topologies",
            token=token,
        )
        assert status == 403
    finally:
        rc.close()
        dock.close()


def gcs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gcs", *args], capture_output=True, text=True, timeout=30
    )


async def test_cli_users_while_running(station: PilotStation, http: aiohttp.ClientSession) -> None:
    d = str(station.data_dir)
    out = gcs("user", "add", "carol", "--password", "carol-pass-1", "--data-dir", d)
    assert out.returncode == 0, out.stderr
    dup = gcs("user", "add", "carol", "--password", "carol-pass-1", "--data-dir", d)
    assert dup.returncode == 1 and "exists already" in dup.stderr
    listed = json.loads(gcs("user", "list", "--json", "--data-dir", d).stdout)
    assert {u["username"]: u["role"] for u in listed}["carol"] == "pilot"
    assert "password" not in json.dumps(listed)

    carol = await login(http, station, "carol", "carol-pass-1")
    # A pilot may not log in as a web (admin) user; the default admin may.
    status, doc = await call(
        http,
        station,
        "POST",
        "manage/api/v1/login",
        body={"username": "carol", "password": "carol-pass-1", "flag": 1},
    )
    assert status == 403 and "pilot" in doc["message"]
    status, doc = await call(
        http,
        station,
        "POST",
        "manage/api/v1/login",
        body={"username": station.username, "password": station.password, "flag": 1},
    )
    assert status == 200 and doc["data"]["user_type"] == 1
    # The new user's thing credentials log in to the broker (auth file rewritten at login).
    gw = RawGateway(station.mqtt_port, carol["mqtt_username"], carol["mqtt_password"], OTHER_RC)
    try:
        assert gw.rc == 0
    finally:
        gw.close()
    bad = RawGateway(station.mqtt_port, carol["mqtt_username"], "not-her-password", OTHER_RC)
    try:
        assert bad.rc != 0
    finally:
        bad.close()

    out = gcs("user", "passwd", "carol", "--password", "carol-pass-2", "--data-dir", d)
    assert out.returncode == 0, out.stderr

    async def revoked() -> bool:
        status, _ = await call(
            http, station, "GET", "manage/api/v1/users/current", token=carol["access_token"]
        )
        return status == 401

    await wait_for(revoked, within=8)
    status, _ = await call(
        http,
        station,
        "POST",
        "manage/api/v1/login",
        body={"username": "carol", "password": "carol-pass-1"},
    )
    assert status == 403
    await login(http, station, "carol", "carol-pass-2")


async def test_https_with_the_station_ca(station: PilotStation) -> None:
    ca = station.data_dir / "tls" / "ca.crt"
    ctx = ssl.create_default_context(cafile=str(ca))
    async with aiohttp.ClientSession() as s:
        async with s.get(station.https + "pilot/config.json", ssl=ctx) as r:
            assert r.status == 200
            doc = await r.json()
            assert doc["data"]["app_id"] == "153462"
        async with s.get(station.http + "ca.crt") as r:
            assert r.status == 200
            assert await r.read() == ca.read_bytes()
        # Without the CA the certificate is not trusted.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with s.get(station.https + "pilot/config.json", ssl=ssl.create_default_context()):
                pass
    cert = x509.load_pem_x509_certificate((station.data_dir / "tls" / "server.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    names = set(san.get_values_for_type(x509.DNSName))
    from gcs.station.netinfo import lan_addresses

    assert "127.0.0.1" in ips and set(lan_addresses()) <= ips
    assert "localhost" in names and __import__("socket").gethostname() in names


async def test_cors_preflight_and_h5_pages(station: PilotStation) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.options(station.http + "manage/api/v1/users/current") as r:
            assert r.status == 200
            assert "x-auth-token" in r.headers["Access-Control-Allow-Headers"]
        async with s.get(station.http + "pilot/") as r:
            assert r.status == 200 and "login-form" in await r.text()
        async with s.get(station.http + "pilot/home.html") as r:
            assert r.status == 200
        async with s.get(station.http + "manage/api/v1/nowhere") as r:
            assert r.status == 404 and (await r.json())["code"] == 404


def test_resources_are_found() -> None:
    from gcs.web.resources import h5_dir

    assert (h5_dir() / "index.html").is_file()
    assert Path(h5_dir(), "js", "bridge.js").is_file()
