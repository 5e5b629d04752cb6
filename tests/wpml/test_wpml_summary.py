"""Summaries for the wayline library and the Pilot API."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from wpml_kmz import MISSION, POINTS, doc, kmz, placemark, template_xml, waylines_xml

from gcs.wpml import read_kmz, summarize

EXPECTED = {
    "pilot2-m3m-seed.kmz": dict(
        drone_model_key="0-77-2",
        drone_model_name="Mavic 3 Multispectral",
        payload_model_keys=["1-68-0"],
        payload_model_names=["Mavic 3M camera"],
        waypoint_count=2,
        actions_by_function={},
        start_point={"latitude": 49.7155414935301, "longitude": -101.148371034063},
        height_mode="relativeToStartPoint",
        execute_height_mode="relativeToStartPoint",
        exit_on_rc_lost="executeLostAction",
    ),
    "pilot2-waypoint-makeathon.kmz": dict(
        drone_model_key="0-91-1",
        drone_model_name="Matrice 3TD",
        payload_model_keys=["1-81-2"],
        payload_model_names=[None],
        waypoint_count=3,
        actions_by_function={
            "gimbalRotate": 5,
            "orientedShoot": 1,
            "rotateYaw": 4,
            "startRecord": 1,
            "zoom": 4,
        },
        start_point={"latitude": 48.189925743, "longitude": 11.499854202},
        height_mode="aboveGroundLevel",
        execute_height_mode="WGS84",
        exit_on_rc_lost="goContinue",
    ),
    "psdk-sample-waypoint.kmz": dict(
        drone_model_key="0-77-0",
        drone_model_name="Mavic 3 Enterprise",
        payload_model_keys=["1-66-0"],
        payload_model_names=["Mavic 3E camera"],
        waypoint_count=14,
        actions_by_function={
            "customDirName": 1,
            "focus": 3,
            "gimbalRotate": 2,
            "startRecord": 2,
            "stopRecord": 2,
            "takePhoto": 3,
            "zoom": 2,
        },
        start_point={"latitude": 22.57749398646, "longitude": 113.943123779504},
        height_mode="relativeToStartPoint",
        execute_height_mode="relativeToStartPoint",
        exit_on_rc_lost="executeLostAction",
    ),
}


@pytest.mark.parametrize("filename", sorted(EXPECTED))
def test_real_route_summary(waylines_dir: Path, filename: str) -> None:
    path = waylines_dir / filename
    summary = summarize(read_kmz(path))
    d = json.loads(json.dumps(summary.to_dict()))  # JSON-ready
    for key, value in EXPECTED[filename].items():
        assert d[key] == value, key
    assert d["name"] == filename.removesuffix(".kmz")
    assert d["template_types"] == [0] and d["template_type_names"] == ["waypoint"]
    assert d["wayline_count"] == 1
    by_function: dict[str, int] = EXPECTED[filename]["actions_by_function"]  # type: ignore[assignment]
    assert d["action_count"] == sum(by_function.values())
    assert d["fingerprint"] == hashlib.md5(path.read_bytes()).hexdigest()
    assert d["size_bytes"] == path.stat().st_size
    assert d["finish_action"] == "goHome" and d["rc_lost_action"] == "goBack"
    # our length and duration against what Pilot 2 wrote into the file
    assert d["length_m"] == pytest.approx(d["reported_length_m"], rel=0.01)
    assert d["duration_s"] == pytest.approx(d["reported_duration_s"], rel=0.25)
    bbox = d["bbox"]
    route = read_kmz(path)
    for wp in route.iter_waypoints():
        assert bbox["min_latitude"] <= wp.latitude <= bbox["max_latitude"]
        assert bbox["min_longitude"] <= wp.longitude <= bbox["max_longitude"]


def test_m30_model_names_from_the_table() -> None:
    mission = MISSION.replace("<wpml:droneSubEnumValue>1<", "<wpml:droneSubEnumValue>0<")
    mission = mission.replace("<wpml:payloadEnumValue>53<", "<wpml:payloadEnumValue>52<")
    d = summarize(read_kmz(kmz(waylines_xml(mission=mission), None))).to_dict()
    assert (d["drone_model_key"], d["drone_model_name"]) == ("0-67-0", "Matrice 30")
    assert (d["payload_model_keys"], d["payload_model_names"]) == (["1-52-0"], ["M30 camera"])
    assert d["template_types"] == []  # no template.kml: the type is unknown


def test_hover_adds_its_time_and_interval_photos_do_not() -> None:
    hover = (
        "<wpml:actionGroup><wpml:actionGroupId>0</wpml:actionGroupId>"
        "<wpml:actionGroupStartIndex>1</wpml:actionGroupStartIndex>"
        "<wpml:actionGroupEndIndex>1</wpml:actionGroupEndIndex>"
        "<wpml:actionTrigger><wpml:actionTriggerType>reachPoint</wpml:actionTriggerType>"
        "</wpml:actionTrigger><wpml:action><wpml:actionId>0</wpml:actionId>"
        "<wpml:actionActuatorFunc>hover</wpml:actionActuatorFunc>"
        "<wpml:actionActuatorFuncParam><wpml:hoverTime>30</wpml:hoverTime>"
        "</wpml:actionActuatorFuncParam></wpml:action></wpml:actionGroup>"
    )
    plain = summarize(read_kmz(kmz(waylines_xml(), None)))
    pms = "".join(
        placemark(i, lon, lat, extra=hover if i == 1 else "") for i, (lon, lat) in enumerate(POINTS)
    )
    hovering = summarize(read_kmz(kmz(waylines_xml(pms), None)))
    assert hovering.duration_s - plain.duration_s == pytest.approx(30.0)
    assert hovering.length_m == plain.length_m
    assert dict(hovering.actions_by_function) == {"hover": 1}


def test_length_and_speed() -> None:
    # two points 0.01 degree of latitude apart at the equator: 1105.7 m on WGS84
    pms = placemark(0, 0.0, 0.0, speed=10) + placemark(1, 0.0, 0.01, speed=10)
    s = summarize(read_kmz(kmz(waylines_xml(pms), None)))
    assert s.length_m == pytest.approx(1105.74, abs=0.5)
    assert s.duration_s == pytest.approx(1105.74 / 10 + 10 / 2.5, rel=0.01)
    climb = placemark(0, 0.0, 0.0, height=0) + placemark(1, 0.0, 0.0, height=100)
    s = summarize(read_kmz(kmz(waylines_xml(climb), None)))
    assert s.length_m == pytest.approx(100.0)
    assert s.duration_s >= 100 / 5  # climbing is limited to 5 m/s


def test_mapping_summary_counts_waylines_and_types() -> None:
    polygon = (
        "<Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        "113.90,22.50,0 113.99,22.50,0 113.99,22.59,0 113.90,22.50,0"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
    )
    folder = waylines_xml().split("<Folder>")[1].split("</Folder>")[0]
    folders = "".join(f"<Folder>{folder}</Folder>" for _ in range(5))
    route = read_kmz(kmz(doc(MISSION + folders), template_xml(polygon, template_type="mapping3d")))
    d = summarize(route).to_dict()
    assert d["template_types"] == [2] and d["template_type_names"] == ["mapping3d"]
    assert d["wayline_count"] == 5 and d["waypoint_count"] == 15
    assert d["bbox"] == {
        "min_latitude": 22.5,
        "min_longitude": 113.9,
        "max_latitude": 22.59,
        "max_longitude": 113.99,
    }


def test_summary_of_an_empty_route_does_not_fail() -> None:
    d = summarize(read_kmz(kmz(waylines_xml(""), None))).to_dict()
    assert d["waypoint_count"] == 0 and d["start_point"] is None and d["bbox"] is None
    assert d["length_m"] == 0 and d["duration_s"] == 0
