"""The H5 pages in headless Chromium against `gcs serve`, with a stand-in `window.djiBridge`.

The stand-in (standin_bridge.js) is injected before the page scripts, records every call and
answers like Pilot 2. The test checks the call sequence and parameters, really logs in to the
broker with the thing credentials the page handed to Pilot, opens the WebSocket the ws module
was given, and saves a screenshot of each page under /tmp/gcs-screens/.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from cdp_browser import CHROMIUM, Browser, Page
from pilot_peers import APP_ID, APP_KEY, APP_LICENSE, PilotStation, RawGateway, start_pilot_station

from gcs.station.netinfo import lan_addresses
from gcs.version import version

SCREENS = Path("/tmp/gcs-screens")
RC_SN = "5YSZL260021H5X"
AIRCRAFT_SN = "1581F5BKD225DH5X"
FIT_RC_SN = "5YSZL260021FIT"  # a second RC, never bound by another test
FIT_AIRCRAFT_SN = "1581F5BKD225DFIT"
STANDIN = (Path(__file__).parent / "standin_bridge.js").read_text(encoding="utf-8")
MODULE_ORDER_AFTER_THING = ["liveshare", "ws", "map", "tsa", "media", "mission"]


def ensure_chromium() -> None:
    if shutil.which("chromium") or Path(CHROMIUM).exists():
        return
    subprocess.run(["apt-get", "update"], check=False, capture_output=True, timeout=300)
    subprocess.run(
        ["apt-get", "install", "-y", "chromium"], check=False, capture_output=True, timeout=600
    )
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium could not be installed")


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotStation]:
    ensure_chromium()
    # Listen on all interfaces so the page is opened, and the broker reached, at a LAN
    # address, exactly as an RC on the site network does.
    host = "0.0.0.0" if lan_addresses() else "127.0.0.1"
    st = start_pilot_station(tmp_path_factory.mktemp("pilot-h5") / "station", "--host", host)
    yield st
    st.stop()


@contextlib.asynccontextmanager
async def pilot_page(rc_sn: str, aircraft_sn: str) -> AsyncIterator[Page]:
    """A Chromium page with the stand-in bridge of an RC `rc_sn` flying `aircraft_sn`."""
    browser = await Browser.launch()
    pg = await browser.new_page()
    settings = {
        "appId": APP_ID,
        "appKey": APP_KEY,
        "license": APP_LICENSE,
        "rcSn": rc_sn,
        "aircraftSn": aircraft_sn,
        "installedApp": "com.example.fieldapp",
    }
    await pg.send(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": f"window.__STANDIN__ = {json.dumps(settings)};\n{STANDIN}"},
    )
    try:
        yield pg
    finally:
        await pg.close()
        await browser.close()


@pytest.fixture
async def page(station: PilotStation) -> AsyncIterator[Page]:
    async with pilot_page(RC_SN, AIRCRAFT_SN) as pg:
        yield pg


def pilot_url(st: PilotStation) -> str:
    lines: list[str] = st.serve.lines
    for line in lines:
        if line.startswith("pilot: "):
            return line.split(" ", 1)[1]
    raise AssertionError("gcs serve printed no pilot URL")


async def calls(page: Page) -> list[dict[str, Any]]:
    raw = await page.evaluate("sessionStorage.getItem('standin.calls') || '[]'")
    return list(json.loads(raw))


def loads(record: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (c["args"][0], json.loads(c["args"][1]))
        for c in record
        if c["fn"] == "platformLoadComponent"
    ]


async def click(page: Page, selector: str) -> None:
    await page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


async def test_licence_failure_is_explained(station: PilotStation, page: Page) -> None:
    await page.navigate(pilot_url(station) + "?reject=1")
    text = await page.wait_for(
        "document.querySelector('#licence.error') && document.querySelector('#licence').textContent"
    )
    assert "refused the DJI licence" in text or "拒绝" in text
    assert "app license is invalid" in text
    assert await page.evaluate("document.getElementById('submit').disabled") is True
    record = await calls(page)
    assert record[0]["fn"] == "platformVerifyLicense"
    assert record[0]["args"] == [APP_ID, APP_KEY, APP_LICENSE]
    assert not [c for c in record if c["fn"] == "platformLoadComponent"]
    await page.screenshot(SCREENS / "01-login-licence-failed.png")


async def test_pilot_connects_through_every_module(station: PilotStation, page: Page) -> None:
    url = pilot_url(station)
    origin = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    await page.navigate(url)
    await page.wait_for("!!document.querySelector('#licence.ok')")
    await page.wait_for("!document.getElementById('submit').disabled")
    # The footer shows the product's one version number.
    footer = await page.wait_for("!document.getElementById('version').hidden && "
                                 "document.getElementById('version').textContent")
    assert footer == f"GCS {version()}"
    await page.screenshot(SCREENS / "02-login.png")
    await page.evaluate(
        f"document.getElementById('username').value = {json.dumps(station.username)};"
        f"document.getElementById('password').value = {json.dumps(station.password)};"
        "document.getElementById('submit').click()"
    )
    await page.wait_for("location.pathname.endsWith('/home.html')")
    home_footer = await page.wait_for("!document.getElementById('version').hidden && "
                                      "document.getElementById('version').textContent")
    assert home_footer == f"GCS {version()}"

    # Pilot's thing module would now connect to the broker: do it with what the page gave it.
    thing = await page.wait_for(
        "(JSON.parse(sessionStorage.getItem('standin.loaded') || '{}')).thing"
    )
    mqtt_host = urlsplit(thing["host"]).hostname
    expected_host = urlsplit(url).hostname
    assert thing["host"] == f"tcp://{expected_host}:{station.mqtt_port}"
    rc = RawGateway(
        station.mqtt_port,
        thing["username"],
        thing["password"],
        RC_SN,
        host=mqtt_host or "127.0.0.1",
        aircraft_sn=AIRCRAFT_SN,
    )
    try:
        assert rc.rc == 0, "the thing credentials were refused by the broker"
        rc.update_topo()
        bound = await page.wait_for(
            "document.getElementById('binding').textContent.indexOf('bound') >= 0 || "
            "document.getElementById('binding').textContent.indexOf('绑定到工作空间') >= 0",
            within=15,
        )
        assert bound
        await page.wait_for(
            "Array.from(document.querySelectorAll('#modules .module-state'))"
            ".every(td => td.classList.contains('state-ok'))"
        )
        await page.screenshot(SCREENS / "03-home-modules.png")

        record = await calls(page)
        fns = [c["fn"] for c in record]
        # Licence first, then the api module with the station's host and a working token.
        assert fns[:2] == ["platformVerifyLicense", "platformIsVerified"]
        assert record[0]["args"] == [APP_ID, APP_KEY, APP_LICENSE]
        modules = loads(record)
        names = [n for n, _ in modules]
        assert names[0] == "api" and names[1] == "thing", fns
        assert names[2:] == MODULE_ORDER_AFTER_THING
        api = modules[0][1]
        assert api["host"] == origin + "/"
        token = api["token"]
        set_token = [c["args"][0] for c in record if c["fn"] == "apiSetToken"]
        assert set_token and set_token[0] == token
        async with aiohttp.ClientSession() as s:
            async with s.get(
                origin + "/manage/api/v1/users/current", headers={"x-auth-token": token}
            ) as r:
                assert r.status == 200
                user = (await r.json())["data"]
            assert thing["username"] == user["mqtt_username"]
            assert thing["password"] == user["mqtt_password"]
            assert thing["connectCallback"] == "connectCallback"
            # The ws module gets the station's WebSocket and a token it accepts.
            ws = dict(modules)["ws"]
            assert ws["host"] == origin.replace("http", "ws", 1) + "/api/v1/ws"
            assert ws["connectCallback"] == "wsConnectCallback"
            async with s.ws_connect(ws["host"] + "?x-auth-token=" + quote(ws["token"], safe="")):
                pass
        # Workspace id and information.
        ws_ids = [c["args"] for c in record if c["fn"] == "platformSetWorkspaceId"]
        assert ws_ids == [[station.workspace_id]]
        info = [c["args"] for c in record if c["fn"] == "platformSetInformation"]
        st = station.settings["station"]
        assert [st["platform_name"], st["workspace_name"], st["workspace_desc"]] in info
        # The other modules' parameters.
        params = dict(modules)
        assert params["map"] == {"userName": station.username, "elementPreName": "PILOT"}
        assert params["tsa"] == {} and params["mission"] == {}
        assert params["media"] == {
            "autoUploadPhoto": True,
            "autoUploadPhotoType": 1,
            "autoUploadVideo": True,
        }
        assert params["liveshare"] == {
            "videoPublishType": "video-demand-aux-manual",
            "statusCallback": "liveStatusCallback",
        }
        assert ["mediaSetDownloadOwner", [0]] in [[c["fn"], c["args"]] for c in record]
        assert "platformGetRemoteControllerSN" in fns and "platformGetAircraftSN" in fns
        assert await page.evaluate("document.getElementById('rc-sn').textContent") == RC_SN
        assert await page.evaluate("document.getElementById('aircraft-sn').textContent") == (
            AIRCRAFT_SN
        )
        # Pilot's callbacks are handled.
        assert await page.evaluate("typeof window.djiBridge.onBackClick") == "function"
        assert await page.evaluate("window.djiBridge.onBackClick()") is False
        assert await page.evaluate("typeof window.djiBridge.onStopPlatform") == "function"

        # Third-party app, log area, unload/load.
        await click(page, "#third-party")
        record = await calls(page)
        assert ["platformIsAppInstalled", ["com.example.fieldapp"]] in [
            [c["fn"], c["args"]] for c in record
        ]
        assert ["window.open", ["fieldapp://open?from=pilot"]] in [
            [c["fn"], c["args"]] for c in record
        ]
        # The support details (Load/Unload, logs) are behind the toggle.
        assert await page.evaluate("document.getElementById('details').hidden") is True
        await click(page, "#details-toggle")
        assert await page.evaluate("document.getElementById('details').hidden") is False
        assert "LOG" in await page.evaluate("document.getElementById('log-path').textContent")
        await page.evaluate("document.getElementById('log-key').value = 'PUBLIC-KEY-PEM'")
        await click(page, "#log-key-set")
        await click(page, "#log-key-clear")
        await click(page, "tr[data-module=map] button.unload")
        record = await calls(page)
        pairs = [[c["fn"], c["args"]] for c in record]
        assert ["platformSetLogEncryptKey", ["PUBLIC-KEY-PEM"]] in pairs
        assert ["platformClearLogEncryptKey", []] in pairs
        assert ["platformUnloadComponent", ["map"]] in pairs
        assert "state-bad" in await page.evaluate(
            "document.querySelector('tr[data-module=map] .module-state').className"
        )
        await click(page, "tr[data-module=map] button.load")

        # A module Pilot refuses: the pilot reads why.
        await page.evaluate("sessionStorage.setItem('standin.failMission', 'true')")
        await click(page, "tr[data-module=mission] button.load")
        message = await page.wait_for(
            "document.querySelector('#message.error') && "
            "document.querySelector('#message').textContent"
        )
        assert "mission module unavailable" in message
        await page.screenshot(SCREENS / "04-home-module-refused.png")
        await page.evaluate("sessionStorage.removeItem('standin.failMission')")
        # The status line names what is wrong and what to do.
        assert (
            await page.evaluate("document.getElementById('status-card').getAttribute('data-level')")
            == "wait"
        )
        hint = await page.evaluate("document.getElementById('status-hint').textContent")
        assert "Waylines" in hint

        # Reload: the session survives, nothing logs in again, thing stays connected.
        before = len(await calls(page))
        await page.send("Page.reload")
        await page.wait_for(
            "document.getElementById('user').textContent === " + json.dumps(station.username)
        )
        after = (await calls(page))[before:]
        assert not [c for c in after if c["fn"] == "platformLoadComponent"]
        # Opening the login page again resumes with a refreshed token.
        before = len(await calls(page))
        await page.navigate(url)
        await page.wait_for("location.pathname.endsWith('/home.html')")
        again = loads((await calls(page))[before:])
        assert again and again[0][0] == "api" and again[0][1]["token"]

        # Chinese.
        await page.evaluate("localStorage.setItem('gcs.lang', 'zh')")
        await page.send("Page.reload")
        await page.wait_for("document.getElementById('title').textContent.indexOf('离线') >= 0")
        await page.wait_for("document.getElementById('user').textContent.length > 1")
        # After a reload the live status is read back (liveshareGetStatus, parsed twice).
        await page.wait_for("document.getElementById('live').textContent.indexOf('已连接') >= 0")
        await page.screenshot(SCREENS / "05-home-zh.png")
        await page.evaluate("localStorage.setItem('gcs.lang', 'en')")

        # Logout: confirm, Pilot leaves the platform, the token is gone.
        await click(page, "#logout")
        await page.screenshot(SCREENS / "06-logout-confirm.png")
        await click(page, "#confirm-ok")
        await page.wait_for("JSON.parse(sessionStorage.getItem('standin.stopped') || 'false')")
        assert await page.evaluate("localStorage.getItem('gcs.token')") is None
    finally:
        rc.close()


async def log_in(page: Page, station: PilotStation) -> None:
    await page.navigate(pilot_url(station))
    await page.wait_for("!document.getElementById('submit').disabled")
    await page.evaluate(
        f"document.getElementById('username').value = {json.dumps(station.username)};"
        f"document.getElementById('password').value = {json.dumps(station.password)};"
        "document.getElementById('submit').click()"
    )
    await page.wait_for("location.pathname.endsWith('/home.html')")


FITS = """(() => {
  const d = document.documentElement, out = document.getElementById('logout');
  const r = out.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {
    scrollH: d.scrollHeight, scrollW: d.scrollWidth, h: innerHeight, w: innerWidth,
    logoutShown: r.width > 0 && r.top >= 0 && r.bottom <= innerHeight && r.right <= innerWidth
      && hit === out,
    status: document.getElementById('status-text').textContent,
    level: document.getElementById('status-card').getAttribute('data-level'),
    healthRows: new Set(Array.from(document.querySelectorAll('#health li'))
      .map(li => Math.round(li.getBoundingClientRect().top))).size,
  };
})()"""


async def test_home_fits_1280x720_and_the_rc_plus_without_scrolling(
    station: PilotStation,
) -> None:
    """A pilot's page: one status line, modules' health in one row, Log out visible, no
    scrolling at 1280×720 and on the RC Plus (1920×1080 at DPR 2: 960×540 CSS px), EN and ZH;
    the developer bits are behind the toggle."""
    async with pilot_page(FIT_RC_SN, FIT_AIRCRAFT_SN) as page:
        await fit_and_bind(station, page)


async def fit_and_bind(station: PilotStation, page: Page) -> None:
    await log_in(page, station)
    thing = await page.wait_for(
        "(JSON.parse(sessionStorage.getItem('standin.loaded') || '{}')).thing"
    )
    sizes = ((1280, 720, 1), (960, 540, 2))

    async def check(state: str, expect_level: str) -> None:
        for width, height, dpr in sizes:
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": dpr, "mobile": False},
            )
            for lang in ("en", "zh"):
                await page.evaluate(f"I18n.setLang({json.dumps(lang)})")
                fit = await page.evaluate(FITS)
                assert fit["level"] == expect_level, fit
                assert fit["scrollH"] <= height and fit["scrollW"] <= width, (width, lang, fit)
                assert fit["logoutShown"], (width, lang, fit)
                assert fit["healthRows"] == 1, (width, lang, fit)
                await page.screenshot(SCREENS / f"07-home-{state}-{width}x{height}-{lang}.png")

    # Not bound yet (the RC has not come online): the line says so and what to do.
    await page.wait_for(
        "document.getElementById('status-card').getAttribute('data-level') === 'wait' && "
        "!document.getElementById('status-hint').hidden"
    )
    await check("unbound", "wait")
    assert await page.evaluate("document.getElementById('details').hidden") is True
    assert await page.evaluate(
        "getComputedStyle(document.getElementById('log-key')).display === 'none' || "
        "document.getElementById('log-key').getBoundingClientRect().height === 0"
    )

    rc = RawGateway(
        station.mqtt_port,
        thing["username"],
        thing["password"],
        FIT_RC_SN,
        host=urlsplit(thing["host"]).hostname or "127.0.0.1",
        aircraft_sn=FIT_AIRCRAFT_SN,
    )
    try:
        rc.update_topo()
        await page.wait_for(
            "document.getElementById('status-card').getAttribute('data-level') === 'ok'",
            within=15,
        )
        await page.evaluate("I18n.setLang('en')")
        status = await page.evaluate("document.getElementById('status-text').textContent")
        assert status.startswith("Connected to ") and "bound" in status
        assert urlsplit(pilot_url(station)).netloc in status  # which station
        await check("bound", "ok")
    finally:
        rc.close()
        await page.evaluate("I18n.setLang('en')")
