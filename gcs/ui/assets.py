"""Third-party web assets the station map needs, fetched at install time (never committed).

Leaflet, and leaflet-geoman (the free edition, MIT) for drawing map elements on the desktop;
for the world overview that makes the map never blank offline, `topojson-client` (ISC) and the
Natural Earth coastlines and borders (public domain) that `world-atlas` (ISC) packs as TopoJSON.

The map page loads Leaflet from a local folder only (the station runs on LANs without
internet, and the project commits no third-party code). `ensure_leaflet(dest)` installs the
Leaflet release the page is written for into `dest/leaflet/` from the npm registry with
`npm pack` (so npm's own registry and proxy settings apply) and unpacks `dist/` with `tarfile`.
It is run by `packaging/dev.sh` and by the packager; `python -m gcs.ui.assets [DEST]` does the
same by hand. At run time `leaflet_dir()` finds the installed copy, or raises `AssetError`
saying which command to run.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = [
    "GEOMAN_VERSION",
    "LEAFLET_VERSION",
    "TOPOJSON_VERSION",
    "WORLD_ATLAS_VERSION",
    "AssetError",
    "default_vendor_dir",
    "ensure_geoman",
    "ensure_leaflet",
    "ensure_world",
    "geoman_dir",
    "leaflet_dir",
    "main",
    "world_dirs",
]

LEAFLET_VERSION = "1.9.4"
_STAMP = ".gcs-version"
_NEEDED = ("leaflet.js", "leaflet.css", "images/layers.png", "images/marker-icon.png")
# Leaflet's licence text travels with it (the bundle ships it). An older install without it
# still serves the map; `ensure_leaflet` (install time) fetches it again.
LICENSE_FILE = "LICENSE"
ENV_VENDOR = "GCS_VENDOR_DIR"
#: leaflet-geoman (free): drawing and editing points, lines, polygons and circles.
GEOMAN_PACKAGE = "@geoman-io/leaflet-geoman-free"
GEOMAN_VERSION = "2.18.3"
_GEOMAN_NEEDED = ("leaflet-geoman.js", "leaflet-geoman.css")
#: topojson-client: turns the world atlas' TopoJSON into GeoJSON in the page.
TOPOJSON_VERSION = "3.1.0"
_TOPOJSON_NEEDED = ("topojson-client.min.js", LICENSE_FILE)
#: world-atlas: Natural Earth 4.1.0 countries and land (1:110m and 1:50m) as TopoJSON.
WORLD_ATLAS_VERSION = "2.0.2"
_WORLD_NEEDED = ("countries-110m.json", "countries-50m.json", LICENSE_FILE)


class AssetError(RuntimeError):
    """A web asset is missing or cannot be installed; the message says what to do."""


def default_vendor_dir() -> Path:
    """Where vendored web assets live: `$GCS_VENDOR_DIR`, else `<repo>/resources/vendor`.

    A frozen (PyInstaller) build looks next to its executable's bundled data instead.
    """
    env = os.environ.get(ENV_VENDOR)
    if env:
        return Path(env)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources" / "vendor"
    return Path(__file__).resolve().parents[2] / "resources" / "vendor"


def _installed(folder: Path, version: str) -> bool:
    stamp = folder / _STAMP
    try:
        ok = stamp.read_text().strip() == version
    except OSError:
        return False
    return ok and all((folder / name).is_file() for name in _NEEDED)


def leaflet_dir(vendor: Path | None = None) -> Path:
    """The folder holding `leaflet.js`, `leaflet.css` and `images/`.

    Raises:
        AssetError: Leaflet has not been installed there.
    """
    folder = (vendor or default_vendor_dir()) / "leaflet"
    if not _installed(folder, LEAFLET_VERSION):
        raise AssetError(
            f"Leaflet {LEAFLET_VERSION} is not installed in {folder}. Run "
            f"`python -m gcs.ui.assets {folder.parent}` (needs npm and the npm registry once), "
            "or `bash packaging/dev.sh env`."
        )
    return folder


def geoman_dir(vendor: Path | None = None) -> Path:
    """The folder holding `leaflet-geoman.js` and `.css`.

    Raises:
        AssetError: leaflet-geoman has not been installed there (the map then has no drawing
            tools).
    """
    folder = (vendor or default_vendor_dir()) / "leaflet-geoman"
    if not _installed_files(folder, GEOMAN_VERSION, _GEOMAN_NEEDED):
        raise AssetError(
            f"leaflet-geoman {GEOMAN_VERSION} (the map's drawing tools) is not installed in "
            f"{folder}. Run `python -m gcs.ui.assets {folder.parent}` (needs npm and the npm "
            "registry once), or `bash packaging/dev.sh env`."
        )
    return folder


def _installed_files(folder: Path, version: str, needed: tuple[str, ...]) -> bool:
    try:
        ok = (folder / _STAMP).read_text().strip() == version
    except OSError:
        return False
    return ok and all((folder / name).is_file() for name in needed)


def ensure_geoman(dest: Path, *, version: str = GEOMAN_VERSION, npm: str = "npm") -> Path:
    """Install leaflet-geoman `version` into `dest/leaflet-geoman/` unless already there.

    Raises:
        AssetError: as `ensure_leaflet`; `dest` is left as it was.
    """
    folder = Path(dest) / "leaflet-geoman"
    if _installed_files(folder, version, _GEOMAN_NEEDED):
        return folder
    tarball = _npm_pack(f"{GEOMAN_PACKAGE}@{version}", npm)
    staging = Path(tempfile.mkdtemp(prefix=".geoman-", dir=_mkdir(Path(dest))))
    try:
        _extract_dist(tarball, staging)
        missing = [n for n in _GEOMAN_NEEDED if not (staging / n).is_file()]
        if missing:
            raise AssetError(f"{GEOMAN_PACKAGE}@{version} from npm lacks {', '.join(missing)}.")
        (staging / _STAMP).write_text(version + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def world_dirs(vendor: Path | None = None) -> tuple[Path, Path]:
    """The folders of topojson-client (`topojson-client.min.js`) and world-atlas
    (`countries-110m.json`, `countries-50m.json`).

    Raises:
        AssetError: one of them is not installed (the map then has no world overview).
    """
    root = vendor or default_vendor_dir()
    found = []
    for name, version, needed in (
        ("topojson-client", TOPOJSON_VERSION, _TOPOJSON_NEEDED),
        ("world-atlas", WORLD_ATLAS_VERSION, _WORLD_NEEDED),
    ):
        folder = root / name
        if not _installed_files(folder, version, needed):
            raise AssetError(
                f"{name} {version} (the map's offline world overview) is not installed in "
                f"{folder}. Run `python -m gcs.ui.assets {root}` (needs npm and the npm "
                "registry once), or `bash packaging/dev.sh env`."
            )
        found.append(folder)
    return found[0], found[1]


def ensure_world(dest: Path, *, npm: str = "npm") -> tuple[Path, Path]:
    """Install topojson-client and world-atlas into `dest/` unless already there.

    topojson-client's `dist/` and licence are kept; of world-atlas, the 1:110m and 1:50m
    countries files (each holds `countries` and `land`) and the licence.

    Returns:
        The two folders, as `world_dirs`.

    Raises:
        AssetError: as `ensure_leaflet`; `dest` is left as it was.
    """
    for package, version, needed, wanted in (
        ("topojson-client", TOPOJSON_VERSION, _TOPOJSON_NEEDED, None),
        ("world-atlas", WORLD_ATLAS_VERSION, _WORLD_NEEDED, _WORLD_NEEDED),
    ):
        folder = Path(dest) / package
        if _installed_files(folder, version, needed):
            continue
        tarball = _npm_pack(f"{package}@{version}", npm)
        staging = Path(tempfile.mkdtemp(prefix=f".{package}-", dir=_mkdir(Path(dest))))
        try:
            _extract_dist(tarball, staging, root_files=wanted or ())
            missing = [n for n in needed if not (staging / n).is_file()]
            if missing:
                raise AssetError(f"{package}@{version} from npm lacks {', '.join(missing)}.")
            (staging / _STAMP).write_text(version + "\n")
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return world_dirs(Path(dest))


def ensure_leaflet(dest: Path, *, version: str = LEAFLET_VERSION, npm: str = "npm") -> Path:
    """Install Leaflet `version` into `dest/leaflet/` unless it is already there.

    Args:
        dest: The vendor folder (e.g. `resources/vendor`).
        version: The Leaflet release.
        npm: The npm executable.

    Returns:
        The folder holding `leaflet.js` (`dest/leaflet`).

    Raises:
        AssetError: npm is not installed, the registry cannot be reached, or the package does
            not look like Leaflet; `dest` is left as it was.
    """
    folder = Path(dest) / "leaflet"
    if _installed(folder, version) and (folder / LICENSE_FILE).is_file():
        return folder
    tarball = _npm_pack(f"leaflet@{version}", npm)
    staging = Path(tempfile.mkdtemp(prefix=".leaflet-", dir=_mkdir(Path(dest))))
    try:
        _extract_dist(tarball, staging)
        missing = [n for n in _NEEDED if not (staging / n).is_file()]
        if missing:
            raise AssetError(f"leaflet@{version} from npm lacks {', '.join(missing)}.")
        if not (staging / LICENSE_FILE).is_file():
            raise AssetError(f"leaflet@{version} from npm has no {LICENSE_FILE} file.")
        (staging / _STAMP).write_text(version + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _npm_pack(spec: str, npm: str) -> bytes:
    exe = shutil.which(npm)
    if exe is None:
        raise AssetError(
            f"npm is not installed, so {spec} cannot be fetched for the offline map. "
            "Install Node.js/npm (Debian: apt-get install npm) and run this again, "
            f"or copy Leaflet's dist/ folder into {ENV_VENDOR}/leaflet by hand."
        )
    with tempfile.TemporaryDirectory() as tmp:
        try:
            out = subprocess.run(
                [exe, "pack", spec, "--json", "--pack-destination", tmp],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=tmp,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AssetError(f"`npm pack {spec}` failed: {exc}") from exc
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-5:]
            raise AssetError(
                f"`npm pack {spec}` failed (exit {out.returncode}); is the npm registry "
                "reachable (npm config get registry)?\n" + "\n".join(tail)
            )
        try:
            filename = json.loads(out.stdout)[0]["filename"]
        except (ValueError, LookupError, TypeError):
            files = list(Path(tmp).glob("*.tgz"))
            if len(files) != 1:
                raise AssetError(f"`npm pack {spec}` produced no tarball.") from None
            filename = files[0].name
        return (Path(tmp) / Path(filename).name).read_bytes()


def _extract_dist(tarball: bytes, dest: Path, *, root_files: tuple[str, ...] = ()) -> None:
    """Unpack `package/dist/**`, `package/LICENSE` and the named `root_files` of an npm tarball
    into `dest` (regular files only)."""
    prefix = "package/dist/"
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            if member.name == f"package/{LICENSE_FILE}":
                rel = Path(LICENSE_FILE)
            elif member.name.removeprefix("package/") in root_files:
                rel = Path(member.name.removeprefix("package/"))
            elif member.name.startswith(prefix):
                rel = Path(member.name[len(prefix) :])
            else:
                continue
            if rel.is_absolute() or ".." in rel.parts:
                continue
            src = tar.extractfile(member)
            if src is None:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with src, target.open("wb") as f:
                shutil.copyfileobj(src, f)


def main(argv: list[str] | None = None) -> int:
    """`python -m gcs.ui.assets [DEST]`: install the map's web assets; prints the folder."""
    args = sys.argv[1:] if argv is None else argv
    dest = Path(args[0]) if args else default_vendor_dir()
    try:
        print(ensure_leaflet(dest))
        print(ensure_geoman(dest))
        for folder in ensure_world(dest):
            print(folder)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
