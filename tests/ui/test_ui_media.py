"""The desktop's media browser against a real station: real DJI photos uploaded with a dock's
STS credentials and reported in wire JSON, hundreds of catalogued items paged in as the grid
scrolls, thumbnails, export to a folder, delete with the object."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from command_peers import DOCK, RawDock, wait_for
from station_harness import SHARED_DATA

from gcs.runtime import ThreadedRuntime
from gcs.station.media import MediaRow
from gcs.station.uploads import Uploads
from gcs.store import media as q
from gcs.ui.bridge import StationBridge
from gcs.ui.i18n import set_language
from gcs.ui.media_panel import PAGE, MediaPanel

PHOTOS = SHARED_DATA / "media" / "photos"

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"shared data folder {SHARED_DATA} is not present"
)


@pytest.fixture
def dock(ui_runtime: ThreadedRuntime) -> Iterator[RawDock]:
    st = ui_runtime.runtime.station
    d = RawDock(st.mqtt_port, st.settings.mqtt.device_username, st.settings.mqtt.device_password)
    d.online()
    wait_for(lambda: st.registry.is_online(DOCK), what="dock online")
    yield d
    d.close()


def upload_and_report(rt: ThreadedRuntime, dock: RawDock, names: list[str]) -> list[str]:
    station = rt.runtime.station
    sts = rt.submit(station.capability(Uploads).sts_for(f"media/{DOCK}/")).result(10)
    c = sts["credentials"]
    s3: Any = boto3.client(
        "s3",
        endpoint_url=sts["endpoint"],
        aws_access_key_id=c["access_key_id"],
        aws_secret_access_key=c["access_key_secret"],
        aws_session_token=c["security_token"],
        region_name=sts["region"],
        config=Config(s3={"addressing_style": "path"}),
    )
    keys = []
    for name in names:
        key = f"media/{DOCK}/ui-task/{name}"
        s3.put_object(Bucket=sts["bucket"], Key=key, Body=(PHOTOS / name).read_bytes())
        dock.event(
            "file_upload_callback",
            key,
            {
                "result": 0,
                "file": {
                    "object_key": key,
                    "name": name,
                    "path": "ui-task",
                    "ext": {"flight_id": "ui-task", "is_original": True},
                    "metadata": {},
                },
            },
        )
        keys.append(key)
    return keys


@pytest.mark.slow
def test_media_browser(
    qtbot: Any, ui_runtime: ThreadedRuntime, dock: RawDock, tmp_path: Path
) -> None:
    set_language("en")
    station = ui_runtime.runtime.station
    store = station.store
    assert store is not None
    # many items already in the library (an older flight's, without thumbnails)
    for i in range(PAGE + 50):
        name = f"IMG_{i:04d}.JPG"
        row = MediaRow(0, "ws", f"media/{DOCK}/old/{name}", name, "dock", 1000 + i, 1000 + i)
        row = replace(row, device_sn=DOCK, kind="photo", create_time=1000 + i)
        store.call_sync(q.insert, row)
    bridge = StationBridge(ui_runtime)
    panel = MediaPanel(bridge)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    qtbot.waitUntil(lambda: len(panel.model.rows) == PAGE, timeout=10_000)
    assert panel.model.total == PAGE + 50
    # new uploads appear on top while the panel is open, with their thumbnails
    names = sorted(os.listdir(PHOTOS))
    upload_and_report(ui_runtime, dock, names)
    qtbot.waitUntil(lambda: panel.model.total == PAGE + 50 + len(names), timeout=15_000)
    qtbot.waitUntil(lambda: panel.model.thumbnails_loaded >= len(names), timeout=20_000)
    # scrolling to the end pages the rest in
    panel.view.scrollToBottom()
    qtbot.waitUntil(lambda: len(panel.model.rows) == panel.model.total, timeout=10_000)
    panel.view.scrollToTop()
    shot = tmp_path / "media-browser.png"
    panel.grab().save(str(shot))
    if os.environ.get("GCS_SCREENSHOTS"):
        panel.grab().save(os.path.join(os.environ["GCS_SCREENSHOTS"], "media-browser.png"))
    assert shot.stat().st_size > 10_000
    # filter by name: the real photos only
    panel.name.setText("DJI_")
    panel.refresh()
    qtbot.waitUntil(lambda: panel.model.total == 4 and len(panel.model.rows) == 4)
    # export the selection: the files as uploaded, under their names
    panel.view.selectAll()
    out = tmp_path / "export"
    out.mkdir()
    done: list[Any] = []
    panel.exported.connect(lambda n, errors: done.append((n, errors)))
    panel.export_selected(str(out))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert done[0] == (4, [])
    for r in panel.model.rows:
        assert (out / r.name).read_bytes() == (PHOTOS / r.name).read_bytes()
    # one item of the dock's task: its counts, and "upload this task first" sent to the dock
    panel.view.clearSelection()
    panel.view.setCurrentIndex(panel.model.index(0, 0))
    victim = panel.selected()[0]
    assert "Position" in panel.details.text()
    qtbot.waitUntil(lambda: "Task ui-task: 5 of ? files" in panel.task_counts.text())
    dock.script = lambda d, cmd: d.reply(cmd, {"result": 0})
    outcomes: list[Any] = []
    panel.prioritized.connect(outcomes.append)
    panel.priority_button.click()
    qtbot.waitUntil(lambda: bool(outcomes), timeout=10_000)
    assert getattr(outcomes[0], "ok", False), outcomes[0]
    sent = dock.sent("upload_flighttask_media_prioritize")
    assert sent and sent[0]["data"] == {"flight_id": "ui-task"}
    # delete one (confirmed): gone from the grid, the library and the store
    panel.delete_selected(confirmed=True)
    qtbot.waitUntil(lambda: all(r.id != victim.id for r in panel.model.rows), timeout=10_000)
    assert store.call_sync(q.get, victim.id) is None
    panel.close()
    bridge.close()
