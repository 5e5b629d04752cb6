"""Pilot 2's live share from the station's H5 page (§10.2 `liveshare`), in headless Chromium with
the stand-in `window.djiBridge`: the page loads liveshare in video-on-demand + manual mode, and
once the RC is bound sets the station's RTMP URL (a secret of its own for that RC) with
`liveshareSetConfig(2, '{"url": …}')` — 2 is RTMP in the JSBridge's numbering, MQTT's url_type 1
— shows the share's status, and starts/stops it. The push Pilot then makes (played here by a
test publisher to that URL) is listed by the station as a live stream of that RC."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from cdp_browser import Page
from pilot_peers import PilotStation, RawGateway, start_pilot_station
from station_harness import free_port
from test_pilot_h5 import SCREENS, calls, click, ensure_chromium, loads, log_in, pilot_page

pytestmark = pytest.mark.slow
RC_SN = "5YSZL260021SHR"
AIRCRAFT_SN = "1581F5BKD225DSHR"


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotStation]:
    ensure_chromium()
    live = f"[live]\nrtmp_port = {free_port()}\nhttp_port = {free_port()}\n"
    st = start_pilot_station(
        tmp_path_factory.mktemp("pilot-share") / "station", "--host", "127.0.0.1", toml=live
    )
    yield st
    st.stop()


async def _streams(base: str, token: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(base + "/manage/api/v1/live/streams", headers={"x-auth-token": token}) as r,
    ):
        body = await r.json()
    assert body["code"] == 0, body
    return list(body["data"])


async def _until(page: Page, what: str, probe: Any, within: float = 15.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if value:
            return value
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_pilot_shares_live_video_to_the_station(station: PilotStation) -> None:
    pytest.importorskip("av")
    from live_push import Pusher

    async with pilot_page(RC_SN, AIRCRAFT_SN) as page:
        await log_in(page, station)
        thing = await page.wait_for(
            "(JSON.parse(sessionStorage.getItem('standin.loaded') || '{}')).thing"
        )
        # the page loads liveshare after thing (with ws, map, ...): wait for it too
        await page.wait_for(
            "(JSON.parse(sessionStorage.getItem('standin.loaded') || '{}')).liveshare"
        )
        # video-on-demand (the station's live_start_push by MQTT) + manual (the pilot's button)
        params = dict(loads(await calls(page)))["liveshare"]
        assert params == {
            "videoPublishType": "video-demand-aux-manual",
            "statusCallback": "liveStatusCallback",
        }
        # no URL before the RC is bound: the button waits
        assert await page.evaluate("document.getElementById('share').disabled") is True
        rc = RawGateway(
            station.mqtt_port,
            thing["username"],
            thing["password"],
            RC_SN,
            host=urlsplit(thing["host"]).hostname or "127.0.0.1",
            aircraft_sn=AIRCRAFT_SN,
        )
        pusher: Pusher | None = None
        try:
            rc.update_topo()
            await page.wait_for("!document.getElementById('share').disabled", within=20)
            record = await calls(page)
            [config] = [c for c in record if c["fn"] == "liveshareSetConfig"]
            kind, raw = config["args"]
            # exact argument types: an int type number (2 = RTMP in §10.2) and a JSON string
            assert kind == 2 and isinstance(kind, int) and isinstance(raw, str), config
            url = json.loads(raw)["url"]
            m = re.fullmatch(
                rf"rtmp://127\.0\.0\.1:(\d+)/live/{RC_SN}-share\?secret=([\w-]{{16,}})", url
            )
            assert m, url
            assert json.loads(raw) == {"url": url}
            status = await page.evaluate("document.getElementById('live').textContent")
            assert status == "connected", status
            await page.screenshot(SCREENS / "10-home-liveshare-ready.png")

            # the pilot starts the share from the page
            await click(page, "#share")
            text = await page.wait_for(
                "document.getElementById('live').textContent.indexOf('30 fps') >= 0 && "
                "document.getElementById('live').textContent"
            )
            assert text.startswith("live")
            assert await page.evaluate("document.getElementById('share').textContent") == (
                "Stop live share"
            )
            assert ["liveshareStartLive", []] in [[c["fn"], c["args"]] for c in await calls(page)]
            await page.screenshot(SCREENS / "11-home-liveshare-live.png")

            # Pilot pushes to the URL it was given: the station lists it for that RC
            token = await page.evaluate("localStorage.getItem('gcs.token')")
            base = station.http.rstrip("/")
            base = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
            pusher = Pusher(url, seconds=60)
            pusher.start()

            async def shared() -> dict[str, Any] | None:
                for s in await _streams(base, token):
                    if s["gateway_sn"] == RC_SN and s["share"] and s["publishing"]:
                        return s
                return None

            listed = await _until(page, "the share listed as live", shared, 20)
            assert listed["video_id"] == f"{RC_SN}/0-0-0/share-0"
            assert listed["url_type"] == 1
            # asking again (a page reload) gives the same URL: Pilot keeps its configuration
            async with (
                aiohttp.ClientSession() as s,
                s.post(
                    base + "/manage/api/v1/live/share",
                    json={"rc_sn": RC_SN},
                    headers={"x-auth-token": token},
                ) as r,
            ):
                again = (await r.json())["data"]
            assert again["url"] == url and again["liveshare_type"] == 2
            # another workspace's RC, or no RC: refused
            async with (
                aiohttp.ClientSession() as s,
                s.post(
                    base + "/manage/api/v1/live/share",
                    json={"rc_sn": "NOTBOUND0000"},
                    headers={"x-auth-token": token},
                ) as r,
            ):
                assert r.status == 404

            # the pilot stops the share
            await click(page, "#share")
            await page.wait_for("document.getElementById('live').textContent === 'connected'")
            assert ["liveshareStopLive", []] in [[c["fn"], c["args"]] for c in await calls(page)]
            pusher.stop.set()

            async def ended() -> bool:
                return not any(s["publishing"] for s in await _streams(base, token) if s["share"])

            await _until(page, "the share ended", ended, 15)

            # the station starting a stream on the RC by MQTT (video-on-demand) still works
            await asyncio.get_running_loop().run_in_executor(
                None, _rc_streams_on_demand, rc, base, token
            )
        finally:
            if pusher is not None:
                pusher.stop.set()
            rc.close()


CAPACITY = {
    "available_video_number": 1,
    "coexist_video_number_max": 1,
    "device_list": [
        {
            "sn": AIRCRAFT_SN,
            "available_video_number": 1,
            "coexist_video_number_max": 1,
            "camera_list": [
                {
                    "camera_index": "39-0-7",
                    "available_video_number": 1,
                    "coexist_video_number_max": 1,
                    "video_list": [{"video_index": "normal-0", "video_type": "normal"}],
                }
            ],
        }
    ],
}


def _http(method: str, url: str, token: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("x-auth-token", token)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _rc_streams_on_demand(rc: RawGateway, base: str, token: str) -> None:
    """The RC reports what it can stream, the API starts its camera (url_type 1), the RC gets
    `live_start_push` with an RTMP URL of its own and answers; both streams are listed."""
    assert rc.subscribe(f"thing/product/{RC_SN}/services") < 128
    rc.publish(
        f"thing/product/{RC_SN}/state",
        {
            "tid": str(uuid.uuid4()),
            "bid": str(uuid.uuid4()),
            "timestamp": int(time.time() * 1000),
            "gateway": RC_SN,
            "data": {"live_capacity": CAPACITY, "live_status": []},
        },
    )
    vid = f"{AIRCRAFT_SN}/39-0-7/normal-0"
    deadline = time.monotonic() + 15
    while True:
        cap = _http("GET", base + "/manage/api/v1/live/capacity", token)
        if any(d["sn"] == AIRCRAFT_SN for d in cap["data"]):
            break
        assert time.monotonic() < deadline, cap
        time.sleep(0.1)
    answer: dict[str, Any] = {}

    def serve() -> None:
        while True:
            topic, msg = rc.inbox.get(timeout=15)
            if topic.endswith("/services") and msg.get("method") == "live_start_push":
                answer.update(msg)
                reply = {k: msg[k] for k in ("tid", "bid", "method")}
                reply.update(timestamp=int(time.time() * 1000), data={"result": 0})
                rc.publish(f"thing/product/{RC_SN}/services_reply", reply)
                return

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    body = _http(
        "POST",
        base + "/manage/api/v1/live/streams/start",
        token,
        {"url_type": 1, "video_id": vid, "video_quality": 0},
    )
    assert body["code"] == 0, body
    server.join(15)
    sent = answer["data"]
    assert sent["url_type"] == 1 and sent["video_id"] == vid
    assert re.fullmatch(
        rf"rtmp://127\.0\.0\.1:\d+/live/{AIRCRAFT_SN}-39-0-7\?secret=[\w-]{{16,}}", sent["url"]
    ), sent
    listed = _http("GET", base + "/manage/api/v1/live/streams", token)
    kinds = {(s["video_id"], s["share"]) for s in listed["data"]}
    assert {(vid, False), (f"{RC_SN}/0-0-0/share-0", True)} <= kinds, kinds
