"""What the bundle ships, and the licence texts that go with it.

`bundled_distributions()` walks the requirements of the installed `gcs` distribution (with the
``gui`` extra) through the installed metadata, so the list always matches what PyInstaller can
pull in. `collect(dest)` copies each distribution's licence files (from its dist-info, the
``License-File`` entries of its metadata) into ``dest/<name>/``, plus the texts that no wheel
carries: the LGPL/GPL texts of Qt and PySide6 (in ``packaging/licenses/``), CPython's licence
and Leaflet's. `python packaging/licenses.py DEST` does the same by hand and prints a summary.

The spec (`packaging/gcs.spec`) calls `collect` at build time; `packaging/THIRD-PARTY.md` is
the human-written list of components and what their licences ask of us, and a test checks
that it names every distribution `bundled_distributions()` finds.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Installed with the gui extra but never imported by the product: excluded from the bundle by
# the spec (kept here so the licence list and the bundle agree).
# PyAV ("av"): PyPI's wheels carry a GPL build of FFmpeg (libx264, libx265); the spec leaves it
# out of the bundle (THIRD-PARTY.md, "Left out"); live video uses Qt's LGPL FFmpeg instead.
# aiortc and the packages only it needs (WHIP ingest): aiortc imports PyAV, so they stay out
# with it (THIRD-PARTY.md, "Left out").
WEBRTC = ("aiortc", "aioice", "pylibsrtp", "pyopenssl", "google-crc32c", "pyee", "dnspython")
NOT_BUNDLED = frozenset({"setuptools", "pip", "wheel", "av", *WEBRTC, "ifaddr"})

# Qt and PySide6 wheels carry no licence files; their licence is LGPL-3.0 (chosen among
# LGPL-3.0 / GPL-2.0 / GPL-3.0), whose text refers to the GPL-3.0 text.
QT_TEXTS = ("LGPL-3.0.txt", "GPL-3.0.txt")


def canonical(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def bundled_distributions(root: str = "gcs", extras: tuple[str, ...] = ("gui",)) -> list[str]:
    """Canonical names of `root` and everything it requires at run time (with `extras`)."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    seen: set[str] = set()
    visited: set[tuple[str, tuple[str, ...]]] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        if (canonical(name), wanted) in visited:
            continue
        visited.add((canonical(name), wanted))
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(canonical(name))
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not any(
                req.marker.evaluate({**default_environment(), "extra": extra})
                for extra in (*wanted, "")
            ):
                continue
            if canonical(req.name) not in NOT_BUNDLED:
                todo.append((req.name, tuple(sorted(req.extras))))
    return sorted(k for k in seen if k not in NOT_BUNDLED)


def licence_of(name: str) -> str:
    """The licence a distribution declares (License-Expression, License or classifiers)."""
    meta = md.distribution(name).metadata
    expr = meta.get("License-Expression")
    if expr:
        return str(expr)
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 80:
        return text
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::")
    ]
    return "; ".join(classifiers) or (text.splitlines()[0] if text else "unknown")


def _licence_files(name: str) -> list[Path]:
    dist = md.distribution(name)
    out: list[Path] = []
    declared = set(dist.metadata.get_all("License-File") or [])
    for f in dist.files or []:
        parts = Path(str(f)).parts
        in_info = parts[0].endswith(".dist-info")
        looks = re.search(r"licen[cs]e|copying|notice|authors", str(f), re.IGNORECASE)
        if in_info and (str(Path(*parts[2:])) in declared or (looks and "licenses" in parts)):
            out.append(Path(str(dist.locate_file(f))))
        elif in_info and looks and len(parts) == 2 and parts[1] not in ("RECORD", "METADATA"):
            out.append(Path(str(dist.locate_file(f))))
    return [p for p in out if p.is_file()]


def collect(
    dest: Path,
    *,
    leaflet: Path | None = None,
    web_assets: list[tuple[str, Path, str]] | None = None,
) -> list[tuple[str, str, str, int]]:
    """Copy every bundled component's licence texts into `dest`.

    Returns:
        Rows (component, version, licence, number of files copied).

    Raises:
        FileNotFoundError: a component has no licence text to ship (the build must stop).
    """
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    rows: list[tuple[str, str, str, int]] = []
    missing: list[str] = []
    for name in bundled_distributions():
        dist = md.distribution(name)
        folder = dest / name
        files = _licence_files(name)
        if name in (
            "pyside6",
            "pyside6-essentials",
            "pyside6-addons",
            "shiboken6",
        ) or name.startswith("pyside6-"):
            files += [HERE / "licenses" / t for t in QT_TEXTS]
        if name == "gcs":
            files = []  # our own product: no third-party licence
        elif not files:
            missing.append(name)
            continue
        for src in files:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, folder / src.name)
        rows.append((name, dist.version, licence_of(name), len(files)))
    python_licence = (
        Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    candidates = [python_licence / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE.txt"]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        missing.append("python")
    else:
        (dest / "python").mkdir()
        shutil.copyfile(found, dest / "python" / "LICENSE.txt")
        rows.append(("python", sys.version.split()[0], "PSF-2.0", 1))
    if leaflet is not None:
        text = leaflet / "LICENSE"
        if not text.is_file():
            missing.append(f"leaflet (no {text}: re-run `python -m gcs.ui.assets`)")
        else:
            (dest / "leaflet").mkdir()
            shutil.copyfile(text, dest / "leaflet" / "LICENSE")
            stamp = leaflet / ".gcs-version"
            version = stamp.read_text().strip() if stamp.is_file() else "?"
            rows.append(("leaflet", version, "BSD-2-Clause", 1))
    for name, folder, spdx in web_assets or []:  # other npm packages: (name, folder, licence)
        text = folder / "LICENSE"
        if not text.is_file():
            missing.append(f"{name} (no {text}: re-run `python -m gcs.ui.assets`)")
            continue
        (dest / name).mkdir()
        shutil.copyfile(text, dest / name / "LICENSE")
        stamp = folder / ".gcs-version"
        rows.append((name, stamp.read_text().strip() if stamp.is_file() else "?", spdx, 1))
    if missing:
        raise FileNotFoundError("no licence text found for: " + ", ".join(missing))
    return rows


def system_licences(libraries: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Debian's copyright files of the packages that own `libraries` (full paths).

    PyInstaller copies the system libraries Qt and Python link to (X11/xcb, GLib, NSS, ...)
    from the build machine into the Linux bundle; each Debian package documents its licence
    in /usr/share/doc/<package>/copyright. Returns {package: [(library, copyright file)]};
    empty when dpkg is not there (another distribution).
    """
    import shutil as _shutil
    import subprocess

    dpkg = _shutil.which("dpkg")
    if dpkg is None or not libraries:
        return {}
    owners: dict[str, list[tuple[str, str]]] = {}
    for lib in libraries:
        real = str(Path(lib).resolve())
        out = subprocess.run([dpkg, "-S", real], capture_output=True, text=True)
        if out.returncode != 0:
            out = subprocess.run([dpkg, "-S", lib], capture_output=True, text=True)
        if out.returncode != 0:
            continue
        package = out.stdout.split(":", 1)[0].split(",")[0].strip()
        copyright_file = Path("/usr/share/doc") / package / "copyright"
        if copyright_file.is_file():
            owners.setdefault(package, []).append((Path(lib).name, str(copyright_file)))
    return owners


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python packaging/licenses.py DEST [LEAFLET_DIR]", file=sys.stderr)
        return 2
    leaflet = Path(argv[1]) if len(argv) > 1 else None
    for row in collect(Path(argv[0]), leaflet=leaflet):
        print("\t".join(str(x) for x in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
