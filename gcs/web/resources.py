"""Where the files served to Pilot (resources/h5/) live.

In a source checkout they are in the repository's ``resources/`` folder beside the ``gcs``
package; an installed or frozen build may ship them inside the package (``gcs/resources``) or
next to the executable. The first folder that has ``h5/index.html`` wins.
"""

from __future__ import annotations

import sys
from pathlib import Path


class ResourcesMissing(FileNotFoundError):
    """The resources folder was not found; the message lists where it was looked for."""


def candidates() -> list[Path]:
    package = Path(__file__).resolve().parents[1]  # .../gcs
    out = [package.parent / "resources", package / "resources"]
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        out.append(Path(frozen) / "resources")
    out.append(Path(sys.executable).resolve().parent / "resources")
    return out


def resources_dir() -> Path:
    """Return the folder holding ``h5/``.

    Raises:
        ResourcesMissing: none of the candidate folders has the H5 pages.
    """
    tried = candidates()
    for path in tried:
        if (path / "h5" / "index.html").is_file():
            return path
    raise ResourcesMissing(
        "the H5 pages for Pilot were not found; looked in " + ", ".join(str(p) for p in tried)
    )


def h5_dir() -> Path:
    """Return ``resources/h5``. Raises ResourcesMissing."""
    return resources_dir() / "h5"
