"""The media browser as a FlightHub 2 user expects it (issue 11), against a real station: real
DJI photos uploaded with a dock's STS credentials and reported in wire JSON, then the photo
viewer, the video player, sort and dates, renamed export and photos on the map.

Screenshots go to `$GCS_SCREENSHOTS` when it is set (and to the test's tmp folder always).
"""

from __future__ import annotations

import datetime
import hashlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from command_peers import DOCK, RawDock, wait_for
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from station_harness import SHARED_DATA
from test_ui_media import PHOTOS, upload_and_report

from gcs.runtime import ThreadedRuntime
from gcs.station.media import Media, MediaRow
from gcs.store import media as q
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import set_language
from gcs.ui.media_panel import (
    SORTS,
    ExportDialog,
    MediaPanel,
    export_name,
    heading_of,
    map_photo,
    unique_target,
)
from gcs.ui.media_viewer import MediaViewer, decode_full, metadata_fields

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"shared data folder {SHARED_DATA} is not present"
)

NAMES = sorted(os.listdir(PHOTOS)) if PHOTOS.is_dir() else []


def screenshot(widget: QWidget, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    widget.grab().save(str(shot))
    if folder := os.environ.get("GCS_SCREENSHOTS"):
        widget.grab().save(os.path.join(folder, name))
    return shot


@pytest.fixture
def dock(ui_runtime: ThreadedRuntime) -> Iterator[RawDock]:
    st = ui_runtime.runtime.station
    d = RawDock(st.mqtt_port, st.settings.mqtt.device_username, st.settings.mqtt.device_password)
    d.online()
    wait_for(lambda: st.registry.is_online(DOCK), what="dock online")
    yield d
    d.close()


def idle(rt: ThreadedRuntime) -> None:
    rt.submit(rt.runtime.station.capability(Media).wait_idle()).result(30)


def catalogue(rt: ThreadedRuntime, dock: RawDock, names: list[str]) -> None:
    """Upload and report the real photos; wait until each was read (metadata, thumbnail)."""
    keys = upload_and_report(rt, dock, names)
    store = rt.runtime.station.store
    assert store is not None

    def all_read() -> bool:
        rows = [store.call_sync(q.get_by_key, k) for k in keys]
        return all(r is not None and r.thumbnail_key for r in rows)

    wait_for(all_read, timeout=30, what="photos catalogued with thumbnails")
    idle(rt)


@pytest.fixture
def panel(qtbot: Any, ui_runtime: ThreadedRuntime) -> Iterator[MediaPanel]:
    set_language("en")
    bridge = StationBridge(ui_runtime)
    p = MediaPanel(bridge)
    qtbot.addWidget(p)
    p.resize(1300, 700)
    p.show()
    yield p
    p.close()
    bridge.close()


def by_name(panel: MediaPanel, name: str) -> int:
    return next(i for i, r in enumerate(panel.model.rows) if r.name == name)


# -- 1. photo viewer ---------------------------------------------------------------------------


@pytest.mark.slow
def test_photo_viewer(
    qtbot: Any, ui_runtime: ThreadedRuntime, dock: RawDock, panel: MediaPanel, tmp_path: Path
) -> None:
    catalogue(ui_runtime, dock, NAMES)
    store = ui_runtime.runtime.station.store
    assert store is not None
    panel.sort.setCurrentIndex([o for _, o in SORTS].index("name asc"))
    qtbot.waitUntil(lambda: [r.name for r in panel.model.rows] == sorted(NAMES, key=str.lower))
    # double-click on the H20T thermal R-JPEG opens the viewer with the full picture
    at = by_name(panel, "DJI_H20T.jpg")
    rect = panel.view.visualRect(panel.model.index(at, 0))
    # a double-click as the system delivers it: press, release, double-click
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: panel.viewer is not None and panel.viewer.isVisible())
    viewer = panel.viewer
    assert viewer is not None
    qtbot.waitUntil(viewer.photo.has_image, timeout=10_000)
    pixmap = viewer.photo._item.pixmap()
    assert (pixmap.width(), pixmap.height()) == (640, 512)  # the thermal camera's own size
    # every catalogue field, the capture time in local time
    lat, lng = (float(x) for x in viewer.field("Position").split(","))
    assert (lat, lng) == (pytest.approx(40.563781, abs=1e-6), pytest.approx(-79.764963, abs=1e-6))
    assert viewer.field("Absolute altitude") == "221.40 m"
    assert viewer.field("Relative altitude") == "16.51 m"
    assert viewer.field("Gimbal yaw") == "32.5°" and viewer.field("Gimbal pitch") == "-10.5°"
    assert viewer.field("Camera") == "ZH20T"
    assert viewer.field("Lens") == (panel.model.rows[at].lens or "—")
    assert viewer.field("Task") == "ui-task" and viewer.field("Device") == DOCK
    body = (PHOTOS / "DJI_H20T.jpg").read_bytes()
    assert viewer.field("MD5") in ("—", hashlib.md5(body).hexdigest())
    assert viewer.field("Object key") == f"media/{DOCK}/ui-task/DJI_H20T.jpg"
    assert str(len(body)) in viewer.field("Size")
    row = panel.model.rows[at]
    assert row.create_time is not None
    local = datetime.datetime.fromtimestamp(row.create_time / 1000).strftime("%Y-%m-%d %H:%M:%S")
    assert viewer.field("Captured").startswith(local)
    # zoom: fit first, then 100 %, the wheel, + and −
    fitted = viewer.photo.scale_factor()
    assert 0 < fitted <= 2
    viewer.actual_button.click()
    assert viewer.photo.scale_factor() == 1.0 and viewer.zoom_label.text() == "100 %"
    viewport = viewer.photo.viewport()
    wheel = QWheelEvent(
        QPointF(viewport.rect().center()),
        QPointF(viewport.mapToGlobal(viewport.rect().center())),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, wheel)
    assert viewer.photo.scale_factor() == pytest.approx(1.25**2)
    viewer.zoom_out_button.click()
    assert viewer.photo.scale_factor() == pytest.approx(1.25)
    for _ in range(4):
        viewer.zoom_in_button.click()
    assert viewer.photo.scale_factor() == pytest.approx(1.25**5)
    # pan by dragging: the view scrolls
    bar = viewer.photo.horizontalScrollBar()
    before = bar.value()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=viewport.rect().center())
    qtbot.mouseMove(viewport, viewport.rect().center() + QPoint(-60, 0))
    qtbot.mouseMove(viewport, viewport.rect().center() + QPoint(-120, 0))
    qtbot.mouseRelease(
        viewport, Qt.MouseButton.LeftButton, pos=viewport.rect().center() + QPoint(-120, 0)
    )
    assert bar.value() > before
    viewer.fit_button.click()
    assert viewer.photo.scale_factor() == pytest.approx(fitted)
    screenshot(viewer, tmp_path, "media-viewer.png")
    # previous / next follow the browser's list (sorted by name)
    names = [r.name for r in panel.model.rows]
    viewer.next_button.click()
    assert viewer.current is not None and viewer.current.name == names[at + 1]
    qtbot.waitUntil(lambda: viewer.field("Name") == names[at + 1])
    viewer.prev_button.click()
    viewer.prev_button.click()
    assert viewer.current.name == names[at - 1]
    assert viewer.position_label.text() == f"{at} / {len(names)}"
    qtbot.waitUntil(viewer.photo.has_image, timeout=10_000)
    viewer.close()


def test_viewer_shows_what_an_item_has(
    qtbot: Any, ui_runtime: ThreadedRuntime, panel: MediaPanel
) -> None:
    """A picture without position or angles (as a thermal R-JPEG may be): the viewer shows it
    and "—" for what it lacks; a file that is not in the store gets a clear message."""
    store = ui_runtime.runtime.station.store
    assert store is not None
    base = MediaRow(0, "ws", "", "", "dock", 5_000, 5_000, kind="photo", device_sn=DOCK)
    bare = replace(base, object_key="media/x/bare.jpg", name="bare.jpg", lens="thermal")
    gone = replace(base, object_key="media/x/gone.jpg", name="gone.jpg", status="missing",
                   note="the store has no such object")  # fmt: skip
    assert (
        ui_runtime.submit(
            ui_runtime.runtime.station.capability(Media)._s3(
                "PUT", bare.object_key, (PHOTOS / "DJI_XT2.jpg").read_bytes()
            )
        ).result(10)
        == 200
    )
    bare_row, _ = store.call_sync(q.insert, bare)
    gone_row, _ = store.call_sync(q.insert, gone)
    fields = dict(metadata_fields(bare_row))
    for label in ("Position", "Absolute altitude", "Gimbal yaw", "Aircraft yaw", "Captured"):
        assert fields[label] == "—", label
    assert fields["Lens"] == "thermal"
    panel.refresh()
    qtbot.waitUntil(lambda: len(panel.model.rows) == 2)
    viewer = panel.open_item(bare_row)
    qtbot.waitUntil(viewer.photo.has_image, timeout=10_000)
    assert viewer.field("Position") == "—"
    failures: list[tuple[int, str]] = []
    viewer.load_failed.connect(lambda i, why: failures.append((i, why)))
    viewer.show_item(gone_row)
    qtbot.waitUntil(lambda: bool(failures))
    assert failures[0][0] == gone_row.id and "not in the store" in failures[0][1]
    assert "cannot be shown" in viewer.message.text()
    assert viewer.stack.currentWidget() is viewer.message
    viewer.close()


def test_decode_turns_the_picture_upright() -> None:
    import io

    from PIL import Image

    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to show
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    decoded = decode_full(out.getvalue())
    assert decoded is not None and (decoded.width(), decoded.height()) == (20, 40)
    assert decode_full(b"not a picture") is None


# -- 2. video playback -------------------------------------------------------------------------


@pytest.mark.slow
def test_video_player(
    qtbot: Any, ui_runtime: ThreadedRuntime, dock: RawDock, panel: MediaPanel, tmp_path: Path
) -> None:
    pytest.importorskip("PySide6.QtMultimedia")
    pytest.importorskip("av")  # the simulator's MP4 maker
    from gcs.sim.media import Shot, short_mp4

    shot = Shot(datetime.datetime(2024, 5, 20, 15, 6, 7), 22.54, 113.95, 100.0, 80.0, 30.0)
    video = short_mp4(shot, seconds=2.0)
    station = ui_runtime.runtime.station
    key = f"media/{DOCK}/ui-task/DJI_20240520150607_0001_V.MP4"
    assert ui_runtime.submit(station.capability(Media)._s3("PUT", key, video)).result(10) == 200
    dock.event(
        "file_upload_callback",
        key,
        {"result": 0, "file": {"object_key": key, "name": key.rsplit("/", 1)[1],
                               "ext": {"flight_id": "ui-task"}, "metadata": {}}},
    )  # fmt: skip
    qtbot.waitUntil(lambda: any(r.kind == "video" for r in panel.model.rows), timeout=10_000)
    idle(ui_runtime)
    at = next(i for i, r in enumerate(panel.model.rows) if r.kind == "video")
    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.model.index(at, 0))
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)  # Enter opens it
    qtbot.waitUntil(lambda: panel.viewer is not None and panel.viewer.isVisible())
    viewer = panel.viewer
    assert viewer is not None
    player = viewer.player
    assert viewer.stack.currentWidget() is player
    qtbot.waitUntil(lambda: player.duration() > 0, timeout=15_000)
    assert player.duration() == pytest.approx(2000, abs=100)
    assert player.slider.maximum() == player.duration()
    assert player.time.text() == "00:00 / 00:02"
    player.play_button.click()  # play: the position moves on
    qtbot.waitUntil(lambda: player.slider.value() > 300, timeout=10_000)
    player.play_button.click()  # pause
    player.seek(1500)
    qtbot.waitUntil(lambda: player.time.text() == "00:01 / 00:02", timeout=5000)
    assert player.error == ""
    # the sound goes to the system's output, and can be muted
    assert player.player is not None and player.player.audioOutput() is player.audio
    player.mute_button.click()
    assert player.audio.isMuted()
    player.mute_button.click()
    assert not player.audio.isMuted()
    qtbot.waitUntil(lambda: viewer.field("Duration") == "0:00:02")  # read by the station
    assert viewer.field("Codec") in ("h264", "mpeg4")
    qtbot.waitUntil(lambda: not player.current_frame().isNull(), timeout=5000)
    frame = player.current_frame()
    assert (frame.width(), frame.height()) == (320, 240)  # decoded by QtMultimedia's FFmpeg
    # Offscreen, QVideoWidget draws through a native surface that grab() cannot read: the
    # screenshot paints the frame the player decoded where the video widget is.
    shot = viewer.grab()
    painter = QPainter(shot)
    area = QRect(player.video.mapTo(viewer, QPoint(0, 0)), player.video.size())
    scaled = frame.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
    painter.fillRect(area, Qt.GlobalColor.black)
    painter.drawImage(area.center() - scaled.rect().center(), scaled)
    painter.end()
    shot.save(str(tmp_path / "media-player.png"))
    if folder := os.environ.get("GCS_SCREENSHOTS"):
        shot.save(os.path.join(folder, "media-player.png"))
    # a video the store does not have: the player says so
    missing = replace(panel.model.rows[at], id=-1, status="missing", note="upload not finished")
    viewer.show_item(missing)
    qtbot.waitUntil(lambda: bool(player.error))
    assert "not in the store" in player.message.text()
    viewer.close()


# -- 3. sort and date range --------------------------------------------------------------------


def test_sort_and_date_range(qtbot: Any, ui_runtime: ThreadedRuntime, panel: MediaPanel) -> None:
    store = ui_runtime.runtime.station.store
    assert store is not None
    day = datetime.datetime(2026, 11, 20, 12, 0).timestamp() * 1000
    base = MediaRow(0, "ws", "", "", "dock", 1, 1, kind="photo")
    specs = [("b.jpg", 300, "S2", 0), ("A.jpg", 100, "S1", 1), ("c.jpg", 200, "S3", 3)]
    for name, size, sn, days in specs:
        row = replace(base, object_key=f"k/{name}", name=name, size=size, device_sn=sn,
                      create_time=int(day + days * 86_400_000))  # fmt: skip
        store.call_sync(q.insert, row)

    def shown() -> list[str]:
        return [r.name for r in panel.model.rows]

    panel.refresh()
    orders = {o: i for i, (_, o) in enumerate(SORTS)}
    expected = {
        "create_time desc": ["c.jpg", "A.jpg", "b.jpg"],
        "create_time asc": ["b.jpg", "A.jpg", "c.jpg"],
        "name asc": ["A.jpg", "b.jpg", "c.jpg"],
        "size desc": ["b.jpg", "c.jpg", "A.jpg"],
        "device_sn asc, create_time desc": ["A.jpg", "b.jpg", "c.jpg"],
    }
    for order, names in expected.items():
        panel.sort.setCurrentIndex(orders[order])
        qtbot.waitUntil(lambda names=names: shown() == names)
    # a date range (local whole days): Nov 20–21 leaves out c (Nov 23)
    panel.date_from.setDate(datetime.date(2026, 11, 21))
    panel.date_to.setDate(datetime.date(2026, 11, 20))  # either order
    panel.use_dates.setChecked(True)
    qtbot.waitUntil(lambda: sorted(shown()) == ["A.jpg", "b.jpg"])
    assert panel.model.total == 2
    # a new upload inside the range appears where the sort puts it; outside it does not
    panel.sort.setCurrentIndex(orders["name asc"])
    qtbot.waitUntil(lambda: shown() == ["A.jpg", "b.jpg"])
    media = ui_runtime.runtime.station.capability(Media)
    for name, days in (("B2.jpg", 0), ("late.jpg", 5)):
        row, _ = store.call_sync(
            q.insert,
            replace(base, object_key=f"k/{name}", name=name,
                    create_time=int(day + days * 86_400_000)),
        )  # fmt: skip
        media._publish("added", row)
    qtbot.waitUntil(lambda: shown() == ["A.jpg", "b.jpg", "B2.jpg"])
    assert "late.jpg" not in shown() and panel.model.total == 3


# -- 4. renamed export -------------------------------------------------------------------------


def test_export_names() -> None:
    when = int(datetime.datetime(2024, 5, 20, 15, 6, 7).timestamp() * 1000)
    row = MediaRow(1, "ws", "k", "DJI_0001_W.JPG", "dock", 1, 1, kind="photo", lens="wide",
                   flight_id="f-1", create_time=when)  # fmt: skip
    assert export_name(row, False) == Path("DJI_0001_W.JPG")
    assert export_name(row, True) == Path("f-1/20240520_150607_wide_DJI_0001_W.JPG")
    named = export_name(row, True, {"f-1": 'Roof: north/"east"'})
    assert named == Path("Roof_ north__east_/20240520_150607_wide_DJI_0001_W.JPG")
    untasked = replace(row, flight_id="", lens="", create_time=None, received_at=when)
    assert export_name(untasked, True) == Path("no-task/20240520_150607_photo_DJI_0001_W.JPG")


def test_export_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    used: set[Path] = set()
    assert unique_target(tmp_path, Path("a.jpg"), used) == tmp_path / "a (2).jpg"
    assert unique_target(tmp_path, Path("a.jpg"), used) == tmp_path / "a (3).jpg"
    assert unique_target(tmp_path, Path("t/b.jpg"), used) == tmp_path / "t/b.jpg"


@pytest.mark.slow
def test_renamed_export(
    qtbot: Any,
    ui_runtime: ThreadedRuntime,
    dock: RawDock,
    panel: MediaPanel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalogue(ui_runtime, dock, NAMES)
    qtbot.waitUntil(lambda: len(panel.model.rows) == len(NAMES))
    out = tmp_path / "export"
    (out / "ui-task").mkdir(parents=True)
    rows = list(panel.model.rows)
    clash = export_name(rows[0], True)  # already there: the export must not overwrite it
    (out / clash).write_bytes(b"keep me")
    panel.view.selectAll()
    done: list[Any] = []
    panel.exported.connect(lambda n, errors: done.append((n, errors)))

    # the operator picks the folder and "renamed by task and date" in the export dialog
    def answer(dialog: ExportDialog) -> int:
        assert dialog.original.isChecked()  # original names unless asked otherwise
        dialog.folder.setText(str(out))
        dialog.renamed.setChecked(True)
        return QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(ExportDialog, "exec", answer)
    panel.export_button.click()
    qtbot.waitUntil(lambda: bool(done), timeout=20_000)
    assert done[0] == (len(NAMES), [])
    assert (out / clash).read_bytes() == b"keep me"
    for r in rows:
        assert r.create_time is not None
        stamp = datetime.datetime.fromtimestamp(r.create_time / 1000).strftime("%Y%m%d_%H%M%S")
        name = f"{stamp}_{r.lens or 'photo'}_{r.name}"
        target = out / "ui-task" / name
        if r.id == rows[0].id:
            target = target.with_name(f"{target.stem} (2){target.suffix}")
        assert target.read_bytes() == (PHOTOS / r.name).read_bytes(), target
    assert not list(out.rglob("*.part"))
    # cancel: the progress dialog stops the export part-way, leaving no partial file
    again = tmp_path / "again"
    panel.export_selected(str(again), renamed=False)
    assert panel.export_progress is not None
    panel.export_progress.cancel()
    qtbot.waitUntil(lambda: len(done) == 2, timeout=20_000)
    handled, errors = done[1]
    assert handled < len(NAMES) and errors == []
    assert not list(again.rglob("*.part"))
    assert len(list(again.glob("*"))) <= handled


# -- 5. show on map ----------------------------------------------------------------------------


def test_map_photo_heading() -> None:
    base = MediaRow(1, "ws", "k", "a.jpg", "dock", 1, 1, kind="photo", lat=1.0, lng=2.0)
    assert heading_of(replace(base, gimbal_yaw=-90.0, aircraft_yaw=10.0)) == 270.0
    assert heading_of(replace(base, aircraft_yaw=10.0)) == 10.0
    assert heading_of(base) is None
    assert map_photo(replace(base, lat=None)) is None
    assert map_photo(replace(base, kind="video")) is None


@pytest.mark.slow
def test_show_on_map(
    qtbot: Any, ui_runtime: ThreadedRuntime, dock: RawDock, main_window: Any, tmp_path: Path
) -> None:
    from test_ui_map import js

    catalogue(ui_runtime, dock, NAMES)
    win = main_window
    if win.map is None:
        pytest.skip("the map panel is not available (no Leaflet)")
    qtbot.waitUntil(lambda: win.map.ready, timeout=30_000)
    panel: MediaPanel = win.media
    panel.refresh()
    qtbot.waitUntil(lambda: len(panel.model.rows) == len(NAMES))
    # two photos only: those two on the map, each rotated to its gimbal yaw
    chosen = [by_name(panel, "DJI_H20T.jpg"), by_name(panel, "H20T.JPG")]
    for i in chosen:
        panel.view.selectionModel().select(
            panel.model.index(i, 0), panel.view.selectionModel().SelectionFlag.Select
        )
    panel.map_button.click()
    qtbot.waitUntil(lambda: js(qtbot, win.map, "GcsMedia.state().count") == 2, timeout=10_000)
    state = js(qtbot, win.map, "GcsMedia.state()")
    rows = {r.id: r for r in panel.model.rows}
    for media_id, rotation, (lat, lng) in zip(
        state["ids"], state["rotations"], state["positions"], strict=True
    ):
        r = rows[media_id]
        assert (lat, lng) == (pytest.approx(r.lat), pytest.approx(r.lng))
        assert rotation == f"rotate({r.gimbal_yaw:g}deg)"
    assert {rows[i].name for i in state["ids"]} == {"DJI_H20T.jpg", "H20T.JPG"}
    # nothing selected: every photo of the current filter
    panel.view.clearSelection()
    panel.map_button.click()
    qtbot.waitUntil(
        lambda: js(qtbot, win.map, "GcsMedia.state().count") == len(NAMES), timeout=10_000
    )
    qtbot.waitUntil(
        lambda: js(qtbot, win.map, "GcsMedia.state().inView") == len(NAMES), timeout=10_000
    )
    shot = screenshot(win.docks["map"], tmp_path, "media-map.png")
    assert shot.stat().st_size > 10_000
    # a click on a photo opens it in the viewer
    target = next(r for r in panel.model.rows if r.name == "DJI_XTS.jpg")
    win.map.run_js(f"GcsMedia.markers[{target.id}].fire('click')")
    qtbot.waitUntil(lambda: panel.viewer is not None and panel.viewer.isVisible(), timeout=10_000)
    viewer: MediaViewer = panel.viewer  # type: ignore[assignment]
    assert viewer.current is not None and viewer.current.id == target.id
    qtbot.waitUntil(viewer.photo.has_image, timeout=10_000)
    viewer.close()


# -- 6. a grid that stays smooth ---------------------------------------------------------------


def test_grid_paints_without_python_and_loads_what_is_on_screen(
    qtbot: Any, ui_runtime: ThreadedRuntime, panel: MediaPanel
) -> None:
    """The view paints from C++ items (no Python `data()`/`rowCount()` per cell and frame),
    and thumbnails are fetched for the rows on screen (and one screen ahead) only."""
    from gcs.ui.media_panel import MediaModel

    assert "data" not in MediaModel.__dict__ and "rowCount" not in MediaModel.__dict__
    station = ui_runtime.runtime.station
    store = station.store
    assert store is not None
    thumb = "thumbnails/test/shared.jpg"
    body = (PHOTOS / "DJI_XT2.jpg").read_bytes()
    assert ui_runtime.submit(station.capability(Media)._s3("PUT", thumb, body)).result(10) == 200

    def fill(db: Any) -> None:
        for i in range(600):
            q.insert(db, MediaRow(0, "ws", f"k/{i}", f"IMG_{i:04d}.JPG", "dock", i, i,
                                  kind="photo", create_time=i, thumbnail_key=thumb))  # fmt: skip

    store.call_sync(fill)
    panel.refresh()
    qtbot.waitUntil(lambda: len(panel.model.rows) == 200)
    first, last = panel.visible_rows()
    qtbot.waitUntil(lambda: panel.model.thumbnails_loaded >= last - first + 1, timeout=15_000)
    assert panel.model.thumbnails_loaded <= last - first + 1  # not the whole page
    placeholder = panel.model._placeholder.cacheKey()

    def has_picture(row: int) -> bool:
        icon = panel.model.item(row).data(Qt.ItemDataRole.DecorationRole)
        return icon is not None and icon.cacheKey() != placeholder

    assert has_picture(first) and not has_picture(199)
    panel.view.scrollToBottom()  # pages in the next 200 rows, then their thumbnails
    qtbot.waitUntil(lambda: len(panel.model.rows) >= 400, timeout=10_000)
    panel.view.scrollToBottom()
    qtbot.waitUntil(lambda: has_picture(panel.visible_rows()[0]), timeout=15_000)
