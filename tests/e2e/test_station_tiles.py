"""Offline base maps: an MBTiles file in the station's tile folder is served by `gcs serve`'s
own HTTP server (for the desktop map, and for Pilot later)."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from station_harness import start_serve

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from mbtiles_files import site_tiles


def test_serve_serves_imported_mbtiles(tmp_path: Path) -> None:
    data_dir = tmp_path / "station"
    (data_dir / "tiles").mkdir(parents=True)
    site_tiles(data_dir / "tiles" / "site.mbtiles")
    serve = start_serve(data_dir)
    try:
        http = next(line.split(" ", 1)[1] for line in serve.lines if line.startswith("http: "))
        index = json.load(urllib.request.urlopen(http + "tiles/"))
        names = [t["name"] for t in (index if isinstance(index, list) else index["tilesets"])]
        assert "site" in names
        # The tileset holds two zoom-1 tiles (x 0 and x 1, opposite rows); y is XYZ on the URL.
        found = []
        for x, y in ((0, 0), (0, 1), (1, 0), (1, 1)):
            try:
                tile = urllib.request.urlopen(http + f"tiles/site/1/{x}/{y}.png")
            except urllib.error.HTTPError as exc:
                assert exc.code == 404
                continue
            assert tile.headers["Content-Type"] == "image/png"
            assert tile.read().startswith(b"\x89PNG")
            found.append((x, y))
        assert len(found) == 2 and found[0][0] != found[1][0]
    finally:
        serve.stop()
