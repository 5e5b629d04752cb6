"""Agora (url_type 0) and GB28181 (url_type 3) passed through to the operator's external
service (§7.3 url formats), and WHIP chosen by default for a Dock 3 (§2.2 model keys), with
literal-JSON docks: a Dock 2 and a Dock 3."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from command_peers import AIRCRAFT, DOCK, RawDock, wait_for
from live_peers import bound_live_dock, live_runtime, publish_state
from test_live import CAPACITY, ZOOM, _answer, http_base, run

from gcs.runtime import ThreadedRuntime
from gcs.station.bus import LogEntry
from gcs.station.commands import CommandRefused
from gcs.station.live import Live
from gcs.store.settings import (
    AgoraSettings,
    Gb28181Settings,
    SettingsError,
    load_settings,
    save_settings,
)

DOCK3 = "8UUXN3D00A0001"
M4D = "1581F8HHD24B0001"
M4D_CAM = f"{M4D}/98-0-0/normal-0"

TOKEN = "006a1b2+c3/d4==x"  # Agora tokens are base64: '+', '/' and '=' must be encoded
AGORA = AgoraSettings(
    app_id="0123456789abcdef0123456789ABCDEF", token=TOKEN, channel="site-7", uid=654321
)
GB = Gb28181Settings(
    server_ip="192.168.1.10",
    server_port=5060,
    server_id="34020000002000000001",
    agent_id="34020000001320000001",
    agent_password="s3cret!",
    local_port=15060,
    channel="34020000001310000001",
)
AGORA_URL = f"channel=site-7&sn={AIRCRAFT}&token=006a1b2%2Bc3%2Fd4%3D%3Dx&uid=654321"
GB_URL = (
    "serverIP=192.168.1.10&serverPort=5060&serverID=34020000002000000001"
    "&agentID=34020000001320000001&agentPassword=s3cret!&localPort=15060"
    "&channel=34020000001310000001"
)


def _capacity(sn: str, camera: str) -> dict[str, Any]:
    cap = copy.deepcopy(CAPACITY)
    cap["device_list"] = [cap["device_list"][1]]
    cap["device_list"][0]["sn"] = sn
    cap["device_list"][0]["camera_list"][0]["camera_index"] = camera
    return cap


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedRuntime]:
    rt = live_runtime(tmp_path_factory, "live-external")
    yield rt
    rt.stop()


@pytest.fixture(scope="module")
def dock(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    d = bound_live_dock(runtime, {"live_capacity": CAPACITY, "live_status": []})
    d.script = lambda dd, cmd: _answer(dd, cmd, {})
    yield d
    d.close()


@pytest.fixture(scope="module")
def dock3(runtime: ThreadedRuntime) -> Iterator[RawDock]:
    s = runtime.runtime.settings
    d = RawDock(
        runtime.runtime.station.mqtt_port, s.mqtt.device_username, s.mqtt.device_password, DOCK3
    )
    d.online(M4D, dock_type=3, aircraft_type=100)
    d.bind(
        s.station.binding_code,
        s.station.workspace_id,
        M4D,
        aircraft_model_key="0-100-0",
        dock_model_key="3-3-0",
    )
    registry = runtime.runtime.station.registry
    wait_for(
        lambda: (v := registry.view(DOCK3)) is not None and v.bound and v.online, what="dock 3"
    )
    publish_state(d, {"live_capacity": _capacity(M4D, "98-0-0"), "live_status": []})
    live = runtime.runtime.station.capability(Live)
    wait_for(lambda: DOCK3 in live.gateways and live.gateways[DOCK3].sources, what="capacity")
    d.script = lambda dd, cmd: _answer(dd, cmd, {})
    yield d
    d.close()


@pytest.fixture
async def api(runtime: ThreadedRuntime) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    s = runtime.runtime.settings
    base = http_base(runtime)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/manage/api/v1/login",
            json={"username": s.pilot.default_user, "password": s.pilot.default_password},
        ) as r:
            session.headers["x-auth-token"] = (await r.json())["data"]["access_token"]
        yield session, base


@pytest.fixture
def external(runtime: ThreadedRuntime) -> Iterator[None]:
    """Agora and GB28181 set up for one test, not set up again afterwards."""
    live = runtime.runtime.settings.live
    live.agora, live.gb28181 = copy.deepcopy(AGORA), copy.deepcopy(GB)
    yield
    live.agora, live.gb28181 = AgoraSettings(), Gb28181Settings()


async def _start(api: tuple[aiohttp.ClientSession, str], **body: Any) -> dict[str, Any]:
    session, base = api
    async with session.post(f"{base}/manage/api/v1/live/streams/start", json=body) as r:
        assert r.status == 200
        out: dict[str, Any] = await r.json()
    return out


async def _stop(api: tuple[aiohttp.ClientSession, str], video_id: str) -> None:
    session, base = api
    async with session.post(
        f"{base}/manage/api/v1/live/streams/stop", json={"video_id": video_id}
    ) as r:
        assert (await r.json())["code"] == 0


async def test_agora_url_is_built_from_the_settings_with_the_token_encoded(
    runtime: ThreadedRuntime,
    dock: RawDock,
    external: None,
    api: tuple[aiohttp.ClientSession, str],
) -> None:
    live = runtime.runtime.station.capability(Live)
    n = len(dock.sent("live_start_push"))
    body = await _start(api, url_type=0, video_id=ZOOM, video_quality=2)
    assert body["code"] == 0, body
    [sent] = dock.sent("live_start_push")[n:]
    assert sent["data"] == {
        "url_type": 0,
        "url": AGORA_URL,
        "video_id": ZOOM,
        "video_quality": 2,
    }
    data = body["data"]
    assert data["external"] is True and data["url"] == ""  # the station does not play it
    assert data["destination"] == (
        "Agora channel 'site-7', uid 654321 (App ID 0123456789abcdef0123456789ABCDEF)"
    )
    assert data["destination_zh"].startswith("声网频道")
    assert TOKEN not in str(data)

    # listed as live at the external service, with who asked and the device's error in words
    publish_state(
        dock,
        {
            "live_status": [
                {
                    "video_id": f"{AIRCRAFT}/39-0-7/wide-0",
                    "video_type": "wide",
                    "video_quality": 2,
                    "status": 1,
                    "error_status": 513015,
                }
            ]
        },
    )
    wait_for(lambda: live.gateways[DOCK].status, what="status")
    session, base = api
    async with session.get(f"{base}/manage/api/v1/live/streams") as r:
        [listed] = (await r.json())["data"]
    assert listed["video_id"] == ZOOM and listed["url_type"] == 0 and listed["status"] == 1
    assert listed["actor"] == f"api:{runtime.runtime.settings.pilot.default_user}"
    assert listed["error_status"] == 513015 and listed["message"] and listed["message_zh"]

    # nobody watches it here, yet the station does not stop it; the Live window is refused
    live.idle_stop_s = 0.0
    try:
        assert run(runtime, live.reap()) == []
    finally:
        live.idle_stop_s = 120.0
    with pytest.raises(CommandRefused, match="already being sent to Agora channel 'site-7'"):
        run(runtime, live.start_stream(ZOOM))
    assert live.authorize(data["video_id"].replace("/", "-"), "") is None

    # a second camera cannot take the same uid at once
    refused = await _start(api, url_type=0, video_id=f"{DOCK}/165-0-7/normal-0")
    assert refused["code"] != 0 and "stop that stream first" in refused["message"]

    # the same request again is reused, nothing re-sent; stop works as for other types
    again = await _start(api, url_type=0, video_id=ZOOM)
    assert again["data"]["reused"] is True and len(dock.sent("live_start_push")) == n + 1
    await _stop(api, ZOOM)
    assert dock.sent("live_stop_push")[-1]["data"] == {"video_id": ZOOM}
    assert live.stream(ZOOM) is None
    publish_state(dock, {"live_status": []})


async def test_gb28181_url_has_the_documented_keys_in_order(
    runtime: ThreadedRuntime,
    dock: RawDock,
    external: None,
    api: tuple[aiohttp.ClientSession, str],
) -> None:
    seen: list[LogEntry] = []
    unsubscribe = runtime.runtime.station.bus.subscribe(LogEntry, seen.append)
    try:
        body = await _start(api, url_type=3, video_id=ZOOM)
        assert body["code"] == 0, body
        assert dock.sent("live_start_push")[-1]["data"]["url"] == GB_URL
        assert body["data"]["destination"] == (
            "GB28181 platform 192.168.1.10:5060 (server 34020000002000000001), "
            "device 34020000001320000001, channel 34020000001310000001"
        )
        assert "s3cret" not in str(body["data"])
        wait_for(lambda: any("goes to GB28181 platform" in e.message for e in seen), what="event")
        await _stop(api, ZOOM)
    finally:
        unsubscribe()


async def test_missing_or_wrong_settings_are_refused_before_sending(
    runtime: ThreadedRuntime, dock: RawDock, api: tuple[aiohttp.ClientSession, str]
) -> None:
    settings = runtime.runtime.settings.live
    seen: list[LogEntry] = []
    unsubscribe = runtime.runtime.station.bus.subscribe(LogEntry, seen.append)
    n = len(dock.sent("live_start_push"))
    try:
        for url_type, name in ((0, "Agora"), (3, "GB28181")):
            body = await _start(api, url_type=url_type, video_id=ZOOM)
            assert body["code"] != 0
            assert f"{name} is not set up" in body["message"], body
        wait_for(lambda: sum("is not set up" in e.message for e in seen) >= 2, what="events")
        refusal = next(e for e in seen if "Agora is not set up" in e.message)
        assert refusal.level == "warning" and refusal.sn == DOCK

        settings.gb28181 = Gb28181Settings(
            server_ip="192.168.1.300",
            server_port=5060,
            server_id="3402",
            agent_id=GB.agent_id,
            agent_password="a&b",
            local_port=0,
            channel=GB.channel,
        )
        body = await _start(api, url_type=3, video_id=ZOOM)
        message = body["message"]
        assert "IPv4 address" in message and "20-digit" in message and "'&'" in message
        assert "local port must be a port from 1 to 65535" in message

        # the Chinese wording of the same refusal (what the desktop shows in Chinese)
        live = runtime.runtime.station.capability(Live)
        with pytest.raises(CommandRefused) as refused:
            run(runtime, live.start_stream(ZOOM, url_type=3))
        assert "IPv4" in refused.value.zh and "20 位" in refused.value.zh
        assert len(dock.sent("live_start_push")) == n
    finally:
        settings.gb28181 = Gb28181Settings()
        unsubscribe()


def test_settings_round_trip_through_gcs_toml(tmp_path: Path) -> None:
    s = load_settings(tmp_path)
    s.live.agora = copy.deepcopy(AGORA)
    s.live.gb28181 = copy.deepcopy(GB)
    s.live.prefer_whip = True
    save_settings(tmp_path, s)
    text = (tmp_path / "gcs.toml").read_text(encoding="utf-8")
    assert "[live.agora]" in text and "[live.gb28181]" in text
    again = load_settings(tmp_path)
    assert again.live.agora == AGORA and again.live.gb28181 == GB and again.live.prefer_whip

    # a file from before these settings gets them written down with their defaults
    (tmp_path / "gcs.toml").write_text(
        text.split("[live.agora]")[0].replace("prefer_whip = true\n", ""), encoding="utf-8"
    )
    older = load_settings(tmp_path)
    assert older.live.agora == AgoraSettings() and not older.live.prefer_whip
    assert "[live.gb28181]" in (tmp_path / "gcs.toml").read_text(encoding="utf-8")

    # a wrong type inside a sub-table says where
    (tmp_path / "gcs.toml").write_text(
        text.replace("server_port = 5060", 'server_port = "5060"'), encoding="utf-8"
    )
    with pytest.raises(SettingsError, match=r"live\.gb28181\.server_port must be int"):
        load_settings(tmp_path)


@pytest.mark.slow
def test_dock3_gets_whip_by_default_and_dock2_rtmp(
    runtime: ThreadedRuntime, dock: RawDock, dock3: RawDock
) -> None:
    """With no url_type asked for, the literal Dock 3 is sent url_type 4 with the station's
    WHIP URL and the Dock 2 url_type 1 with its RTMP URL; `prefer_whip` makes an RTMP
    request for a Dock 3 WHIP too."""
    pytest.importorskip("aiortc", reason="aiortc (WHIP in the media server) is not installed")
    live = runtime.runtime.station.capability(Live)
    host = runtime.runtime.station.public_host
    run(runtime, live.start_stream(M4D_CAM))
    sent = dock3.sent("live_start_push")[-1]["data"]
    assert sent["url_type"] == 4, sent
    assert sent["url"].startswith(f"http://{host}:")
    assert f"/rtc/v1/whip/?app=live&stream={M4D}-98-0-0&secret=" in sent["url"]
    run(runtime, live.stop_stream(M4D_CAM))

    run(runtime, live.start_stream(ZOOM))
    sent = dock.sent("live_start_push")[-1]["data"]
    assert sent["url_type"] == 1 and sent["url"].startswith(f"rtmp://{host}:"), sent
    run(runtime, live.stop_stream(ZOOM))

    # asked for RTMP: honoured, unless the operator prefers WHIP
    run(runtime, live.start_stream(M4D_CAM, url_type=1))
    assert dock3.sent("live_start_push")[-1]["data"]["url_type"] == 1
    run(runtime, live.stop_stream(M4D_CAM))
    runtime.runtime.settings.live.prefer_whip = True
    try:
        run(runtime, live.start_stream(M4D_CAM, url_type=1))
        assert dock3.sent("live_start_push")[-1]["data"]["url_type"] == 4
        run(runtime, live.start_stream(ZOOM, url_type=1))
        assert dock.sent("live_start_push")[-1]["data"]["url_type"] == 1
        run(runtime, live.stop_stream(M4D_CAM))
        run(runtime, live.stop_stream(ZOOM))
    finally:
        runtime.runtime.settings.live.prefer_whip = False
