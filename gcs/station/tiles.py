"""Offline base maps: MBTiles files the operator imports, kept under `<data_dir>/tiles/`.

Theory of operation
-------------------
An MBTiles file (https://github.com/mapbox/mbtiles-spec) is an SQLite database with a
`metadata` table (name/value rows: `name`, `format`, `bounds`, `minzoom`, `maxzoom`, ...) and a
`tiles` table or view (`zoom_level`, `tile_column`, `tile_row`, `tile_data`). Rows are in the
TMS scheme: row 0 is the *southernmost* row, while web maps (Leaflet, Pilot) ask for XYZ tiles
whose row 0 is the northernmost, so `tile()` flips `y` to `2**z - 1 - y`.

`TileStore.import_file` validates a file (SQLite header, both tables, a raster format: png,
jpg or webp; vector `pbf` tiles are refused because neither the station map nor Pilot can draw
them without a style) and copies it atomically into the store under a safe name. Reading opens
each tileset read-only once and shares the connection between threads under a lock; a tile read
is one indexed SELECT (tens of microseconds), but callers on an event loop should still run it in
an executor. Nothing here knows about HTTP or Qt: `gcs.web.tiles` serves the store and the desktop
map shows it.
"""

from __future__ import annotations

import math
import re
import shutil
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RASTER_FORMATS", "TileError", "TileStore", "Tileset", "inspect_mbtiles"]

SQLITE_MAGIC = b"SQLite format 3\x00"
RASTER_FORMATS = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
SUFFIX = ".mbtiles"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_ZOOM = 24


class TileError(Exception):
    """An MBTiles file cannot be imported or read. `zh` holds the same message in Chinese."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh

    def text(self, lang: str = "en") -> str:
        """The message in `lang` ("en" or "zh...")."""
        return self.zh if lang.lower().startswith("zh") else str(self)


@dataclass(frozen=True, slots=True)
class Tileset:
    """One imported (or inspected) MBTiles file."""

    name: str  # file stem in the store; the URL segment /tiles/{name}/...
    title: str  # metadata `name`, for people
    format: str  # png | jpg | webp
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north (degrees)
    center: tuple[float, float, int] | None  # lon, lat, zoom
    attribution: str
    description: str
    tile_count: int
    size_bytes: int
    path: Path

    @property
    def content_type(self) -> str:
        return RASTER_FORMATS[self.format]

    def as_json(self, url_base: str = "/tiles") -> dict[str, Any]:
        """A JSON-ready description (TileJSON-like) with the XYZ URL template."""
        return {
            "name": self.name,
            "title": self.title,
            "format": self.format,
            "minzoom": self.min_zoom,
            "maxzoom": self.max_zoom,
            "bounds": list(self.bounds) if self.bounds else None,
            "center": list(self.center) if self.center else None,
            "attribution": self.attribution,
            "description": self.description,
            "tile_count": self.tile_count,
            "size_bytes": self.size_bytes,
            "scheme": "xyz",
            "tiles": [f"{url_base}/{self.name}/{{z}}/{{x}}/{{y}}.{self.format}"],
        }


def _fail(en: str, zh: str) -> TileError:
    return TileError(en, zh)


def _open_ro(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"\x1f\x8b":
        return "pbf"  # gzip: vector tiles are stored gzipped
    return None


def _parse_bounds(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        w, s, e, n = (float(p) for p in text.split(","))
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        return None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        return None
    return (w, s, e, n)


def _parse_center(text: str | None) -> tuple[float, float, int] | None:
    if not text:
        return None
    parts = text.split(",")
    try:
        lon, lat = float(parts[0]), float(parts[1])
        zoom = int(float(parts[2])) if len(parts) > 2 else 0
    except (ValueError, IndexError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return (lon, lat, zoom)


def _int_or(text: str | None, default: int) -> int:
    try:
        return int(float(text)) if text is not None else default
    except ValueError:
        return default


def inspect_mbtiles(path: Path, name: str | None = None) -> Tileset:
    """Validate an MBTiles file and describe it, without importing it.

    Args:
        path: The file to read.
        name: The store name to report (default: a safe form of the file's stem).

    Returns:
        The tileset description.

    Raises:
        TileError: The file is missing, not SQLite, lacks the MBTiles tables, holds no tiles,
            or holds vector (pbf) or unknown tiles.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise _fail(
            f"Cannot read {path}: {exc.strerror or exc}. Check the file and try again.",
            f"无法读取 {path}：{exc.strerror or exc}。请检查文件后重试。",
        ) from exc
    if head != SQLITE_MAGIC:
        raise _fail(
            f"{path.name} is not an MBTiles file (not an SQLite database). "
            "Export the map as .mbtiles (raster PNG/JPG tiles) and import that file.",
            f"{path.name} 不是 MBTiles 文件（不是 SQLite 数据库）。请将地图导出为 .mbtiles"
            "（PNG/JPG 栅格瓦片）后再导入。",
        )
    try:
        conn = _open_ro(path)
    except sqlite3.Error as exc:
        raise _fail(
            f"{path.name} cannot be opened: {exc}.", f"无法打开 {path.name}：{exc}。"
        ) from exc
    try:
        return _describe(conn, path, name or safe_name(path.stem))
    except sqlite3.DatabaseError as exc:
        raise _fail(
            f"{path.name} is damaged or not an MBTiles file: {exc}.",
            f"{path.name} 已损坏或不是 MBTiles 文件：{exc}。",
        ) from exc
    finally:
        conn.close()


def _describe(conn: sqlite3.Connection, path: Path, name: str) -> Tileset:
    objects = {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    }
    missing = [t for t in ("metadata", "tiles") if t not in objects]
    if missing:
        raise _fail(
            f"{path.name} is not an MBTiles file: it has no {' or '.join(missing)} table.",
            f"{path.name} 不是 MBTiles 文件：缺少 {'、'.join(missing)} 表。",
        )
    meta: dict[str, str] = {}
    for key, value in conn.execute("SELECT name, value FROM metadata"):
        if isinstance(key, str) and value is not None:
            meta[key.strip().lower()] = str(value).strip()
    row = conn.execute("SELECT count(*), min(zoom_level), max(zoom_level) FROM tiles").fetchone()
    count = int(row[0] or 0)
    if count == 0:
        raise _fail(f"{path.name} holds no tiles.", f"{path.name} 中没有任何瓦片。")
    first = conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    sniffed = _sniff_format(bytes(first[0] or b""))
    fmt = meta.get("format", "").lower().lstrip(".")
    fmt = {"jpeg": "jpg"}.get(fmt, fmt) or (sniffed or "")
    if fmt in ("pbf", "mvt") or sniffed == "pbf":
        raise _fail(
            f"{path.name} holds vector tiles (pbf); the station shows raster tiles only. "
            "Export the map with PNG or JPG tiles.",
            f"{path.name} 为矢量瓦片 (pbf)；地面站仅支持栅格瓦片。请以 PNG 或 JPG 格式导出地图。",
        )
    if fmt not in RASTER_FORMATS:
        raise _fail(
            f"{path.name} has tiles in an unsupported format ({fmt or 'unknown'}); "
            "use PNG, JPG or WebP tiles.",
            f"{path.name} 的瓦片格式不受支持（{fmt or '未知'}）；请使用 PNG、JPG 或 WebP。",
        )
    min_zoom = max(0, min(_int_or(meta.get("minzoom"), int(row[1])), MAX_ZOOM))
    max_zoom = max(min_zoom, min(_int_or(meta.get("maxzoom"), int(row[2])), MAX_ZOOM))
    return Tileset(
        name=name,
        title=meta.get("name") or path.stem,
        format=fmt,
        min_zoom=min_zoom,
        max_zoom=max_zoom,
        bounds=_parse_bounds(meta.get("bounds")),
        center=_parse_center(meta.get("center")),
        attribution=meta.get("attribution", ""),
        description=meta.get("description", ""),
        tile_count=count,
        size_bytes=path.stat().st_size,
        path=path,
    )


def safe_name(text: str) -> str:
    """A store name made from `text`: letters, digits, `_ . -`, at most 64 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-")[:64]
    return cleaned or "tiles"


class TileStore:
    """The MBTiles files under one folder. Thread-safe; usable until `close()`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._conns: dict[str, sqlite3.Connection] = {}
        self._sets: dict[str, Tileset] = {}
        # The file each cached entry was read from: another store over the same folder (the
        # web server's, say) may replace or delete a file; a changed file is read afresh.
        self._sigs: dict[str, tuple[int, int, int]] = {}

    # -- catalogue -----------------------------------------------------------------------

    def list(self) -> list[Tileset]:
        """Every valid tileset in the store, by name (invalid files are skipped)."""
        if not self.root.is_dir():
            return []
        out = []
        for path in sorted(self.root.glob(f"*{SUFFIX}")):
            try:
                out.append(self.get(path.stem))
            except TileError:
                continue
        return out

    def get(self, name: str) -> Tileset:
        """The tileset called `name`.

        Raises:
            TileError: No such tileset, or its file is not valid.
        """
        path = self._path(name)
        sig = self._signature(name, path)
        with self._lock:
            cached = self._sets.get(name)
            if cached is not None:
                return cached
        info = inspect_mbtiles(path, name)
        with self._lock:
            if self._sigs.get(name) == sig:
                self._sets[name] = info
        return info

    def _signature(self, name: str, path: Path) -> tuple[int, int, int]:
        """Stat `path`; forget what is cached for `name` if the file changed.

        Raises:
            TileError: The file does not exist.
        """
        try:
            st = path.stat()
        except OSError:
            with self._lock:
                self._drop(name)
            raise _fail(
                f"No tileset named {name!r}.", f"没有名为 {name!r} 的地图瓦片集。"
            ) from None
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if self._sigs.get(name) != sig:
                self._drop(name)
                self._sigs[name] = sig
        return sig

    def _path(self, name: str) -> Path:
        if not _NAME_RE.match(name):
            raise _fail(f"Invalid tileset name {name!r}.", f"瓦片集名称无效：{name!r}。")
        return self.root / f"{name}{SUFFIX}"

    # -- import / remove -----------------------------------------------------------------

    def import_file(self, src: Path, name: str | None = None, *, replace: bool = False) -> Tileset:
        """Validate `src` and copy it into the store (blocking: call from an executor).

        Args:
            src: The operator's .mbtiles file.
            name: Store name (default: from the file name).
            replace: Overwrite a tileset of the same name.

        Returns:
            The imported tileset.

        Raises:
            TileError: The file is not a usable MBTiles file, the name is taken (and `replace`
                is false), or the copy failed (the store is left unchanged).
        """
        src = Path(src)
        name = safe_name(name or src.stem)
        inspect_mbtiles(src, name)
        target = self._path(name)
        if target.exists() and not replace:
            raise _fail(
                f"A tileset named {name!r} already exists. Remove it first or import under "
                "another name.",
                f"已存在名为 {name!r} 的瓦片集。请先删除或换一个名称导入。",
            )
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{name}.{uuid.uuid4().hex}.part"
        try:
            shutil.copyfile(src, tmp)
            inspect_mbtiles(tmp, name)  # the copy is what we serve: check it too
            with self._lock:
                self._drop(name)
                tmp.replace(target)
        except OSError as exc:
            raise _fail(
                f"Could not copy {src.name} into {self.root}: {exc.strerror or exc}. "
                "Check free disk space and permissions.",
                f"无法将 {src.name} 复制到 {self.root}：{exc.strerror or exc}。"
                "请检查磁盘空间和权限。",
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
        return self.get(name)

    def remove(self, name: str) -> None:
        """Delete a tileset.

        Raises:
            TileError: No such tileset.
        """
        path = self._path(name)
        with self._lock:
            self._drop(name)
            if not path.exists():
                raise _fail(f"No tileset named {name!r}.", f"没有名为 {name!r} 的地图瓦片集。")
            path.unlink()

    def _drop(self, name: str) -> None:
        conn = self._conns.pop(name, None)
        if conn is not None:
            conn.close()
        self._sets.pop(name, None)
        self._sigs.pop(name, None)

    def close(self) -> None:
        with self._lock:
            for name in list(self._conns):
                self._drop(name)

    # -- tiles ---------------------------------------------------------------------------

    def layered_tile(self, z: int, x: int, y: int) -> tuple[bytes, str] | None:
        """The tile at XYZ coordinates from the newest tileset that has it, with its content
        type (several downloaded areas shown as one map), or None when none has it."""
        sets = sorted(self.list(), key=_mtime, reverse=True)
        for info in sets:
            if not (info.min_zoom <= z <= info.max_zoom):
                continue
            try:
                data = self.tile(info.name, z, x, y)
            except TileError:
                continue
            if data is not None:
                return data, info.content_type
        return None

    def tile(self, name: str, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ coordinates (y counted from the north), or None if absent.

        Raises:
            TileError: No such tileset, or its file is unreadable.
        """
        if not (0 <= z <= MAX_ZOOM) or not (0 <= x < 2**z) or not (0 <= y < 2**z):
            return None
        tms_row = (1 << z) - 1 - y
        path = self._path(name)
        self._signature(name, path)
        with self._lock:
            conn = self._conns.get(name)
            if conn is None:
                conn = self._conns[name] = _open_ro(path)
            try:
                row = conn.execute(
                    "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                    "AND tile_row = ?",
                    (z, x, tms_row),
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                self._drop(name)
                raise _fail(
                    f"Tileset {name!r} cannot be read: {exc}.", f"无法读取瓦片集 {name!r}：{exc}。"
                ) from exc
        return bytes(row[0]) if row is not None and row[0] is not None else None


def _mtime(info: Tileset) -> int:
    try:
        return info.path.stat().st_mtime_ns
    except OSError:
        return 0
