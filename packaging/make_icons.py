"""Render packaging/icons/gcs.svg into the icon files each system wants.

    python packaging/make_icons.py DEST     ->  DEST/gcs.png (256 px), DEST/gcs.ico, DEST/gcs.icns

Qt's SVG renderer draws the PNGs (offscreen, no display needed); the .ico and .icns containers
hold PNG images directly (both formats allow it), so no image library is needed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SVG = HERE / "icons" / "gcs.svg"


def render_png(size: int) -> bytes:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"error: {SVG} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    """A Windows .ico holding PNG images (sizes up to 256)."""
    head = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in sorted(images.items()):
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return head + entries + blobs


def icns(images: dict[int, bytes]) -> bytes:
    """A macOS .icns holding PNG images (128, 256, 512 px)."""
    kinds = {128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b"".join(
        kinds[s] + struct.pack(">I", 8 + len(p)) + p
        for s, p in sorted(images.items())
        if s in kinds
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def make(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    pngs = {s: render_png(s) for s in (16, 32, 48, 128, 256, 512)}
    (dest / "gcs.png").write_bytes(pngs[256])
    (dest / "gcs.svg").write_bytes(SVG.read_bytes())
    (dest / "gcs.ico").write_bytes(ico({s: p for s, p in pngs.items() if s <= 256}))
    (dest / "gcs.icns").write_bytes(icns(pngs))
    return dest


if __name__ == "__main__":
    print(make(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")))
