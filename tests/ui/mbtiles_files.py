"""Real MBTiles files for tests: SQLite per the MBTiles 1.3 spec, PNG tiles made with zlib."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path


def png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A solid-colour RGB PNG of `size`×`size` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size, 9)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def make_mbtiles(
    path: Path,
    tiles: dict[tuple[int, int, int], bytes],
    *,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write an MBTiles file; `tiles` is keyed by XYZ (z, x, y with y from the north).

    Rows are stored in the TMS scheme, as the spec says, so a reader must flip y back.
    """
    meta = {
        "name": "Test site",
        "format": "png",
        "bounds": "113.9,22.5,114.0,22.6",
        "center": "113.95,22.55,14",
        "minzoom": str(min((z for z, _, _ in tiles), default=0)),
        "maxzoom": str(max((z for z, _, _ in tiles), default=0)),
        "attribution": "test tiles",
        "type": "baselayer",
        "version": "1",
    }
    meta.update(metadata or {})
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        conn.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        conn.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()],
        )
    conn.close()
    return path


RED = png((220, 30, 30))
BLUE = png((30, 30, 220))


def site_tiles(path: Path) -> Path:
    """A small tileset: two zoom-1 tiles of different colours and one zoom-14 tile."""
    return make_mbtiles(path, {(1, 0, 0): RED, (1, 1, 1): BLUE, (14, 13377, 7138): RED})
