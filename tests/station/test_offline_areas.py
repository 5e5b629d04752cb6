"""Offline areas: the station stores a tile server's tiles into MBTiles and serves them.

A real station (`ThreadedRuntime`) downloads from a real aiohttp tile server on 127.0.0.1
(`tests/tile_server.py`) that answers 429 + Retry-After once and 404 for some tiles; the file
is read back with sqlite3 (TMS rows, metadata) and through the station's own HTTP tile routes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from station_harness import free_port
from tile_server import FakeTileServer, tile_png
from waits import wait_until

from gcs.runtime import Runtime, ThreadedRuntime
from gcs.station.basemap import BaseMaps, OfflineAreaProgress
from gcs.station.bus import LogEntry
from gcs.station.tile_download import (
    MAX_TILES,
    AreaRequest,
    DownloadRefused,
    tile_count,
    tile_ranges,
)
from gcs.store.settings import load_settings

# A small site (Shenzhen bay): 17 tiles from zoom 10 to 13, 123 to zoom 15.
SITE = (113.90, 22.48, 113.99, 22.56)


def start_station(data_dir: Path) -> ThreadedRuntime:
    s = load_settings(data_dir)
    s.station.host = s.station.public_host = "127.0.0.1"
    s.mqtt.port = free_port()
    s.ntp.port = s.ntp.fallback_port = 0
    s.http.port, s.http.https_port, s.storage.port = free_port(), free_port(), free_port()
    s.live.enabled = False
    rt = ThreadedRuntime(Runtime(s, data_dir))
    rt.start()
    return rt


class Seen:
    def __init__(self) -> None:
        self.progress: list[OfflineAreaProgress] = []
        self.logs: list[LogEntry] = []
        self.lock = threading.Lock()

    def on_progress(self, e: OfflineAreaProgress) -> None:
        with self.lock:
            self.progress.append(e)

    def on_log(self, e: LogEntry) -> None:
        with self.lock:
            self.logs.append(e)

    def final(self, name: str) -> OfflineAreaProgress | None:
        with self.lock:
            ends = [e for e in self.progress if e.name == name and e.finished]
        return ends[-1] if ends else None


@pytest.fixture
def station(tmp_path: Path) -> Iterator[tuple[ThreadedRuntime, BaseMaps, Seen]]:
    rt = start_station(tmp_path / "station")
    seen = Seen()
    st = rt.runtime.station

    async def attach() -> None:
        st.bus.subscribe(OfflineAreaProgress, seen.on_progress)
        st.bus.subscribe(LogEntry, seen.on_log)

    rt.submit(attach()).result(5)
    yield rt, st.capability(BaseMaps), seen
    rt.stop()


@pytest.fixture
def server() -> Iterator[FakeTileServer]:
    srv = FakeTileServer().start()
    yield srv
    srv.stop()


def http_get(rt: ThreadedRuntime, path: str) -> tuple[int, bytes]:
    url = next(ep.url for ep in rt.runtime.endpoints() if ep.name == "http").rstrip("/")
    try:
        with urllib.request.urlopen(url + path, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def configure(rt: ThreadedRuntime, maps: BaseMaps, server: FakeTileServer) -> None:
    rt.submit(
        maps.configure(url_template=server.url, attribution="© Test tiles", max_zoom=18)
    ).result(5)


def rows(path: Path) -> tuple[dict[str, str], dict[tuple[int, int, int], bytes]]:
    with sqlite3.connect(path) as db:
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        tiles = {(z, c, r): bytes(d) for z, c, r, d in db.execute("SELECT * FROM tiles")}
    return meta, tiles


def test_tile_maths_match_the_slippy_map_scheme() -> None:
    # Zoom 0 is one tile; zoom 1 splits the world in 4 with y from the north.
    assert list(tile_ranges((-180, -85, 180, 85), 0, 1)) == [(0, 0, 0, 0, 0), (1, 0, 1, 0, 1)]
    # The bay at zoom 13 (OSM numbering): 3 × 3 tiles.
    (_, x0, x1, y0, y1) = next(tile_ranges(SITE, 13, 13))
    assert (x0, x1) == (6687, 6689) and (y0, y1) == (3568, 3570)
    assert tile_count(SITE, 13, 13) == 9


def test_area_downloads_into_mbtiles_and_is_served(
    station: tuple[ThreadedRuntime, BaseMaps, Seen], server: FakeTileServer
) -> None:
    rt, maps, seen = station
    configure(rt, maps, server)
    req = AreaRequest("bay", SITE, 10, 13, title="Shenzhen bay")
    tiles = list(req.tiles())
    assert len(tiles) == req.count == tile_count(SITE, 10, 13)
    missing = {tiles[-1], tiles[-3]}
    server.missing |= missing
    busy = tiles[2]
    server.busy_once.add(busy)

    count, size = maps.estimate(req)
    assert count == req.count and size > 0
    name = rt.submit(maps.start_download(req)).result(5)
    assert name == "bay"
    end = wait_until(lambda: seen.final("bay"), within=30, what="download end")
    assert end.status == "done", end
    assert (end.total, end.stored, end.failed, end.skipped) == (req.count, req.count - 2, 2, 0)

    # The server's usage policy: ≤ 2 requests at once, our User-Agent, 429 honoured.
    assert server.max_parallel <= 2
    assert all(h.user_agent.startswith("gcs/") for h in server.hits)
    first, again = server.requests_for(*busy)
    assert (first.status, again.status) == (429, 200)
    assert again.at - first.at >= 0.9  # Retry-After: 1
    running = [e for e in seen.progress if e.name == "bay" and e.status == "running"]
    assert running and running[0].stored <= running[-1].stored

    meta, stored = rows(maps.folder / "bay.mbtiles")
    assert meta["name"] == "Shenzhen bay" and meta["format"] == "png"
    assert (meta["minzoom"], meta["maxzoom"]) == ("10", "13")
    assert meta["attribution"] == "© Test tiles"
    w, s, e, n = (float(v) for v in meta["bounds"].split(","))
    assert (w, s, e, n) == pytest.approx(SITE)
    assert len(stored) == req.count - 2
    for z, x, y in tiles:  # TMS rows: row 0 in the south
        row = stored.get((z, x, (1 << z) - 1 - y))
        assert row == (None if (z, x, y) in missing else tile_png(z, x, y))

    # The station serves the file by name and as the layered map (XYZ, y from the north).
    z, x, y = tiles[0]
    assert http_get(rt, f"/tiles/bay/{z}/{x}/{y}.png") == (200, tile_png(z, x, y))
    assert http_get(rt, f"/tiles/_all/{z}/{x}/{y}.png") == (200, tile_png(z, x, y))
    assert http_get(rt, "/tiles/_all/{}/{}/{}.png".format(*tiles[-1]))[0] == 404
    index = json.loads(http_get(rt, "/tiles/")[1])
    assert [t["name"] for t in index["tilesets"]] == ["bay"]
    assert index["layered"]["maxzoom"] == 13
    log = [e for e in seen.logs if e.kind == "basemap" and "bay done" in e.message]
    assert log and "2 failed" in log[0].message and "HTTP 404: 2" in log[0].message


def test_cancel_keeps_the_tiles_and_resume_skips_them(
    station: tuple[ThreadedRuntime, BaseMaps, Seen], server: FakeTileServer
) -> None:
    rt, maps, seen = station
    configure(rt, maps, server)
    server.delay_s = 0.02
    req = AreaRequest("slow", SITE, 10, 15)
    rt.submit(maps.start_download(req)).result(5)
    wait_until(
        lambda: any(e.name == "slow" and e.stored >= 10 for e in list(seen.progress)),
        within=30,
        what="some tiles",
    )
    assert rt.submit(maps.cancel()).result(10) is True
    end = seen.final("slow")
    assert end is not None and end.status == "canceled"
    assert len([e for e in seen.progress if e.name == "slow" and e.finished]) == 1
    _, stored = rows(maps.folder / "slow.mbtiles")
    assert 0 < len(stored) < req.count
    assert len(stored) == end.stored
    asked = len(server.hits)

    server.delay_s = 0
    with seen.lock:
        seen.progress.clear()
    rt.submit(maps.resume("slow")).result(5)
    done = wait_until(lambda: seen.final("slow"), within=30, what="resumed download end")
    assert done.status == "done" and done.skipped == len(stored)
    assert done.stored == req.count and done.failed == 0
    # Only the missing tiles were asked for again; the server may log the (at most two)
    # requests that were in flight when the download was canceled after `asked` was read.
    again = len(server.hits) - asked
    assert req.count - len(stored) <= again <= req.count - len(stored) + 2
    assert len(rows(maps.folder / "slow.mbtiles")[1]) == req.count


def test_forbidden_stops_the_download(
    station: tuple[ThreadedRuntime, BaseMaps, Seen], server: FakeTileServer
) -> None:
    rt, maps, seen = station
    configure(rt, maps, server)
    server.forbidden = True
    rt.submit(maps.start_download(AreaRequest("nope", SITE, 10, 14))).result(5)
    end = wait_until(lambda: seen.final("nope"), within=20, what="download end")
    assert end.status == "stopped" and "403" in end.message_en and "403" in end.message_zh
    assert len(server.hits) <= 2  # stopped at the first answer (two workers)


@pytest.mark.parametrize(
    ("bounds", "zooms", "words"),
    [
        ((-180.0, -85.0, 180.0, 85.0), (0, 12), f"at most {MAX_TILES:,}"),
        (SITE, (10, 20), "up to zoom 19"),
        ((114.0, 22.5, 113.9, 22.6), (10, 12), "not a box"),
        (SITE, (12, 10), "not valid"),
    ],
)
def test_absurd_requests_are_refused(
    bounds: tuple[float, float, float, float], zooms: tuple[int, int], words: str
) -> None:
    with pytest.raises(DownloadRefused) as info:
        AreaRequest("x", bounds, *zooms)
    assert words in str(info.value) and info.value.code == 210002 and info.value.zh


def test_refusals_reach_the_operator(
    station: tuple[ThreadedRuntime, BaseMaps, Seen], server: FakeTileServer
) -> None:
    rt, maps, seen = station
    # No tile server set: refused, said in the events.
    with pytest.raises(DownloadRefused, match="No usable tile server"):
        rt.submit(maps.start_download(AreaRequest("a", SITE, 10, 11))).result(5)
    with pytest.raises(DownloadRefused, match="must be an http"):
        rt.submit(maps.configure(url_template="ftp://x/{z}/{x}/{y}")).result(5)
    configure(rt, maps, server)
    with pytest.raises(DownloadRefused, match="up to zoom 18"):
        rt.submit(maps.start_download(AreaRequest("a", SITE, 10, 19))).result(5)
    warned = [e.message for e in seen.logs if e.kind == "basemap" and e.level == "warning"]
    assert any("No usable tile server" in m for m in warned)
    assert any("up to zoom 18" in m for m in warned)
    assert any("must be an http" in m for m in warned)
    assert not server.hits


def test_base_layer_and_tile_server_survive_a_restart(
    tmp_path: Path, server: FakeTileServer
) -> None:
    data_dir = tmp_path / "station"
    rt = start_station(data_dir)
    maps = rt.runtime.station.capability(BaseMaps)
    try:
        configure(rt, maps, server)
        rt.submit(maps.set_base_layer("offline")).result(5)
    finally:
        rt.stop()
    rt = start_station(data_dir)
    try:
        again: Any = rt.runtime.station.capability(BaseMaps)
        assert again.base_layer == "offline"
        assert again.server().url_template == server.url
        assert again.server().attribution == "© Test tiles"
    finally:
        rt.stop()
