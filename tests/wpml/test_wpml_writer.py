"""Writing waypoint routes: round trips, heights per height mode, Pilot 2's structure."""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcs.wpml import (
    Action,
    HeightMode,
    PlanActionGroup,
    PlanWaypoint,
    TurnMode,
    WaypointPlan,
    geoid_height,
    plan_from_route,
    read_kmz,
    summarize,
    validate,
    write_kmz,
)

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)
HEADING_MODES = ["followWayline", "manually", "fixed", "smoothTransition"]


def _angle(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


@st.composite
def actions(draw: st.DrawFn) -> Action:
    kind = draw(st.sampled_from(["photo", "record", "stop", "hover", "gimbal", "yaw", "zoom"]))
    if kind == "photo":
        return Action.take_photo(
            suffix=draw(st.one_of(st.just(""), TEXT)),
            lens=draw(st.sampled_from([None, "wide", "zoom,ir"])),
        )
    if kind == "record":
        return Action.start_record(suffix=draw(st.one_of(st.just(""), TEXT)))
    if kind == "stop":
        return Action.stop_record()
    if kind == "hover":
        return Action.hover(draw(_angle(0.1, 600)))
    if kind == "gimbal":
        return Action.gimbal_rotate(
            pitch=draw(_angle(-90, 30)), yaw=draw(st.one_of(st.none(), _angle(-180, 180)))
        )
    if kind == "yaw":
        return Action.rotate_yaw(draw(_angle(-180, 180)), clockwise=draw(st.booleans()))
    return Action.zoom(draw(_angle(4.4, 168)))


@st.composite
def waypoints(draw: st.DrawFn, agl: bool) -> PlanWaypoint:
    heading_mode = draw(st.one_of(st.none(), st.sampled_from(HEADING_MODES)))
    turn_mode = draw(st.one_of(st.none(), st.sampled_from(list(TurnMode))))
    groups: tuple[PlanActionGroup, ...] = ()
    if draw(st.booleans()):
        trigger = draw(st.sampled_from(["multipleTiming", "multipleDistance"]))
        groups = (PlanActionGroup(trigger, (Action.take_photo(),), draw(_angle(1, 100))),)
    return PlanWaypoint(
        latitude=draw(_angle(-89.9, 89.9)),
        longitude=draw(_angle(-180, 180)),
        height=draw(st.one_of(st.none(), _angle(-200, 1500))),
        speed=draw(st.one_of(st.none(), _angle(0.1, 15))),
        heading_mode=heading_mode,
        heading_angle=draw(_angle(-180, 180)) if heading_mode else None,
        turn_mode=turn_mode,
        turn_damping_dist=draw(_angle(0, 5)) if turn_mode else None,
        gimbal_pitch=draw(st.one_of(st.none(), _angle(-90, 30))),
        actions=tuple(draw(st.lists(actions(), max_size=4))),
        groups=groups,
        ellipsoid_height=draw(_angle(-100, 3000)) if agl else None,
    )


@st.composite
def plans(draw: st.DrawFn) -> WaypointPlan:
    mode = draw(
        st.sampled_from(
            [HeightMode.EGM96, HeightMode.RELATIVE_TO_START_POINT, HeightMode.ABOVE_GROUND_LEVEL]
        )
    )
    agl = mode == HeightMode.ABOVE_GROUND_LEVEL
    return WaypointPlan(
        waypoints=tuple(draw(st.lists(waypoints(agl), min_size=1, max_size=15))),
        drone_enum_value=draw(st.sampled_from([60, 67, 77, 89, 91, 99, 100])),
        drone_sub_enum_value=draw(st.integers(0, 3)),
        payload_enum_value=draw(st.one_of(st.none(), st.sampled_from([52, 53, 66, 68, 81]))),
        height_mode=mode,
        global_height=draw(_angle(2, 1500)),
        auto_flight_speed=draw(_angle(0.5, 15)),
        global_transitional_speed=draw(_angle(1, 15)),
        take_off_security_height=draw(_angle(8, 1500)),
        global_rth_height=draw(st.one_of(st.none(), _angle(2, 1500))),
        finish_action=draw(
            st.sampled_from(["goHome", "noAction", "autoLand", "gotoFirstWaypoint"])
        ),
        exit_on_rc_lost=draw(st.sampled_from(["goContinue", "executeLostAction"])),
        execute_rc_lost_action=draw(st.sampled_from(["goBack", "landing", "hover"])),
        turn_mode=draw(st.sampled_from(list(TurnMode))),
        heading_mode=draw(st.sampled_from(HEADING_MODES)),
        heading_angle=draw(_angle(-180, 180)),
        use_straight_line=draw(st.booleans()),
        image_format=draw(st.sampled_from([None, "wide", "wide,zoom,ir"])),
        author=draw(st.one_of(st.none(), TEXT)),
        create_time=draw(st.integers(0, 2**42)),
        update_time=draw(st.integers(0, 2**42)),
    )


@settings(max_examples=40, deadline=None)
@given(plans())
def test_write_read_round_trip(plan: WaypointPlan) -> None:
    data = write_kmz(plan)
    route = read_kmz(data)
    assert plan_from_route(route) == plan
    assert route.findings == ()
    errors = [f for f in validate(route) if f.is_error]
    assert errors == []
    summary = summarize(route)
    assert summary.waypoint_count == len(plan.waypoints)
    assert summary.action_count == sum(
        len(w.actions) + sum(len(g.actions) for g in w.groups) for w in plan.waypoints
    )
    assert summary.template_type_codes == (0,)
    wayline = route.waylines[0]
    for wp, planned in zip(wayline.waypoints, plan.waypoints, strict=True):
        height = planned.height if planned.height is not None else plan.global_height
        assert wp.execute_height is not None
        if plan.height_mode == HeightMode.EGM96:
            expected = height + geoid_height(planned.latitude, planned.longitude)
            assert wp.execute_height == pytest.approx(expected, abs=1e-6)
        elif plan.height_mode == HeightMode.ABOVE_GROUND_LEVEL:
            assert wp.execute_height == planned.ellipsoid_height
        else:
            assert wp.execute_height == height
    assert write_kmz(plan_from_route(route)) == data  # deterministic and stable


def _plan(**kw: object) -> WaypointPlan:
    points = (
        PlanWaypoint(48.14, 11.58, actions=(Action.take_photo(),)),
        PlanWaypoint(48.141, 11.58, height=80.0, gimbal_pitch=-45.0),
        PlanWaypoint(48.141, 11.581, actions=(Action.hover(5), Action.stop_record())),
    )
    return WaypointPlan(waypoints=points, **kw)  # type: ignore[arg-type]


def test_egm96_heights_become_ellipsoid_heights() -> None:
    plan = _plan(height_mode=HeightMode.EGM96, global_height=600.0)
    route = read_kmz(write_kmz(plan))
    template, wayline = route.templates[0], route.waylines[0]
    assert template.coordinate_sys is not None
    assert template.coordinate_sys.height_mode == "EGM96"
    assert wayline.execute_height_mode == "WGS84"
    n = geoid_height(48.14, 11.58)
    assert n == pytest.approx(45.5, abs=0.6)  # Munich
    assert template.waypoints[0].height == 600.0
    assert template.waypoints[0].ellipsoid_height == pytest.approx(600.0 + n)
    assert wayline.waypoints[0].execute_height == pytest.approx(600.0 + n)
    assert wayline.waypoints[1].execute_height == pytest.approx(80.0 + geoid_height(48.141, 11.58))
    assert validate(route) == []


def test_relative_heights_are_kept() -> None:
    route = read_kmz(write_kmz(_plan(global_height=60.0)))
    assert route.waylines[0].execute_height_mode == "relativeToStartPoint"
    assert [wp.execute_height for wp in route.waylines[0].waypoints] == [60.0, 80.0, 60.0]
    assert [wp.use_global_height for wp in route.templates[0].waypoints] == [True, False, True]
    assert validate(route) == []


def test_gimbal_pitch_is_carried_forward_in_the_wayline() -> None:
    route = read_kmz(write_kmz(_plan()))
    assert route.templates[0].gimbal_pitch_mode == "usePointSetting"
    assert [wp.gimbal_pitch_angle for wp in route.templates[0].waypoints] == [None, -45.0, None]
    assert [wp.gimbal_pitch_angle for wp in route.waylines[0].waypoints] == [0.0, -45.0, -45.0]


def test_output_is_a_pilot2_shaped_zip() -> None:
    data = write_kmz(_plan())
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["wpmz/template.kml", "wpmz/waylines.wpml"]
        for name in zf.namelist():
            assert zf.read(name).startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert write_kmz(_plan()) == data


def _tags(element: ET.Element) -> list[str]:
    return [c.tag.rsplit("}", 1)[-1] for c in element]


def _shape(data: bytes, part: str) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = ET.fromstring(zf.read(part))
    document = root[0]
    folder = next(c for c in document if c.tag.endswith("Folder"))
    placemark = next(c for c in folder if c.tag.endswith("Placemark"))
    mission = next(c for c in document if c.tag.endswith("missionConfig"))
    return {
        "root": [root.tag],
        "document": _tags(document),
        "mission": [
            t
            for t in _tags(mission)
            if t not in ("takeOffRefPoint", "takeOffRefPointAGLHeight", "waylineAvoidLimitAreaMode")
        ],
        "folder": [t for t in _tags(folder) if t != "Placemark"],
        "placemark": _tags(placemark),
    }


@pytest.mark.parametrize("part", ["wpmz/template.kml", "wpmz/waylines.wpml"])
def test_same_structure_as_a_pilot2_export(waylines_dir: Path, part: str) -> None:
    real = (waylines_dir / "pilot2-waypoint-makeathon.kmz").read_bytes()
    ours = write_kmz(read_kmz(real))  # a Route is written through plan_from_route
    assert _shape(ours, part) == _shape(real, part)


@pytest.mark.parametrize(
    "filename", ["pilot2-m3m-seed.kmz", "pilot2-waypoint-makeathon.kmz", "psdk-sample-waypoint.kmz"]
)
def test_real_routes_survive_a_rewrite(waylines_dir: Path, filename: str) -> None:
    route = read_kmz(waylines_dir / filename)
    rewritten = read_kmz(write_kmz(route))
    assert plan_from_route(rewritten) == plan_from_route(route)
    assert validate(rewritten) == []
    before, after = summarize(route), summarize(rewritten)
    assert after.waypoint_count == before.waypoint_count
    assert after.start_point == before.start_point
    assert after.length_m == pytest.approx(before.length_m, rel=1e-6)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (WaypointPlan(waypoints=()), "at least one waypoint"),
        (WaypointPlan(waypoints=(PlanWaypoint(91.0, 0.0),)), "off the globe"),
        (WaypointPlan(waypoints=(PlanWaypoint(10.0, 0.0, height=math.nan),)), "finite"),
        (WaypointPlan(waypoints=(PlanWaypoint(10.0, 0.0, speed=0.0),)), "above 0"),
        (WaypointPlan(waypoints=(PlanWaypoint(10.0, 0.0),), auto_flight_speed=0.0), "above 0"),
        (WaypointPlan(waypoints=(PlanWaypoint(10.0, 0.0),), height_mode="WGS84"), "height mode"),
        (
            WaypointPlan(
                waypoints=(PlanWaypoint(10.0, 0.0),), height_mode=HeightMode.ABOVE_GROUND_LEVEL
            ),
            "ellipsoid height",
        ),
    ],
)
def test_unwritable_plans_raise(plan: WaypointPlan, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_kmz(plan)


def test_mapping_route_cannot_be_converted_to_a_plan() -> None:
    from wpml_kmz import kmz, template_xml

    route = read_kmz(kmz(template=template_xml("", template_type="mapping2d")))
    with pytest.raises(ValueError, match="no waypoint template"):
        plan_from_route(route)


def test_text_xml_cannot_carry_is_refused() -> None:
    plan = WaypointPlan(waypoints=(PlanWaypoint(10.0, 0.0),), author="bad\x00name")
    with pytest.raises(ValueError, match="XML cannot carry"):
        write_kmz(plan)
    odd = Action("takePhoto", (("file suffix", "x"),))
    with pytest.raises(ValueError, match="element name"):
        write_kmz(WaypointPlan(waypoints=(PlanWaypoint(10.0, 0.0, actions=(odd,)),)))


def test_special_characters_round_trip() -> None:
    plan = WaypointPlan(
        waypoints=(PlanWaypoint(10.0, 0.0, actions=(Action.take_photo(suffix="航点<1>&\"'"),)),),
        author="Zoë & <Ops>",
    )
    assert plan_from_route(read_kmz(write_kmz(plan))) == plan


@pytest.mark.parametrize("mode", ["relativeToStartPoint", "WGS84"])
def test_waylines_only_file_is_planned_from_its_wayline(mode: str) -> None:
    from wpml_kmz import POINTS, kmz, placemark, waylines_xml

    pms = "".join(
        placemark(i, lon, lat, height=40.0 + i, speed=4.0 + i)
        for i, (lon, lat) in enumerate(POINTS)
    )
    route = read_kmz(kmz(waylines_xml(pms, mode=mode), None))
    plan = plan_from_route(route)
    expected_mode = HeightMode.EGM96 if mode == "WGS84" else HeightMode.RELATIVE_TO_START_POINT
    assert plan.height_mode == expected_mode
    assert [w.speed for w in plan.waypoints] == [4.0, 5.0, 6.0]
    rewritten = read_kmz(write_kmz(plan))
    assert rewritten.waylines[0].execute_height_mode == mode
    heights = [w.execute_height for w in rewritten.waylines[0].waypoints]
    assert heights == pytest.approx([40.0, 41.0, 42.0], abs=1e-9)
    assert validate(rewritten) == []
