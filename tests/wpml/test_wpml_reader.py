"""Reading KMZ wayline files: the real routes, namespace variants, every template type."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from wpml_kmz import (
    MISSION,
    POINTS,
    doc,
    kmz,
    placemark,
    restyle,
    template_xml,
    waylines_xml,
    zip_bytes,
)

from gcs.wpml import Route, read_kmz, read_parts

# --------------------------------------------------------------------------- real routes
# Values found by reading the XML of each file.
REAL = {
    "pilot2-m3m-seed.kmz": dict(
        drone=(77, 2),
        payload=(68, 0, 0),
        namespace="http://www.dji.com/wpmz/1.0.6",
        height_mode="relativeToStartPoint",
        execute_mode="relativeToStartPoint",
        waypoints=2,
        first=(-101.148371034063, 49.7155414935301, 10.0),
        template_actions={},
        wayline_actions={},
        speed=15.0,
        exit_on_rc_lost="executeLostAction",
    ),
    "pilot2-waypoint-makeathon.kmz": dict(
        drone=(91, 1),
        payload=(81, 2, 0),
        namespace="http://www.dji.com/wpmz/1.0.6",
        height_mode="aboveGroundLevel",
        execute_mode="WGS84",
        waypoints=3,
        first=(11.499854202, 48.189925743, 568.341006767964),
        template_actions={
            "rotateYaw": 4,
            "gimbalRotate": 5,
            "zoom": 4,
            "startRecord": 1,
            "orientedShoot": 1,
        },
        wayline_actions={
            "rotateYaw": 4,
            "gimbalRotate": 5,
            "zoom": 4,
            "startRecord": 1,
            "orientedShoot": 1,
        },
        speed=10.0,
        exit_on_rc_lost="goContinue",
    ),
    "psdk-sample-waypoint.kmz": dict(
        drone=(77, 0),
        payload=(66, 0, 0),
        namespace="http://www.dji.com/wpmz/1.0.3",
        height_mode="relativeToStartPoint",
        execute_mode="relativeToStartPoint",
        waypoints=14,
        first=(113.943123779504, 22.57749398646, 100.0),
        template_actions={
            "takePhoto": 3,
            "startRecord": 2,
            "stopRecord": 2,
            "gimbalRotate": 2,
            "zoom": 2,
            "customDirName": 1,
        },
        wayline_actions={
            "takePhoto": 3,
            "startRecord": 2,
            "stopRecord": 2,
            "gimbalRotate": 2,
            "zoom": 2,
            "customDirName": 1,
            "focus": 3,
        },
        speed=5.0,
        exit_on_rc_lost="executeLostAction",
    ),
}


def _template_actions(route: Route) -> Counter[str]:
    return Counter(
        a.func
        for t in route.templates
        for wp in t.waypoints
        for g in wp.action_groups
        for a in g.actions
    )


@pytest.mark.parametrize("filename", sorted(REAL))
def test_real_route_parses_with_expected_values(waylines_dir: Path, filename: str) -> None:
    expected = REAL[filename]
    path = waylines_dir / filename
    route = read_kmz(path)
    assert route.name == filename.removesuffix(".kmz")
    assert route.fingerprint == hashlib.md5(path.read_bytes()).hexdigest()
    assert route.size == path.stat().st_size
    assert route.findings == ()
    assert route.wpml_namespaces == (expected["namespace"],)
    drone = route.mission.drone
    assert drone is not None and (drone.enum_value, drone.sub_enum_value) == expected["drone"]
    payload = route.mission.payloads[0]
    assert (payload.enum_value, payload.sub_enum_value, payload.position_index) == expected[
        "payload"
    ]
    assert [t.template_type for t in route.templates] == ["waypoint"]
    template = route.templates[0]
    assert template.coordinate_sys is not None
    assert template.coordinate_sys.height_mode == expected["height_mode"]
    assert len(template.waypoints) == expected["waypoints"]
    assert len(route.waylines) == 1
    wayline = route.waylines[0]
    assert wayline.execute_height_mode == expected["execute_mode"]
    assert len(wayline.waypoints) == expected["waypoints"]
    assert [wp.index for wp in wayline.waypoints] == list(range(expected["waypoints"]))
    first = wayline.waypoints[0]
    assert (first.longitude, first.latitude, first.execute_height) == expected["first"]
    assert {wp.speed for wp in wayline.waypoints} == {expected["speed"]}
    assert Counter(a.func for a in route.iter_actions()) == expected["wayline_actions"]
    assert _template_actions(route) == expected["template_actions"]
    assert route.mission.finish_action == "goHome"
    assert route.mission.exit_on_rc_lost == expected["exit_on_rc_lost"]
    assert route.mission.execute_rc_lost_action == "goBack"


def test_makeathon_details(waylines_dir: Path) -> None:
    route = read_kmz(waylines_dir / "pilot2-waypoint-makeathon.kmz")
    assert route.author == "Peter Schiekofer"
    assert route.update_time == 1745678345919
    tm = route.template_mission
    assert tm is not None
    assert tm.take_off_ref_point == (48.189946, 11.499976, 552.182)
    assert tm.take_off_ref_point_agl_height == pytest.approx(-0.149690548)
    assert tm.global_rth_height == 100
    assert tm.wayline_avoid_limit_area_mode == 0
    template = route.templates[0]
    assert template.global_heading is not None
    assert template.global_heading.path_mode == "followBadArc"
    assert template.payload_params[0].image_format == "ir,visable"
    wp2 = template.waypoints[2]
    assert wp2.height == pytest.approx(13.016666667)
    assert wp2.use_global_height is None  # Pilot left the switch out on this one
    shoot = next(
        a
        for g in route.waylines[0].waypoints[2].action_groups
        for a in g.actions
        if a.func == "orientedShoot"
    )
    assert shoot.get("actionUUID") == "9e0c15ec-1977-420d-9466-abbd085cf03a"
    assert shoot.get("orientedFileMD5") == ""
    assert shoot.get_float("focalLength") == 168
    assert route.waylines[0].distance == pytest.approx(11.0308141708374)
    assert route.waylines[0].duration == pytest.approx(24.2336845397949)


def test_psdk_triggers_and_text(waylines_dir: Path) -> None:
    route = read_kmz(waylines_dir / "psdk-sample-waypoint.kmz")
    template = route.templates[0]
    first_photo = template.waypoints[0].action_groups[0].actions[0]
    assert first_photo.func == "takePhoto"
    assert first_photo.get("fileSuffix") == "航点1"
    group = template.waypoints[7].action_groups[0]
    assert group.trigger is not None
    assert (group.trigger.type, group.trigger.param) == ("multipleDistance", 10.0)
    assert (group.start_index, group.end_index) == (7, 7)
    focus = route.waylines[0].waypoints[0].action_groups[0].actions[0]
    assert focus.func == "focus" and focus.get_float("focusRegionWidth") == 0.5


def test_path_and_bytes_give_the_same_route(waylines_dir: Path) -> None:
    path = waylines_dir / "psdk-sample-waypoint.kmz"
    from_path = read_kmz(path)
    from_bytes = read_kmz(path.read_bytes(), name="psdk-sample-waypoint")
    assert from_path == from_bytes


# --------------------------------------------------------------------------- namespaces


@pytest.mark.parametrize("style", ["prefix", "default-ns", "bare", "undeclared"])
def test_namespace_variants_read_the_same(style: str) -> None:
    reference = read_kmz(kmz())
    route = read_kmz(kmz(restyle(waylines_xml(), style), restyle(template_xml(), style)))
    assert route.waylines == reference.waylines
    assert route.templates == reference.templates
    assert route.mission == reference.mission
    codes = {f.code for f in route.findings}
    if style == "undeclared":
        assert codes == {"namespace_undeclared"}
    else:
        assert codes == set()


@pytest.mark.parametrize("version", ["1.0.0", "1.0.2", "1.0.3", "1.0.6", "1.0.9"])
def test_any_wpml_1_0_x_namespace(version: str) -> None:
    ns = f"http://www.dji.com/wpmz/{version}"
    route = read_kmz(kmz(waylines_xml(ns=ns), template_xml(ns=ns)))
    assert route.wpml_namespaces == (ns,)
    assert route.findings == ()
    assert len(route.waylines[0].waypoints) == 3


def test_foreign_namespace_is_read_by_name_and_reported() -> None:
    ns = "http://example.com/not-wpml"
    route = read_kmz(kmz(waylines_xml(ns=ns), None))
    assert len(route.waylines[0].waypoints) == 3
    assert [f.code for f in route.findings if f.code == "namespace_unknown"] == [
        "namespace_unknown"
    ]


# --------------------------------------------------------------------------- unknowns, values


def test_unknown_elements_are_kept_and_reported_once() -> None:
    extra = "<wpml:futureThing><wpml:x>1</wpml:x></wpml:futureThing>"
    pms = "".join(placemark(i, lon, lat, extra=extra) for i, (lon, lat) in enumerate(POINTS))
    route = read_kmz(kmz(waylines_xml(pms)))
    unknown = [f for f in route.findings if f.code == "unknown_element"]
    assert len(unknown) == 1
    assert unknown[0].element == "waylines.wpml/Folder[0]/Placemark[0]/futureThing"
    assert "futureThing" in unknown[0].message_en and "futureThing" in unknown[0].message_zh
    for wp in route.waylines[0].waypoints:
        assert len(wp.extras) == 1
        assert "futureThing" in wp.extras[0].xml and "<" in wp.extras[0].xml


def test_bad_values_become_none_with_a_warning() -> None:
    pms = placemark(0, 113.9, 22.5, speed="fast") + placemark(1, 113.91, 22.5, speed="nan")  # type: ignore[arg-type]
    route = read_kmz(kmz(waylines_xml(pms), None))
    assert [wp.speed for wp in route.waylines[0].waypoints] == [None, None]
    bad = [f for f in route.findings if f.code == "bad_value"]
    assert len(bad) == 2
    assert bad[0].element == "waylines.wpml/Folder[0]/Placemark[0]/waypointSpeed"
    assert "'fast'" in bad[0].message_en and "数值" in bad[0].message_zh


def test_unreadable_coordinates_are_an_error_finding() -> None:
    pms = placemark(0, 113.9, 22.5).replace("113.9,22.5", "here")
    route = read_kmz(kmz(waylines_xml(pms), None))
    wp = route.waylines[0].waypoints[0]
    assert (wp.longitude, wp.latitude) == (None, None)
    assert [f.code for f in route.findings if f.is_error] == ["coordinates_missing"]


def test_point_with_height_and_whitespace() -> None:
    pms = placemark(0, 113.9, 22.5).replace("113.9,22.5", "\n   113.9,22.5,12.5\n  ")
    route = read_kmz(kmz(waylines_xml(pms), None))
    wp = route.waylines[0].waypoints[0]
    assert (wp.longitude, wp.latitude) == (113.9, 22.5)


# --------------------------------------------------------------------------- template types

MAPPING_PARAMS = """
  <wpml:caliFlightEnable>0</wpml:caliFlightEnable>
  <wpml:elevationOptimizeEnable>1</wpml:elevationOptimizeEnable>
  <wpml:shootType>time</wpml:shootType>
  <wpml:direction>45</wpml:direction>
  <wpml:margin>10</wpml:margin>
  <wpml:overlap>
    <wpml:orthoCameraOverlapH>80</wpml:orthoCameraOverlapH>
    <wpml:orthoCameraOverlapW>70</wpml:orthoCameraOverlapW>
    <wpml:inclinedCameraOverlapH>75</wpml:inclinedCameraOverlapH>
    <wpml:inclinedCameraOverlapW>65</wpml:inclinedCameraOverlapW>
  </wpml:overlap>
  <wpml:ellipsoidHeight>120</wpml:ellipsoidHeight>
  <wpml:height>100</wpml:height>
"""
POLYGON = """<Polygon><outerBoundaryIs><LinearRing><coordinates>
  113.94,22.57,0 113.95,22.57,0 113.95,22.58,0 113.94,22.58,0 113.94,22.57,0
</coordinates></LinearRing></outerBoundaryIs></Polygon>"""


def test_mapping2d_polygon_and_parameters() -> None:
    placemarks = f"<Placemark>{MAPPING_PARAMS}{POLYGON}</Placemark>"
    tpl = template_xml(
        placemarks,
        template_type="mapping2d",
        folder_extra="<wpml:payloadParam><wpml:payloadPositionIndex>0"
        "</wpml:payloadPositionIndex><wpml:imageFormat>wide"
        "</wpml:imageFormat></wpml:payloadParam>",
    )
    route = read_kmz(kmz(waylines_xml(), tpl))
    assert route.findings == ()
    t = route.templates[0]
    assert t.template_type == "mapping2d" and t.type_code == 1
    assert t.waypoints == ()
    assert len(t.polygon) == 5 and t.polygon[0] == (113.94, 22.57, 0.0)
    assert (t.shoot_type, t.direction, t.margin, t.height, t.ellipsoid_height) == (
        "time",
        45.0,
        10.0,
        100.0,
        120.0,
    )
    assert t.overlap is not None
    assert (t.overlap.ortho_camera_h, t.overlap.ortho_camera_w) == (80, 70)
    assert (t.overlap.inclined_camera_h, t.overlap.inclined_camera_w) == (75, 65)
    assert t.mapping_param("elevationOptimizeEnable") == "1"
    assert t.payload_params[0].image_format == "wide"


def test_mapping3d_has_five_waylines() -> None:
    placemarks = (
        f"<Placemark>{MAPPING_PARAMS}<wpml:inclinedGimbalPitch>-45"
        f"</wpml:inclinedGimbalPitch><wpml:inclinedFlightSpeed>12"
        f"</wpml:inclinedFlightSpeed>{POLYGON}</Placemark>"
    )
    tpl = template_xml(placemarks, template_type="mapping3d")
    folder = waylines_xml().split("<Folder>")[1].split("</Folder>")[0]
    folders = "".join(
        "<Folder>" + folder.replace("<wpml:waylineId>0", f"<wpml:waylineId>{i}") + "</Folder>"
        for i in range(5)
    )
    route = read_kmz(kmz(doc(MISSION + folders), tpl))
    assert route.findings == ()
    assert [w.wayline_id for w in route.waylines] == [0, 1, 2, 3, 4]
    t = route.templates[0]
    assert t.type_code == 2
    assert t.mapping_param("inclinedGimbalPitch") == "-45"
    assert t.mapping_param("inclinedFlightSpeed") == "12"


def test_mapping_strip_line_string_on_the_folder() -> None:
    extra = (
        "<wpml:singleLineEnable>0</wpml:singleLineEnable>"
        "<wpml:cuttingDistance>500</wpml:cuttingDistance>"
        "<wpml:leftExtend>20</wpml:leftExtend><wpml:rightExtend>30</wpml:rightExtend>"
        "<wpml:stripUseTemplateAltitude>1</wpml:stripUseTemplateAltitude>"
        "<LineString><coordinates>113.94,22.57,50 113.95,22.58,60</coordinates>"
        "</LineString>"
    )
    tpl = template_xml("", template_type="mappingStrip", folder_extra=extra)
    route = read_kmz(kmz(waylines_xml(), tpl))
    assert route.findings == ()
    t = route.templates[0]
    assert t.type_code == 3
    assert t.line == ((113.94, 22.57, 50.0), (113.95, 22.58, 60.0))
    assert t.mapping_param("rightExtend") == "30"


def test_unknown_template_type_is_read() -> None:
    tpl = template_xml(f"<Placemark>{POLYGON}</Placemark>", template_type="geometry")
    route = read_kmz(kmz(waylines_xml(), tpl))
    t = route.templates[0]
    assert t.template_type == "geometry" and t.type_code is None
    assert len(t.polygon) == 5


def test_start_action_group_and_reroute_info() -> None:
    mission = MISSION.replace(
        "</wpml:missionConfig>",
        "<wpml:autoRerouteInfo><wpml:missionAutoRerouteMode>1</wpml:missionAutoRerouteMode>"
        "<wpml:transitionalAutoRerouteMode>0</wpml:transitionalAutoRerouteMode>"
        "</wpml:autoRerouteInfo></wpml:missionConfig>",
    )
    start = (
        "<wpml:startActionGroup><wpml:action><wpml:actionId>0</wpml:actionId>"
        "<wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>"
        "<wpml:actionActuatorFuncParam><wpml:gimbalPitchRotateAngle>-90"
        "</wpml:gimbalPitchRotateAngle></wpml:actionActuatorFuncParam></wpml:action>"
        "</wpml:startActionGroup>"
    )
    route = read_kmz(kmz(waylines_xml(mission=mission, folder_extra=start), None))
    assert [f.code for f in route.findings] == ["missing_template"]
    assert (
        route.mission.mission_auto_reroute_mode,
        route.mission.transitional_auto_reroute_mode,
    ) == (1, 0)
    group = route.waylines[0].start_action_groups[0]
    assert group.actions[0].func == "gimbalRotate"
    assert group.actions[0].get_float("gimbalPitchRotateAngle") == -90


def test_resources_are_kept() -> None:
    dsm = bytes(range(256)) * 40
    data = kmz(extra=[("wpmz/res/dsm/area.tif", dsm), ("wpmz/res/ref/1.jpg", b"jpeg")])
    route = read_kmz(data)
    assert [(r.path, r.size) for r in route.resources] == [
        ("wpmz/res/dsm/area.tif", len(dsm)),
        ("wpmz/res/ref/1.jpg", 4),
    ]
    assert route.resources[0].data == dsm


def test_waylines_only_file_is_usable_with_a_warning() -> None:
    route = read_kmz(kmz(template=None))
    assert route.templates == () and not route.has_template
    assert [f.code for f in route.findings] == ["missing_template"]


def test_parts_outside_wpmz_are_found_and_reported() -> None:
    data = zip_bytes(
        [("route/waylines.wpml", waylines_xml()), ("route/template.kml", template_xml())]
    )
    route = read_kmz(data)
    assert len(route.waylines[0].waypoints) == 3 and len(route.templates) == 1
    assert [f.code for f in route.findings] == ["nonstandard_layout", "nonstandard_layout"]


def test_read_parts_without_zip() -> None:
    route = read_parts(waylines_xml().encode(), template_xml().encode(), name="x")
    assert route.name == "x" and route.fingerprint is None
    assert len(route.templates[0].waypoints) == 3


def test_str_path_and_bytearray(waylines_dir: Path) -> None:
    path = waylines_dir / "pilot2-m3m-seed.kmz"
    by_str = read_kmz(str(path))
    assert by_str.name == "pilot2-m3m-seed"
    assert read_kmz(bytearray(path.read_bytes()), name="pilot2-m3m-seed") == by_str
