"""Flight areas on the desktop map (QtWebEngine offscreen, leaflet-geoman), in the main window:
the Flight areas panel's "Draw on map" puts the map in flight-area mode, the shape drawn there
(a polygon, or a circle that stays a circle) becomes a station area of the chosen type, and
areas are drawn red (no-fly), green (geofence) or grey (disabled)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from gcs.runtime import ThreadedRuntime
from gcs.station.maps import Maps
from gcs.ui.assets import AssetError, geoman_dir, leaflet_dir


@pytest.fixture(scope="module", autouse=True)
def drawing_installed() -> None:
    try:
        leaflet_dir()
        geoman_dir()
    except AssetError as exc:
        pytest.skip(str(exc))


def js(qtbot: Any, view: Any, expr: str) -> Any:
    box: list[str] = []
    view.page().runJavaScript(f"JSON.stringify({expr})", box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=5000)
    return json.loads(box[0])


def station_areas(rt: ThreadedRuntime) -> dict[str, Any]:
    st = rt.runtime.station
    rows = rt.submit(st.capability(Maps).flight_areas(st.settings.station.workspace_id)).result(5)
    return {e.id: (e, a) for e, a in rows}


def add_area(rt: ThreadedRuntime, name: str, kind: str, geometry: dict[str, Any]) -> str:
    st = rt.runtime.station
    area_id = str(uuid.uuid4())
    content = {"type": "Feature", "properties": {"color": "#E23C39"}, "geometry": geometry}
    rt.submit(
        st.capability(Maps).create_flight_area(
            st.settings.station.workspace_id,
            area_id=area_id,
            name=name,
            area_type=kind,
            content=content,
            user_name="test",
        )
    ).result(5)
    return area_id


def test_draw_flight_areas_from_the_panel_and_see_them_styled(
    qtbot: Any, main_window: Any, ui_runtime: ThreadedRuntime
) -> None:
    win = main_window
    if win.map is None:
        pytest.skip("the map panel is not available here")
    mp, areas = win.map, win.flight_areas
    qtbot.waitUntil(lambda: mp.ready, timeout=20_000)
    view = mp.view

    nfz = add_area(
        ui_runtime,
        "Substation",
        "nfz",
        {
            "type": "Polygon",
            "coordinates": [[[113.940, 22.570], [113.944, 22.570], [113.944, 22.573],
                             [113.940, 22.573]]],
        },
    )  # fmt: skip
    fence = add_area(
        ui_runtime,
        "Site",
        "dfence",
        {"type": "Circle", "coordinates": [113.943, 22.572], "radius": 600},
    )
    off = add_area(
        ui_runtime,
        "Old crane",
        "nfz",
        {"type": "Circle", "coordinates": [113.947, 22.574], "radius": 80},
    )
    ui_runtime.submit(
        ui_runtime.runtime.station.capability(Maps).update_flight_area(
            ui_runtime.runtime.station.settings.station.workspace_id, off, enabled=False, actor="t"
        )
    ).result(5)
    qtbot.waitUntil(lambda: len(js(qtbot, view, "GcsMap.state().areas")) == 3, timeout=10_000)
    colours = js(
        qtbot,
        view,
        "Object.fromEntries(Object.keys(GcsMap.elements).map(function (id) {"
        " return [id, GcsMap.elements[id].options.color]; }))",
    )
    assert colours == {nfz: "#E23C39", fence: "#19BE6B", off: "#888888"}

    # "Draw on map" in the panel: the map's polygon tool, then the drawn ring is an area
    win.docks["areas"].raise_()
    areas.name_edit.setText("Tank farm")
    areas.type_combo.setCurrentIndex(areas.type_combo.findData("nfz"))
    areas.shape_combo.setCurrentIndex(areas.shape_combo.findData("Polygon"))
    areas.draw_button.click()
    qtbot.waitUntil(lambda: js(qtbot, view, "GcsFlightAreas.state().mode") == "nfz", timeout=5000)
    assert js(qtbot, view, "GcsFlightAreas.state()")["banner"] is True
    assert js(qtbot, view, "GcsMap.map.pm.globalDrawModeEnabled()") is True
    with qtbot.waitSignal(mp.flight_area_drawn, timeout=5000) as drawn:
        js(
            qtbot,
            view,
            "GcsMap.created('Polygon',"
            " L.polygon([[22.575,113.941],[22.575,113.943],[22.577,113.942]]))",
        )
    assert drawn.args[0] == "nfz" and json.loads(drawn.args[1])["type"] == "Polygon"
    qtbot.waitUntil(
        lambda: any(e.name == "Tank farm" for e, _ in station_areas(ui_runtime).values()),
        timeout=5000,
    )
    state = js(qtbot, view, "GcsFlightAreas.state()")
    assert state["mode"] is None and state["banner"] is False and state["drawn"] == 1

    # a circle stays a circle (centre + radius), as a geofence
    areas.name_edit.setText("Landing field")
    areas.type_combo.setCurrentIndex(areas.type_combo.findData("dfence"))
    areas.shape_combo.setCurrentIndex(areas.shape_combo.findData("Circle"))
    areas.draw_button.click()
    qtbot.waitUntil(
        lambda: js(qtbot, view, "GcsFlightAreas.state().shape") == "Circle", timeout=5000
    )
    js(qtbot, view, "GcsMap.created('Circle', L.circle([22.571, 113.946], {radius: 90}))")

    def field() -> Any:
        found = [a for e, a in station_areas(ui_runtime).values() if e.name == "Landing field"]
        return found[0] if found else None

    qtbot.waitUntil(lambda: field() is not None, timeout=5000)
    assert field().area_type == "dfence" and field().radius == 90.0
    qtbot.waitUntil(lambda: len(js(qtbot, view, "GcsMap.state().areas")) == 5, timeout=10_000)
    qtbot.waitUntil(lambda: len(areas.area_rows()) == 5, timeout=5000)

    # Esc while drawing (geoman ends the draw without a shape) leaves flight-area mode
    areas.draw_button.click()
    qtbot.waitUntil(
        lambda: js(qtbot, view, "GcsFlightAreas.state().mode") == "dfence", timeout=5000
    )
    js(qtbot, view, "GcsMap.map.pm.disableDraw() || 0")
    qtbot.waitUntil(lambda: js(qtbot, view, "GcsFlightAreas.state().cancelled") == 1, timeout=5000)
    assert js(qtbot, view, "GcsFlightAreas.state().mode") is None
    qtbot.waitUntil(lambda: areas.status.text() == "Drawing cancelled.", timeout=5000)
    assert len(station_areas(ui_runtime)) == 5

    if shots := os.environ.get("GCS_SCREENSHOTS"):
        js(
            qtbot,
            view,
            "GcsMap.map.fitBounds(GcsMap.elementLayer.getBounds().pad(0.15),"
            " {animate: false}) && 1",
        )
        qtbot.wait(300)  # let the page paint the new view before the grab (a picture only)
        mp.grab().save(str(Path(shots) / "flight-areas-map.png"))
        win.grab().save(str(Path(shots) / "flight-areas-window.png"))
