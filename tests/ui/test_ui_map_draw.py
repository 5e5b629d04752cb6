"""Drawing on the desktop map (QtWebEngine offscreen, leaflet-geoman): what the operator draws
becomes a station element (and so reaches every Pilot), a Pilot's element appears on the
desktop map, edits and removals go to the station, undo reverses the last change."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor

from gcs.runtime import ThreadedRuntime
from gcs.station.maps import MapElementChanged, Maps
from gcs.ui.assets import AssetError, geoman_dir, leaflet_dir
from gcs.ui.bridge import Selection, StationBridge
from gcs.ui.map_panel import MapPanel


@pytest.fixture(scope="module", autouse=True)
def drawing_installed() -> None:
    try:
        leaflet_dir()
        geoman_dir()
    except AssetError as exc:
        pytest.skip(str(exc))


def js(qtbot: Any, panel: MapPanel, expr: str) -> Any:
    box: list[str] = []
    panel.view.page().runJavaScript(f"JSON.stringify({expr})", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


class Urls(QWebEngineUrlRequestInterceptor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        self.seen.append(info.requestUrl().toString())


@pytest.fixture
def rig(qtbot: Any, ui_runtime: ThreadedRuntime) -> Iterator[tuple[MapPanel, ThreadedRuntime]]:
    bridge = StationBridge(ui_runtime)
    urls = Urls()
    panel = MapPanel(bridge, Selection(), request_interceptor=urls)
    panel.test_urls = urls  # type: ignore[attr-defined]
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitUntil(lambda: panel.ready, timeout=20_000)
    yield panel, ui_runtime
    panel.close()
    if panel.maps is not None:
        panel.maps.close()
    bridge.close()


def station_elements(rt: ThreadedRuntime) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        st = rt.runtime.station
        groups = await st.capability(Maps).groups(st.settings.station.workspace_id)
        return {e.id: (g, e) for g, els in groups for e in els}

    return rt.submit(read()).result(5)


def test_drawing_goes_to_the_station_and_pilots_edits_show(
    qtbot: Any, rig: tuple[MapPanel, ThreadedRuntime]
) -> None:
    panel, rt = rig
    assert js(qtbot, panel, "GcsMap.state().drawing") is True
    assert js(qtbot, panel, "!!document.querySelector('.leaflet-pm-toolbar')") is True
    # the drawing tools come from the vendor folder; the page asks nothing of the network
    urls = panel.test_urls.seen  # type: ignore[attr-defined]
    assert any(u.endswith("leaflet-geoman/leaflet-geoman.js") for u in urls)
    assert all(u.startswith(("file:", "qrc:", "data:")) for u in urls), urls
    seen: list[MapElementChanged] = []
    rt.submit(_subscribe(rt, seen)).result(5)

    # the operator draws a polygon (what geoman hands the page on pm:create)
    panel.name_edit.setText("Yard")
    panel.color_combo.setCurrentIndex(4)  # red
    js(
        qtbot,
        panel,
        "GcsMap.created('Polygon', L.polygon([[22.57,113.94],[22.57,113.95],[22.58,113.95]]))",
    )
    qtbot.waitUntil(lambda: any(e.element.name == "Yard" for e in seen), timeout=5000)
    [(group, element)] = [v for v in station_elements(rt).values() if v[1].name == "Yard"]
    assert group.type == 2  # the app-shared group: every Pilot gets it
    assert element.content["properties"]["color"] == "#E23C39"
    assert element.content["geometry"]["type"] == "Polygon"
    assert element.user_name == "operator"
    # ... and comes back to the page as the station's element
    qtbot.waitUntil(lambda: element.id in js(qtbot, panel, "GcsMap.state().elements"), timeout=5000)

    # a circle becomes a 64-vertex polygon
    js(qtbot, panel, "GcsMap.created('Circle', L.circle([22.575,113.945], {radius: 50}))")
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=5000)
    circle = seen[-1].element
    assert len(circle.content["geometry"]["coordinates"][0]) == 65

    # a Pilot's element appears on the desktop map
    pilot_id = str(uuid.uuid4())
    rt.submit(_pilot_draws(rt, pilot_id)).result(5)
    qtbot.waitUntil(lambda: pilot_id in js(qtbot, panel, "GcsMap.state().elements"), timeout=5000)

    # the operator moves a vertex of the Pilot's line: the station has the new geometry
    depth = len(panel.undo_stack)
    js(
        qtbot,
        panel,
        f"(function(){{var l=GcsMap.elements[{json.dumps(pilot_id)}];"
        "l.setLatLngs([[22.571,113.941],[22.579,113.949]]); l.fire('pm:edit'); return 1;})()",
    )
    qtbot.waitUntil(
        lambda: (
            station_elements(rt)[pilot_id][1].content["geometry"]["coordinates"][1]
            == [113.949, 22.579]
        ),
        timeout=5000,
    )
    # undo puts the Pilot's line back (once the panel has recorded the edit it undoes: the
    # record comes back from the station after the change itself)
    qtbot.waitUntil(lambda: len(panel.undo_stack) == depth + 1, timeout=5000)
    panel.undo()
    qtbot.waitUntil(
        lambda: (
            station_elements(rt)[pilot_id][1].content["geometry"]["coordinates"][1]
            == [113.95, 22.58]
        ),
        timeout=5000,
    )
    # removing on the map deletes it; undo restores it
    layer = f"GcsMap.elements[{json.dumps(pilot_id)}]"
    depth = len(panel.undo_stack)
    js(qtbot, panel, f"(GcsMap.map.fire('pm:remove', {{layer: {layer}}}), 1)")
    qtbot.waitUntil(lambda: pilot_id not in station_elements(rt), timeout=5000)
    qtbot.waitUntil(lambda: len(panel.undo_stack) == depth + 1, timeout=5000)
    panel.undo()
    qtbot.waitUntil(lambda: pilot_id in station_elements(rt), timeout=5000)
    # undo of the circle, then of the yard
    panel.undo()
    panel.undo()
    qtbot.waitUntil(lambda: {element.id, circle.id}.isdisjoint(station_elements(rt)), timeout=5000)
    assert not panel.undo_button.isEnabled()


def test_a_refused_drawing_is_explained(qtbot: Any, rig: tuple[MapPanel, ThreadedRuntime]) -> None:
    panel, _ = rig
    js(
        qtbot,
        panel,
        "GcsMap.created('Polygon', L.polygon([[0,0],[1,1],[1,0],[0,1]]))",
    )
    status = panel.findChild(type(panel._status), "map_status")
    assert status is not None
    qtbot.waitUntil(lambda: "crosses itself" in status.text(), timeout=5000)


async def _subscribe(rt: ThreadedRuntime, seen: list[MapElementChanged]) -> None:
    rt.runtime.station.bus.subscribe(MapElementChanged, seen.append)


async def _pilot_draws(rt: ThreadedRuntime, element_id: str) -> None:
    st = rt.runtime.station
    maps = st.capability(Maps)
    ws = st.settings.station.workspace_id
    shared = await maps.group_of_role(ws, "shared")
    line = {
        "type": "Feature",
        "properties": {"color": "#19BE6B"},
        "geometry": {"type": "LineString", "coordinates": [[113.94, 22.57], [113.95, 22.58]]},
    }
    await maps.create_element(
        ws, shared.id, element_id, "PILOT 3", {"type": 1, "content": line}, user_name="pilot"
    )


def test_a_locked_group_cannot_be_edited(qtbot: Any, rig: tuple[MapPanel, ThreadedRuntime]) -> None:
    panel, rt = rig
    pilot_id = str(uuid.uuid4())
    rt.submit(_pilot_draws(rt, pilot_id)).result(5)
    qtbot.waitUntil(lambda: pilot_id in js(qtbot, panel, "GcsMap.state().elements"), timeout=5000)
    shared = panel.group_combo.findText("Pilot Share Layer")
    assert shared >= 0 and panel.group_combo.findText("Custom Flight Area") == -1
    panel.group_combo.setCurrentIndex(shared)
    panel.lock_button.click()
    qtbot.waitUntil(lambda: pilot_id in js(qtbot, panel, "GcsMap.state().locked"), timeout=5000)
    assert panel.lock_button.isChecked()
    # an edit that reaches the station anyway is refused and explained
    js(qtbot, panel, f"(GcsMap.elements[{json.dumps(pilot_id)}].fire('pm:edit'), 1)")
    status = panel.findChild(type(panel._status), "map_status")
    assert status is not None
    qtbot.waitUntil(lambda: "locked" in status.text(), timeout=5000)
    panel.lock_button.click()
    qtbot.waitUntil(lambda: pilot_id not in js(qtbot, panel, "GcsMap.state().locked"), timeout=5000)


def test_custom_flight_areas_are_drawn_as_areas(
    qtbot: Any, rig: tuple[MapPanel, ThreadedRuntime]
) -> None:
    panel, rt = rig
    area_id = str(uuid.uuid4())

    async def create() -> None:
        st = rt.runtime.station
        await st.capability(Maps).create_flight_area(
            st.settings.station.workspace_id,
            area_id=area_id,
            name="Substation",
            area_type="nfz",
            content={
                "type": "Feature",
                "properties": {"color": "#E23C39"},
                "geometry": {"type": "Circle", "coordinates": [113.94, 22.58], "radius": 150},
            },
            user_name="operator",
        )

    rt.submit(create()).result(5)
    qtbot.waitUntil(lambda: area_id in js(qtbot, panel, "GcsMap.state().areas"), timeout=5000)
    layer = f"GcsMap.elements[{json.dumps(area_id)}]"
    assert js(qtbot, panel, f"{layer}.getRadius()") == 150
    assert js(qtbot, panel, f"{layer}.options.dashArray") == "6 4"  # no-fly style
    assert area_id in js(qtbot, panel, "GcsMap.state().locked")  # not dragged by mistake
