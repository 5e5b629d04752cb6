"""The MBTiles store (import, validation, TMS flip) and its HTTP routes, on a real socket."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from mbtiles_files import BLUE, RED, make_mbtiles, png, site_tiles

from gcs.station.tiles import TileError, TileStore, inspect_mbtiles
from gcs.web.tiles import make_tiles_app


def test_inspect_reads_metadata_and_zooms(tmp_path: Path) -> None:
    info = inspect_mbtiles(site_tiles(tmp_path / "Site A.mbtiles"))
    assert info.name == "Site_A"
    assert info.title == "Test site"
    assert info.format == "png"
    assert (info.min_zoom, info.max_zoom) == (1, 14)
    assert info.bounds == (113.9, 22.5, 114.0, 22.6)
    assert info.center == (113.95, 22.55, 14)
    assert info.tile_count == 3


def test_import_copies_and_serves_tiles_with_y_flipped(tmp_path: Path) -> None:
    src = site_tiles(tmp_path / "site.mbtiles")
    store = TileStore(tmp_path / "data" / "tiles")
    info = store.import_file(src)
    assert info.path == tmp_path / "data" / "tiles" / "site.mbtiles"
    assert info.path.read_bytes() == src.read_bytes()
    assert [t.name for t in store.list()] == ["site"]
    # XYZ (1, 0, 0) is the north-west tile; stored as TMS row 1.
    assert store.tile("site", 1, 0, 0) == RED
    assert store.tile("site", 1, 1, 1) == BLUE
    assert store.tile("site", 1, 0, 1) is None
    assert store.tile("site", 1, 5, 0) is None  # outside the zoom level
    src.unlink()  # the store serves its own copy
    assert store.tile("site", 14, 13377, 7138) == RED
    store.close()


def test_import_refuses_a_taken_name_unless_replacing(tmp_path: Path) -> None:
    store = TileStore(tmp_path / "tiles")
    store.import_file(site_tiles(tmp_path / "a.mbtiles"), "site")
    other = make_mbtiles(tmp_path / "b.mbtiles", {(0, 0, 0): BLUE})
    with pytest.raises(TileError, match="already exists"):
        store.import_file(other, "site")
    assert store.tile("site", 1, 0, 0) == RED
    store.import_file(other, "site", replace=True)
    assert store.tile("site", 0, 0, 0) == BLUE
    assert store.tile("site", 1, 0, 0) is None
    store.remove("site")
    assert store.list() == []


def test_a_second_store_over_the_folder_sees_replacements(tmp_path: Path) -> None:
    ui, web_side = TileStore(tmp_path / "tiles"), TileStore(tmp_path / "tiles")
    ui.import_file(site_tiles(tmp_path / "a.mbtiles"), "site")
    assert web_side.tile("site", 1, 0, 0) == RED
    assert web_side.get("site").max_zoom == 14
    ui.import_file(make_mbtiles(tmp_path / "b.mbtiles", {(1, 0, 0): BLUE}), "site", replace=True)
    assert web_side.tile("site", 1, 0, 0) == BLUE
    assert web_side.get("site").max_zoom == 1
    ui.remove("site")
    with pytest.raises(TileError, match="No tileset named 'site'"):
        web_side.tile("site", 1, 0, 0)
    assert web_side.list() == []


def _vector(path: Path) -> Path:
    return make_mbtiles(path, {(0, 0, 0): b"\x1f\x8b\x08\x00junk"}, metadata={"format": "pbf"})


def _no_tiles_table(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    conn.commit()
    conn.close()
    return path


def _text(path: Path) -> Path:
    path.write_text("not a database")
    return path


def _empty(path: Path) -> Path:
    return make_mbtiles(path, {})


def _gif(path: Path) -> Path:
    return make_mbtiles(path, {(0, 0, 0): b"GIF89a..."}, metadata={"format": "gif"})


@pytest.mark.parametrize(
    ("make", "message", "zh"),
    [
        (_vector, "vector tiles", "矢量"),
        (_no_tiles_table, "no tiles table", "tiles"),
        (_text, "not an MBTiles file", "不是 MBTiles"),
        (_empty, "holds no tiles", "没有任何瓦片"),
        (_gif, "unsupported format", "不受支持"),
    ],
)
def test_import_rejects_bad_files_and_leaves_the_store_unchanged(
    tmp_path: Path, make: object, message: str, zh: str
) -> None:
    store = TileStore(tmp_path / "tiles")
    bad = make(tmp_path / "bad.mbtiles")  # type: ignore[operator]
    with pytest.raises(TileError, match=message) as err:
        store.import_file(bad)
    assert zh in err.value.text("zh")
    assert store.list() == []
    folder = tmp_path / "tiles"
    assert not folder.exists() or not any(folder.iterdir())


def test_missing_file_is_a_tile_error(tmp_path: Path) -> None:
    with pytest.raises(TileError, match="Cannot read"):
        TileStore(tmp_path / "tiles").import_file(tmp_path / "nope.mbtiles")


def test_format_is_sniffed_when_metadata_lacks_it(tmp_path: Path) -> None:
    path = make_mbtiles(tmp_path / "x.mbtiles", {(0, 0, 0): png((1, 2, 3), 8)})
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM metadata WHERE name IN ('format', 'minzoom', 'maxzoom')")
    conn.commit()
    conn.close()
    info = inspect_mbtiles(path)
    assert (info.format, info.min_zoom, info.max_zoom) == ("png", 0, 0)


@pytest.fixture
async def tiles_server(tmp_path: Path) -> AsyncIterator[tuple[str, TileStore]]:
    store = TileStore(tmp_path / "tiles")
    store.import_file(site_tiles(tmp_path / "site.mbtiles"))
    runner = web.AppRunner(make_tiles_app(store))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", store
    await runner.cleanup()
    store.close()


async def test_http_serves_tiles_and_index(tiles_server: tuple[str, TileStore]) -> None:
    base, _ = tiles_server
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/tiles/site/1/0/0.png") as r:
            assert r.status == 200
            assert r.content_type == "image/png"
            assert await r.read() == RED
        async with http.get(f"{base}/tiles/site/1/1/1.png") as r:
            assert await r.read() == BLUE
        async with http.get(f"{base}/tiles/site/1/0/1.png") as r:
            assert r.status == 404
        async with http.get(f"{base}/tiles/site/1/0/0.jpg") as r:
            assert r.status == 404
        async with http.get(f"{base}/tiles/other/1/0/0.png") as r:
            assert r.status == 404
            assert "No tileset named 'other'" in await r.text()
        async with http.get(f"{base}/tiles/") as r:
            index = await r.json()
        async with http.get(f"{base}/tiles/site.json") as r:
            one = await r.json()
    [entry] = index["tilesets"]
    assert entry == one
    assert entry["name"] == "site"
    assert entry["tiles"] == ["/tiles/site/{z}/{x}/{y}.png"]
    assert (entry["minzoom"], entry["maxzoom"], entry["bounds"]) == (
        1,
        14,
        [113.9, 22.5, 114.0, 22.6],
    )
