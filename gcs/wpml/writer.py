"""Write a waypoint route as a KMZ that DJI Pilot 2 and the docks accept.

The output has the shape Pilot 2 exports (checked against real exports in the tests): a ZIP with
`wpmz/template.kml` (the editable waypoint template: global settings plus one Placemark per
waypoint with `useGlobal*` switches) and `wpmz/waylines.wpml` (one executable wayline with every
value explicit), namespace WPML 1.0.6, the same element order, and `wpml:distance` /
`wpml:duration` filled in with our own estimate.

Heights: a plan in EGM96 gets `height` (EGM96) and `ellipsoidHeight` (= height + geoid height)
in the template and WGS84 ellipsoid `executeHeight`s in the wayline; a plan relative to the
take-off point carries its heights unchanged in both files. Output is deterministic (fixed ZIP
timestamps; times come from the plan), so the same plan gives the same fingerprint.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import zipfile
from typing import Any
from xml.sax.saxutils import escape

from gcs.wpml.geoid import egm96_to_ellipsoid, ellipsoid_to_egm96
from gcs.wpml.model import (
    Action,
    ActionGroup,
    ActionTrigger,
    HeadingParam,
    HeightMode,
    MissionConfig,
    PlanActionGroup,
    PlanWaypoint,
    Route,
    Template,
    TurnMode,
    TurnParam,
    Wayline,
    Waypoint,
    WaypointPlan,
    format_number,
)
from gcs.wpml.summary import wayline_stats
from gcs.wpml.xml import KML_NS, WPML_NS

__all__ = ["plan_from_route", "write_kmz"]

_HEIGHT_MODES = (
    HeightMode.EGM96,
    HeightMode.RELATIVE_TO_START_POINT,
    HeightMode.ABOVE_GROUND_LEVEL,
)
_EARLY_TURN = (TurnMode.COORDINATE_TURN, TurnMode.PASS_CONTINUOUS)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class _Xml:
    """Tiny indented XML writer for KML/WPML (`wpml:` names get the WPML namespace)."""

    def __init__(self) -> None:
        self.lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<kml xmlns="{KML_NS}" xmlns:wpml="{WPML_NS}">',
        ]
        self.depth = 1

    def open(self, tag: str) -> None:
        self.lines.append("  " * self.depth + f"<{tag}>")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.lines.append("  " * self.depth + f"</{tag}>")

    def leaf(self, tag: str, value: str | float | int | bool) -> None:
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, (int, float)):
            text = format_number(value)
        else:
            if _NOT_XML.search(value):
                raise ValueError(f"<{tag}> holds characters XML cannot carry: {value!r}")
            text = escape(value)
        self.lines.append("  " * self.depth + f"<{tag}>{text}</{tag}>")

    def point(self, lon: float, lat: float) -> None:
        self.open("Point")
        self.leaf("coordinates", f"{format_number(lon)},{format_number(lat)}")
        self.close("Point")

    def done(self) -> bytes:
        return ("\n".join([*self.lines, "</kml>", ""])).encode("utf-8")


def _check(plan: WaypointPlan) -> None:
    if not plan.waypoints:
        raise ValueError("a wayline needs at least one waypoint")
    if len(plan.waypoints) > 65536:
        raise ValueError("a wayline holds at most 65536 waypoints")
    if plan.height_mode not in _HEIGHT_MODES:
        raise ValueError(
            f"height mode {plan.height_mode!r} cannot be written; use EGM96, "
            "relativeToStartPoint or aboveGroundLevel (with ellipsoid heights)"
        )
    numbers = [
        plan.global_height,
        plan.auto_flight_speed,
        plan.global_transitional_speed,
        plan.take_off_security_height,
    ]
    if not all(math.isfinite(n) for n in numbers):
        raise ValueError("plan values must be finite numbers")
    if plan.auto_flight_speed <= 0 or plan.global_transitional_speed <= 0:
        raise ValueError("speeds must be above 0 m/s")
    for i, wp in enumerate(plan.waypoints):
        if not (
            math.isfinite(wp.latitude)
            and math.isfinite(wp.longitude)
            and -90 <= wp.latitude <= 90
            and -180 <= wp.longitude <= 180
        ):
            raise ValueError(
                f"waypoint {i}: position {wp.latitude}, {wp.longitude} is off the globe"
            )
        for name in (
            "height",
            "speed",
            "heading_angle",
            "turn_damping_dist",
            "gimbal_pitch",
            "ellipsoid_height",
        ):
            value = getattr(wp, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"waypoint {i}: {name} is not a finite number")
        if plan.height_mode == HeightMode.ABOVE_GROUND_LEVEL and wp.ellipsoid_height is None:
            raise ValueError(
                f"waypoint {i}: heights above ground need the waypoint's "
                "ellipsoid height (terrain is not known here)"
            )
        if wp.speed is not None and wp.speed <= 0:
            raise ValueError(f"waypoint {i}: speed must be above 0 m/s")
        for action in wp.actions + tuple(a for g in wp.groups for a in g.actions):
            if not _NAME.match(action.func) or not all(_NAME.match(n) for n, _v in action.params):
                raise ValueError(
                    f"waypoint {i}: action {action.func!r} has a name that is not "
                    "an XML element name"
                )


def _mission(x: _Xml, plan: WaypointPlan) -> None:
    x.open("wpml:missionConfig")
    x.leaf("wpml:flyToWaylineMode", plan.fly_to_wayline_mode)
    x.leaf("wpml:finishAction", plan.finish_action)
    x.leaf("wpml:exitOnRCLost", plan.exit_on_rc_lost)
    x.leaf("wpml:executeRCLostAction", plan.execute_rc_lost_action)
    x.leaf("wpml:takeOffSecurityHeight", plan.take_off_security_height)
    x.leaf("wpml:globalTransitionalSpeed", plan.global_transitional_speed)
    if plan.global_rth_height is not None:
        x.leaf("wpml:globalRTHHeight", plan.global_rth_height)
    x.open("wpml:droneInfo")
    x.leaf("wpml:droneEnumValue", plan.drone_enum_value)
    x.leaf("wpml:droneSubEnumValue", plan.drone_sub_enum_value)
    x.close("wpml:droneInfo")
    if plan.payload_enum_value is not None:
        x.open("wpml:payloadInfo")
        x.leaf("wpml:payloadEnumValue", plan.payload_enum_value)
        x.leaf("wpml:payloadSubEnumValue", plan.payload_sub_enum_value)
        x.leaf("wpml:payloadPositionIndex", plan.payload_position_index)
        x.close("wpml:payloadInfo")
    x.close("wpml:missionConfig")


def _heading(x: _Xml, tag: str, mode: str, angle: float, *, executable: bool) -> None:
    x.open(tag)
    x.leaf("wpml:waypointHeadingMode", mode)
    x.leaf("wpml:waypointHeadingAngle", angle)
    x.leaf("wpml:waypointPoiPoint", "0.000000,0.000000,0.000000")
    if executable:
        x.leaf("wpml:waypointHeadingAngleEnable", mode in ("smoothTransition", "fixed"))
    x.leaf("wpml:waypointHeadingPathMode", "followBadArc")
    x.leaf("wpml:waypointHeadingPoiIndex", 0)
    x.close(tag)


def _turn(x: _Xml, mode: str, damping: float) -> None:
    x.open("wpml:waypointTurnParam")
    x.leaf("wpml:waypointTurnMode", mode)
    x.leaf("wpml:waypointTurnDampingDist", damping)
    x.close("wpml:waypointTurnParam")


def _groups_of(index: int, wp: PlanWaypoint) -> list[ActionGroup]:
    groups = []
    if wp.actions:
        groups.append(
            ActionGroup(
                start_index=index,
                end_index=index,
                mode="sequence",
                trigger=ActionTrigger("reachPoint"),
                actions=wp.actions,
            )
        )
    for g in wp.groups:
        end = g.end_index if g.end_index is not None else index
        groups.append(
            ActionGroup(
                start_index=index,
                end_index=end,
                mode="sequence",
                trigger=ActionTrigger(g.trigger, g.param),
                actions=g.actions,
            )
        )
    return groups


def _actions(x: _Xml, group_id: int, group: ActionGroup) -> None:
    x.open("wpml:actionGroup")
    x.leaf("wpml:actionGroupId", group_id)
    x.leaf("wpml:actionGroupStartIndex", group.start_index or 0)
    x.leaf("wpml:actionGroupEndIndex", group.end_index or 0)
    x.leaf("wpml:actionGroupMode", "sequence")
    x.open("wpml:actionTrigger")
    trigger = group.trigger or ActionTrigger("reachPoint")
    x.leaf("wpml:actionTriggerType", trigger.type or "reachPoint")
    if trigger.param is not None:
        x.leaf("wpml:actionTriggerParam", trigger.param)
    x.close("wpml:actionTrigger")
    for action_id, action in enumerate(group.actions):
        x.open("wpml:action")
        x.leaf("wpml:actionId", action_id)
        x.leaf("wpml:actionActuatorFunc", action.func)
        x.open("wpml:actionActuatorFuncParam")
        for name, value in action.params:
            x.leaf(f"wpml:{name}", value)
        x.close("wpml:actionActuatorFuncParam")
        x.close("wpml:action")
    x.close("wpml:actionGroup")


def _default_damping(mode: str) -> float:
    return 0.2 if mode in _EARLY_TURN else 0.0


def _ellipsoid(plan: WaypointPlan, wp: PlanWaypoint, height: float) -> float:
    if plan.height_mode == HeightMode.ABOVE_GROUND_LEVEL and wp.ellipsoid_height is not None:
        return wp.ellipsoid_height
    if plan.height_mode == HeightMode.EGM96:
        return egm96_to_ellipsoid(height, wp.latitude, wp.longitude)
    return height


def _template_kml(plan: WaypointPlan) -> bytes:
    x = _Xml()
    x.open("Document")
    if plan.author:
        x.leaf("wpml:author", plan.author)
    x.leaf("wpml:createTime", plan.create_time)
    x.leaf("wpml:updateTime", plan.update_time)
    _mission(x, plan)
    x.open("Folder")
    x.leaf("wpml:templateType", "waypoint")
    x.leaf("wpml:templateId", 0)
    x.open("wpml:waylineCoordinateSysParam")
    x.leaf("wpml:coordinateMode", "WGS84")
    x.leaf("wpml:heightMode", plan.height_mode)
    x.leaf("wpml:positioningType", "GPS")
    x.close("wpml:waylineCoordinateSysParam")
    x.leaf("wpml:autoFlightSpeed", plan.auto_flight_speed)
    x.leaf("wpml:globalHeight", plan.global_height)
    x.leaf("wpml:caliFlightEnable", 0)
    x.leaf("wpml:gimbalPitchMode", _gimbal_mode(plan))
    _heading(
        x,
        "wpml:globalWaypointHeadingParam",
        plan.heading_mode,
        plan.heading_angle,
        executable=False,
    )
    x.leaf("wpml:globalWaypointTurnMode", plan.turn_mode)
    x.leaf("wpml:globalUseStraightLine", plan.use_straight_line)
    group_id = 0
    for index, wp in enumerate(plan.waypoints):
        height = wp.height if wp.height is not None else plan.global_height
        x.open("Placemark")
        x.point(wp.longitude, wp.latitude)
        x.leaf("wpml:index", index)
        x.leaf("wpml:ellipsoidHeight", _ellipsoid(plan, wp, height))
        x.leaf("wpml:height", height)
        x.leaf("wpml:waypointSpeed", wp.speed if wp.speed is not None else plan.auto_flight_speed)
        # Like Pilot 2, write the heading and turn even where the global ones apply.
        if wp.heading_mode is not None:
            _heading(
                x,
                "wpml:waypointHeadingParam",
                wp.heading_mode,
                wp.heading_angle or 0.0,
                executable=False,
            )
        else:
            _heading(
                x,
                "wpml:waypointHeadingParam",
                plan.heading_mode,
                plan.heading_angle,
                executable=False,
            )
        turn_mode = wp.turn_mode or plan.turn_mode
        damping = wp.turn_damping_dist if wp.turn_mode is not None else None
        _turn(x, turn_mode, damping if damping is not None else _default_damping(turn_mode))
        x.leaf("wpml:useGlobalHeight", wp.height is None)
        x.leaf("wpml:useGlobalSpeed", wp.speed is None)
        x.leaf("wpml:useGlobalHeadingParam", wp.heading_mode is None)
        x.leaf("wpml:useGlobalTurnParam", wp.turn_mode is None)
        x.leaf("wpml:useStraightLine", plan.use_straight_line)
        if wp.gimbal_pitch is not None:
            x.leaf("wpml:gimbalPitchAngle", wp.gimbal_pitch)
        for group in _groups_of(index, wp):
            _actions(x, group_id, group)
            group_id += 1
        x.leaf("wpml:isRisky", 0)
        x.close("Placemark")
    x.open("wpml:payloadParam")
    x.leaf("wpml:payloadPositionIndex", plan.payload_position_index)
    if plan.image_format:
        x.leaf("wpml:imageFormat", plan.image_format)
    x.close("wpml:payloadParam")
    x.close("Folder")
    x.close("Document")
    return x.done()


def _gimbal_mode(plan: WaypointPlan) -> str:
    return (
        "usePointSetting" if any(w.gimbal_pitch is not None for w in plan.waypoints) else "manual"
    )


def _executable(plan: WaypointPlan) -> Wayline:
    """The executable wayline as model objects (for the distance/duration estimate)."""
    waypoints = []
    pitch = 0.0
    for index, wp in enumerate(plan.waypoints):
        height = wp.height if wp.height is not None else plan.global_height
        mode = wp.turn_mode or plan.turn_mode
        damping = (
            wp.turn_damping_dist
            if wp.turn_mode is not None and wp.turn_damping_dist is not None
            else _default_damping(mode)
        )
        pitch = wp.gimbal_pitch if wp.gimbal_pitch is not None else pitch
        heading_mode = wp.heading_mode or plan.heading_mode
        heading_angle = (
            (wp.heading_angle or 0.0) if wp.heading_mode is not None else plan.heading_angle
        )
        groups = tuple(_groups_of(index, wp))
        waypoints.append(
            Waypoint(
                longitude=wp.longitude,
                latitude=wp.latitude,
                index=index,
                execute_height=_ellipsoid(plan, wp, height),
                speed=wp.speed if wp.speed is not None else plan.auto_flight_speed,
                heading=HeadingParam(mode=heading_mode, angle=heading_angle),
                turn=TurnParam(mode, damping),
                use_straight_line=plan.use_straight_line,
                gimbal_pitch_angle=pitch,
                action_groups=groups,
            )
        )
    execute_mode = (
        HeightMode.RELATIVE_TO_START_POINT
        if plan.height_mode == HeightMode.RELATIVE_TO_START_POINT
        else HeightMode.WGS84
    )
    return Wayline(
        template_id=0,
        wayline_id=0,
        execute_height_mode=execute_mode,
        auto_flight_speed=plan.auto_flight_speed,
        waypoints=tuple(waypoints),
    )


def _waylines_wpml(plan: WaypointPlan) -> bytes:
    wayline = _executable(plan)
    template = Template(
        "waypoint",
        0,
        auto_flight_speed=plan.auto_flight_speed,
        global_waypoint_turn_mode=plan.turn_mode,
    )
    distance, duration = wayline_stats(wayline, template)
    x = _Xml()
    x.open("Document")
    _mission(x, plan)
    x.open("Folder")
    x.leaf("wpml:templateId", 0)
    x.leaf("wpml:executeHeightMode", wayline.execute_height_mode or "")
    x.leaf("wpml:waylineId", 0)
    x.leaf("wpml:distance", round(distance, 3))
    x.leaf("wpml:duration", round(duration, 3))
    x.leaf("wpml:autoFlightSpeed", plan.auto_flight_speed)
    group_id = 0
    for wp in wayline.waypoints:
        assert wp.longitude is not None and wp.latitude is not None and wp.index is not None
        assert wp.heading is not None and wp.turn is not None
        x.open("Placemark")
        x.point(wp.longitude, wp.latitude)
        x.leaf("wpml:index", wp.index)
        x.leaf("wpml:executeHeight", wp.execute_height or 0.0)
        x.leaf("wpml:waypointSpeed", wp.speed or plan.auto_flight_speed)
        _heading(
            x,
            "wpml:waypointHeadingParam",
            wp.heading.mode or "followWayline",
            wp.heading.angle or 0.0,
            executable=True,
        )
        _turn(x, wp.turn.mode or plan.turn_mode, wp.turn.damping_dist or 0.0)
        x.leaf("wpml:useStraightLine", plan.use_straight_line)
        for group in wp.action_groups:
            _actions(x, group_id, group)
            group_id += 1
        x.open("wpml:waypointGimbalHeadingParam")
        x.leaf("wpml:waypointGimbalPitchAngle", wp.gimbal_pitch_angle or 0.0)
        x.leaf("wpml:waypointGimbalYawAngle", 0)
        x.close("wpml:waypointGimbalHeadingParam")
        x.leaf("wpml:isRisky", 0)
        x.leaf("wpml:waypointWorkType", 0)
        x.close("Placemark")
    x.close("Folder")
    x.close("Document")
    return x.done()


def write_kmz(route: WaypointPlan | Route) -> bytes:
    """Write a waypoint route as KMZ bytes (template.kml + waylines.wpml under wpmz/).

    Args:
        route: a `WaypointPlan`, or a `Route` read from a waypoint-template file (converted
            with `plan_from_route`, so unknown elements are not carried over).

    Returns:
        The KMZ file's bytes; deterministic for a given plan.

    Raises:
        ValueError: the plan cannot be flown as given (no waypoints, position off the globe,
            non-finite or non-positive numbers, a height mode that needs terrain data, text
            XML cannot carry, action names that are not element names), or the Route is not
            a waypoint route.
    """
    plan = plan_from_route(route) if isinstance(route, Route) else route
    _check(plan)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in (
            ("wpmz/template.kml", _template_kml(plan)),
            ("wpmz/waylines.wpml", _waylines_wpml(plan)),
        ):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, body)
    return buffer.getvalue()


def _turn_of(wp: Waypoint) -> tuple[str | None, float | None]:
    if wp.use_global_turn_param is not False or wp.turn is None:
        return None, None
    return wp.turn.mode, wp.turn.damping_dist


def _plan_actions(wp: Waypoint) -> tuple[tuple[Action, ...], tuple[PlanActionGroup, ...]]:
    actions: list[Action] = []
    groups: list[PlanActionGroup] = []
    for g in wp.action_groups:
        plain = tuple(dataclasses.replace(a, action_id=None) for a in g.actions)
        trigger = g.trigger.type if g.trigger and g.trigger.type else "reachPoint"
        if trigger == "reachPoint" and g.end_index in (None, g.start_index):
            actions.extend(plain)
        else:
            end = None if g.end_index == g.start_index else g.end_index
            groups.append(
                PlanActionGroup(trigger, plain, g.trigger.param if g.trigger else None, end)
            )
    return tuple(actions), tuple(groups)


def _position(wp: Waypoint) -> tuple[float, float]:
    if wp.latitude is None or wp.longitude is None:
        raise ValueError(f"waypoint {wp.index} has no position")
    return wp.latitude, wp.longitude


def _plan_globals(route: Route, mission: MissionConfig) -> dict[str, Any]:
    drone = mission.drone
    payload = mission.payloads[0] if mission.payloads else None
    return dict(
        drone_enum_value=drone.enum_value if drone and drone.enum_value is not None else 67,
        drone_sub_enum_value=drone.sub_enum_value or 0 if drone else 0,
        payload_enum_value=payload.enum_value if payload else None,
        payload_sub_enum_value=payload.sub_enum_value or 0 if payload else 0,
        payload_position_index=payload.position_index or 0 if payload else 0,
        global_transitional_speed=mission.global_transitional_speed or 10.0,
        take_off_security_height=mission.take_off_security_height or 20.0,
        global_rth_height=mission.global_rth_height,
        fly_to_wayline_mode=mission.fly_to_wayline_mode or "safely",
        finish_action=mission.finish_action or "goHome",
        exit_on_rc_lost=mission.exit_on_rc_lost or "executeLostAction",
        execute_rc_lost_action=mission.execute_rc_lost_action or "goBack",
        author=route.author,
        create_time=route.create_time or 0,
        update_time=route.update_time or 0,
    )


def _plan_from_template(route: Route, template: Template) -> WaypointPlan:
    height_mode = template.coordinate_sys.height_mode if template.coordinate_sys else None
    agl = height_mode == HeightMode.ABOVE_GROUND_LEVEL
    waypoints = []
    for wp in template.waypoints:
        latitude, longitude = _position(wp)
        heading = wp.heading if wp.use_global_heading_param is False else None
        turn_mode, damping = _turn_of(wp)
        actions, groups = _plan_actions(wp)
        waypoints.append(
            PlanWaypoint(
                latitude=latitude,
                longitude=longitude,
                height=wp.height if wp.use_global_height is False else None,
                speed=wp.speed if wp.use_global_speed is False else None,
                heading_mode=heading.mode if heading else None,
                heading_angle=heading.angle if heading else None,
                turn_mode=turn_mode,
                turn_damping_dist=damping,
                gimbal_pitch=wp.gimbal_pitch_angle,
                actions=actions,
                groups=groups,
                ellipsoid_height=wp.ellipsoid_height if agl else None,
            )
        )
    heading = template.global_heading
    image_format = template.payload_params[0].image_format if template.payload_params else None
    return WaypointPlan(
        waypoints=tuple(waypoints),
        height_mode=height_mode or HeightMode.RELATIVE_TO_START_POINT,
        global_height=template.global_height if template.global_height is not None else 100.0,
        auto_flight_speed=template.auto_flight_speed or 10.0,
        turn_mode=template.global_waypoint_turn_mode or TurnMode.STOP_DISCONTINUOUS,
        heading_mode=heading.mode if heading and heading.mode else "followWayline",
        heading_angle=heading.angle if heading and heading.angle is not None else 0.0,
        use_straight_line=template.global_use_straight_line is not False,
        image_format=image_format,
        **_plan_globals(route, route.template_mission or route.mission),
    )


def _plan_from_wayline(route: Route, wayline: Wayline) -> WaypointPlan:
    """Every value of an executable wayline is explicit: so is every value of its plan."""
    mode = wayline.execute_height_mode
    if mode not in (HeightMode.WGS84, HeightMode.RELATIVE_TO_START_POINT):
        raise ValueError(f"a wayline executed in {mode!r} height mode cannot be edited here")
    waypoints = []
    for wp in wayline.waypoints:
        latitude, longitude = _position(wp)
        height = wp.execute_height if wp.execute_height is not None else 0.0
        if mode == HeightMode.WGS84:
            height = ellipsoid_to_egm96(height, latitude, longitude)
        actions, groups = _plan_actions(wp)
        heading, turn = wp.heading, wp.turn
        waypoints.append(
            PlanWaypoint(
                latitude=latitude,
                longitude=longitude,
                height=height,
                speed=wp.speed,
                heading_mode=heading.mode if heading and heading.mode else None,
                heading_angle=(heading.angle or 0.0) if heading and heading.mode else None,
                turn_mode=turn.mode if turn and turn.mode else None,
                turn_damping_dist=(turn.damping_dist or 0.0) if turn and turn.mode else None,
                gimbal_pitch=wp.gimbal_pitch_angle,
                actions=actions,
                groups=groups,
            )
        )
    first = waypoints[0]
    return WaypointPlan(
        waypoints=tuple(waypoints),
        height_mode=(
            HeightMode.EGM96 if mode == HeightMode.WGS84 else HeightMode.RELATIVE_TO_START_POINT
        ),
        global_height=first.height if first.height is not None else 100.0,
        auto_flight_speed=wayline.auto_flight_speed or first.speed or 10.0,
        **_plan_globals(route, route.mission),
    )


def plan_from_route(route: Route) -> WaypointPlan:
    """The editable waypoint plan of a route read from a KMZ.

    The plan comes from the first waypoint template of template.kml; a file without one
    (waylines.wpml only, as some tools write) is planned from its first wayline, every value
    explicit and WGS84 ellipsoid heights converted to EGM96. Action groups fired on reaching a
    waypoint become its `actions`; other triggers become `groups` (both renumbered when
    written). Unknown elements are not carried over.

    Returns:
        A `WaypointPlan`; values the template leaves global stay None on the waypoints.

    Raises:
        ValueError: no waypoint template or wayline with waypoints, a waypoint without
            position, or a wayline that follows the terrain.
    """
    template = next(
        (t for t in route.templates if t.template_type == "waypoint" and t.waypoints), None
    )
    if template is not None:
        return _plan_from_template(route, template)
    if not route.templates:
        wayline = next((w for w in route.waylines if w.waypoints), None)
        if wayline is not None:
            return _plan_from_wayline(route, wayline)
    raise ValueError("the route has no waypoint template to edit")
