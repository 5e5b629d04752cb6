"""Check a route against DJI's WPML documentation and common sense.

Errors mean the file cannot be flown as it is (no waypoints, coordinates off the globe or
unreadable); warnings mean it can, but a value is outside DJI's documented range, the template
and the executable waylines disagree, or heights look like they were written for another height
mode. Ranges and value lists are DJI's Cloud API WPML reference (template.kml, waylines.wpml,
common elements), see also docs/protocol §13.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable

from gcs.protocol.models import model_name
from gcs.wpml.errors import Finding, error, warning
from gcs.wpml.geoid import geoid_height
from gcs.wpml.model import (
    ACTION_FUNCTIONS,
    Action,
    ActionGroup,
    MissionConfig,
    Route,
    Template,
    Wayline,
    Waypoint,
)
from gcs.wpml.summary import segment_length

__all__ = ["validate"]

_MAX_PER_CODE = 50
ENUMS: dict[str, tuple[str, ...]] = {
    "flyToWaylineMode": ("safely", "pointToPoint"),
    "finishAction": ("goHome", "noAction", "autoLand", "gotoFirstWaypoint"),
    "exitOnRCLost": ("goContinue", "executeLostAction"),
    "executeRCLostAction": ("goBack", "landing", "hover"),
    "coordinateMode": ("WGS84",),
    "heightMode": ("EGM96", "relativeToStartPoint", "aboveGroundLevel", "realTimeFollowSurface"),
    "executeHeightMode": ("WGS84", "relativeToStartPoint", "realTimeFollowSurface"),
    "positioningType": ("GPS", "RTKBaseStation", "QianXun", "Custom"),
    "waypointTurnMode": (
        "coordinateTurn",
        "toPointAndStopWithDiscontinuityCurvature",
        "toPointAndStopWithContinuityCurvature",
        "toPointAndPassWithContinuityCurvature",
    ),
    "waypointHeadingMode": ("followWayline", "manually", "fixed", "smoothTransition", "towardPOI"),
    "waypointHeadingPathMode": ("clockwise", "counterClockwise", "followBadArc"),
    "gimbalPitchMode": ("manual", "usePointSetting", "fixed"),
    "actionGroupMode": ("sequence",),
    "actionTriggerType": (
        "reachPoint",
        "betweenAdjacentPoints",
        "multipleTiming",
        "multipleDistance",
    ),
    "shootType": ("time", "distance"),
}
# template heightMode -> executeHeightMode values that go with it
_EXECUTE_FOR = {
    "relativeToStartPoint": ("relativeToStartPoint",),
    "EGM96": ("WGS84",),
    "aboveGroundLevel": ("WGS84", "realTimeFollowSurface"),
    "realTimeFollowSurface": ("realTimeFollowSurface",),
}
_MAX_SPEED = 23.0  # m/s, the fastest WPML aircraft (M300/M350/M30); others fly slower
_GIMBAL_PITCH = (-120.0, 45.0)  # widest documented gimbal range (M30 series)


class _Checker:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._counts: Counter[str] = Counter()

    def add(self, finding: Finding) -> None:
        self._counts[finding.code] += 1
        if self._counts[finding.code] <= _MAX_PER_CODE:
            self.findings.append(finding)

    def enum(self, name: str, value: str | None, element: str) -> None:
        if value is None:
            return
        allowed = ENUMS[name]
        if value not in allowed:
            self.add(
                warning(
                    "unknown_enum",
                    f"{element}/{name}",
                    name=name,
                    value=value,
                    allowed=", ".join(allowed),
                )
            )

    def range(
        self,
        name: str,
        value: float | None,
        low: float,
        high: float,
        element: str,
        unit: str = "",
        *,
        open_low: bool = False,
    ) -> None:
        if value is None:
            return
        bad = value < low or value > high or (open_low and value <= low)
        if bad:
            bracket = "(" if open_low else "["
            self.add(
                warning(
                    "out_of_range",
                    f"{element}/{name}",
                    name=name,
                    value=_fmt(value),
                    range=f"{bracket}{_fmt(low)}, {_fmt(high)}]",
                    unit=unit,
                )
            )


def _fmt(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def _mission(c: _Checker, mission: MissionConfig, where: str) -> None:
    c.enum("flyToWaylineMode", mission.fly_to_wayline_mode, where)
    c.enum("finishAction", mission.finish_action, where)
    c.enum("exitOnRCLost", mission.exit_on_rc_lost, where)
    c.enum("executeRCLostAction", mission.execute_rc_lost_action, where)
    c.range("takeOffSecurityHeight", mission.take_off_security_height, 1.2, 1500, where, "m")
    c.range(
        "globalTransitionalSpeed",
        mission.global_transitional_speed,
        0,
        15,
        where,
        "m/s",
        open_low=True,
    )
    c.range("globalRTHHeight", mission.global_rth_height, 2, 1500, where, "m")
    if mission.exit_on_rc_lost == "executeLostAction" and not mission.execute_rc_lost_action:
        c.add(
            warning(
                "missing_element",
                f"{where}/executeRCLostAction",
                name="executeRCLostAction",
                why="exitOnRCLost is executeLostAction, so the aircraft needs to know "
                "what to do when the remote control link is lost",
                why_zh="exitOnRCLost 为 executeLostAction，需要指定失控后的动作",
            )
        )
    if mission.take_off_ref_point is not None:
        lat, lon, _h = mission.take_off_ref_point
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            c.add(
                warning(
                    "out_of_range",
                    f"{where}/takeOffRefPoint",
                    name="takeOffRefPoint",
                    value=f"{lat},{lon}",
                    range="latitude ±90, longitude ±180",
                    unit="°",
                )
            )


def _drone(c: _Checker, route: Route) -> None:
    drone = route.mission.drone
    if drone is None or drone.enum_value is None:
        c.add(
            warning(
                "missing_element",
                "waylines.wpml/missionConfig/droneInfo",
                name="droneInfo",
                why="the wayline library cannot tell which aircraft can fly this route",
                why_zh="航线库无法判断哪种飞行器可以执行此航线",
            )
        )
        return
    key = drone.model_key
    if key and model_name(key) is None:
        c.add(warning("unknown_drone_model", "waylines.wpml/missionConfig/droneInfo", key=key))


def _mission_mismatch(c: _Checker, route: Route) -> None:
    tpl = route.template_mission
    if tpl is None or route.mission is tpl:
        return
    wl = route.mission
    pairs = [
        ("droneInfo", tpl.drone, wl.drone),
        ("finishAction", tpl.finish_action, wl.finish_action),
        ("exitOnRCLost", tpl.exit_on_rc_lost, wl.exit_on_rc_lost),
        ("executeRCLostAction", tpl.execute_rc_lost_action, wl.execute_rc_lost_action),
        ("flyToWaylineMode", tpl.fly_to_wayline_mode, wl.fly_to_wayline_mode),
    ]
    for name, a, b in pairs:
        if a is not None and b is not None and a != b:
            c.add(
                warning(
                    "template_wayline_mismatch",
                    f"waylines.wpml/missionConfig/{name}",
                    detail=f"missionConfig {name} is {_show(a)} in template.kml and "
                    f"{_show(b)} in waylines.wpml",
                    detail_zh=f"missionConfig 的 {name} 在 template.kml 中为 {_show(a)}，"
                    f"在 waylines.wpml 中为 {_show(b)}",
                )
            )


def _show(value: object) -> str:
    model_key = getattr(value, "model_key", None)
    return str(model_key) if model_key is not None else str(value)


def _groups(c: _Checker, groups: Iterable[ActionGroup], count: int) -> None:
    for group in groups:
        where = group.path
        c.range("actionGroupId", group.group_id, 0, 65535, where)
        c.enum("actionGroupMode", group.mode, where)
        start, end = group.start_index, group.end_index
        if start is not None and end is not None and (end < start or end >= count or start < 0):
            c.add(
                warning(
                    "action_group_range",
                    where,
                    group=group.group_id,
                    start=start,
                    end=end,
                    count=count,
                )
            )
        trigger = group.trigger.type if group.trigger else None
        if group.trigger is not None:
            c.enum("actionTriggerType", trigger, f"{where}/actionTrigger")
            if trigger in ("multipleTiming", "multipleDistance"):
                param = group.trigger.param
                if param is None or param <= 0:
                    c.add(
                        warning(
                            "out_of_range",
                            f"{where}/actionTrigger/actionTriggerParam",
                            name="actionTriggerParam",
                            value=param,
                            range="(0, ∞)",
                            unit="s" if trigger == "multipleTiming" else "m",
                        )
                    )
        for i, action in enumerate(group.actions):
            _action(c, action.func, action, trigger, f"{where}/action[{i}]")


def _action(c: _Checker, func: str, action: Action, trigger: str | None, where: str) -> None:
    if func not in ACTION_FUNCTIONS:
        c.add(warning("unknown_action", f"{where}/actionActuatorFunc", value=func))
        return
    p = f"{where}/actionActuatorFuncParam"
    c.range("actionId", action.action_id, 0, 65535, where)
    if func == "hover":
        value = action.get_float("hoverTime")
        if value is None or value <= 0:
            c.add(
                warning(
                    "out_of_range",
                    f"{p}/hoverTime",
                    name="hoverTime",
                    value=action.get("hoverTime"),
                    range="(0, ∞)",
                    unit="s",
                )
            )
    elif func == "rotateYaw":
        c.range("aircraftHeading", action.get_float("aircraftHeading"), -180, 180, p, "°")
    elif func in ("gimbalRotate", "gimbalEvenlyRotate", "orientedShoot", "accurateShoot"):
        c.range(
            "gimbalPitchRotateAngle",
            action.get_float("gimbalPitchRotateAngle"),
            *_GIMBAL_PITCH,
            p,
            "°",
        )
        c.range("gimbalYawRotateAngle", action.get_float("gimbalYawRotateAngle"), -180, 180, p, "°")
        if func == "gimbalEvenlyRotate" and trigger not in (None, "betweenAdjacentPoints"):
            c.add(
                warning(
                    "action_trigger_mismatch",
                    where,
                    func=func,
                    needed="betweenAdjacentPoints",
                    found=trigger,
                )
            )
    elif func == "focus":
        for name in ("focusX", "focusY", "focusRegionWidth", "focusRegionHeight"):
            c.range(name, action.get_float(name), 0, 1, p)
    elif func == "zoom":
        value = action.get_float("focalLength")
        if value is not None and value <= 0:
            c.range("focalLength", value, 0, math.inf, p, "mm", open_low=True)
    elif func == "megaphone":
        c.range("megaphoneOperateVolume", action.get_float("megaphoneOperateVolume"), 0, 100, p)
    elif func == "searchlight":
        c.range("searchlightBrightness", action.get_float("searchlightBrightness"), 0, 100, p)
    c.range("payloadPositionIndex", action.get_float("payloadPositionIndex"), 0, 2, p)


def _waypoint_values(c: _Checker, wp: Waypoint) -> None:
    where = wp.path
    c.range("index", wp.index, 0, 65535, where)
    c.range("waypointSpeed", wp.speed, 0, _MAX_SPEED, where, "m/s", open_low=True)
    if wp.heading is not None:
        hp = f"{where}/waypointHeadingParam"
        c.enum("waypointHeadingMode", wp.heading.mode, hp)
        c.enum("waypointHeadingPathMode", wp.heading.path_mode, hp)
        c.range("waypointHeadingAngle", wp.heading.angle, -180, 180, hp, "°")
    if wp.turn is not None:
        tp = f"{where}/waypointTurnParam"
        c.enum("waypointTurnMode", wp.turn.mode, tp)
        c.range("waypointTurnDampingDist", wp.turn.damping_dist, 0, math.inf, tp, "m")
    c.range("gimbalPitchAngle", wp.gimbal_pitch_angle, *_GIMBAL_PITCH, where, "°")


def _positions(c: _Checker, waypoints: Iterable[Waypoint]) -> None:
    for wp in waypoints:
        lat, lon = wp.latitude, wp.longitude
        if lat is None or lon is None:
            continue  # the reader already reported coordinates_missing
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            c.add(
                error(
                    "coordinates_out_of_range",
                    f"{wp.path}/Point/coordinates",
                    latitude=_fmt(lat),
                    longitude=_fmt(lon),
                )
            )
        elif lat == 0 and lon == 0:
            c.add(warning("null_island", f"{wp.path}/Point/coordinates"))


def _on_globe(wp: Waypoint) -> bool:
    return (
        wp.latitude is not None
        and wp.longitude is not None
        and -90 <= wp.latitude <= 90
        and -180 <= wp.longitude <= 180
    )


def _wayline(c: _Checker, wayline: Wayline, route: Route) -> None:
    where = wayline.path
    c.range("templateId", wayline.template_id, 0, 65535, where)
    c.range("waylineId", wayline.wayline_id, 0, 65535, where)
    c.enum("executeHeightMode", wayline.execute_height_mode, where)
    c.range(
        "autoFlightSpeed", wayline.auto_flight_speed, 0, _MAX_SPEED, where, "m/s", open_low=True
    )
    indexes = [wp.index for wp in wayline.waypoints]
    if indexes and indexes != list(range(len(indexes))):
        shown = ", ".join(str(i) for i in indexes[:8]) + (" ..." if len(indexes) > 8 else "")
        c.add(warning("index_sequence", where, found=shown))
    _positions(c, wayline.waypoints)
    for wp in wayline.waypoints:
        _waypoint_values(c, wp)
        _groups(c, wp.action_groups, len(wayline.waypoints))
    for group in wayline.start_action_groups:
        for i, action in enumerate(group.actions):
            _action(c, action.func, action, None, f"{group.path}/action[{i}]")
    _damping(c, wayline.waypoints)
    _height_sanity(c, wayline, route)


def _damping(c: _Checker, waypoints: tuple[Waypoint, ...]) -> None:
    for a, b in itertools.pairwise(waypoints):
        da = a.turn.damping_dist if a.turn and a.turn.damping_dist else 0.0
        db = b.turn.damping_dist if b.turn and b.turn.damping_dist else 0.0
        if da + db <= 0 or not (_on_globe(a) and _on_globe(b)):
            continue
        modes = {a.turn.mode if a.turn else None, b.turn.mode if b.turn else None}
        if not modes & {"coordinateTurn", "toPointAndPassWithContinuityCurvature"}:
            continue  # the distance only matters where the aircraft turns early
        assert a.latitude is not None and a.longitude is not None
        assert b.latitude is not None and b.longitude is not None
        horizontal, _v = segment_length(a.latitude, a.longitude, 0, b.latitude, b.longitude, 0)
        if da + db > horizontal + 0.01:
            c.add(
                warning(
                    "damping_too_long",
                    b.path,
                    a=a.index,
                    b=b.index,
                    sum=_fmt(da + db),
                    length=f"{horizontal:.1f}",
                )
            )


def _heights(wayline: Wayline) -> list[float]:
    return [wp.execute_height for wp in wayline.waypoints if wp.execute_height is not None]


def _height_sanity(c: _Checker, wayline: Wayline, route: Route) -> None:
    heights = _heights(wayline)
    if not heights:
        return
    mode = wayline.execute_height_mode
    where = wayline.path
    if mode == "relativeToStartPoint":
        if min(heights) > 1500:
            c.add(
                warning(
                    "height_mode_suspect",
                    where,
                    detail=f"heights relative to the take-off point are all above 1500 m "
                    f"(lowest {min(heights):.0f} m); they look like altitudes above "
                    "sea level or the ellipsoid",
                    detail_zh=f"相对起飞点高度全部超过 1500 米"
                    f"（最低 {min(heights):.0f} 米），看起来像是海拔或椭球高",
                )
            )
    elif mode == "WGS84":
        ref = route.mission.take_off_ref_point or (
            route.template_mission.take_off_ref_point if route.template_mission else None
        )
        if ref is not None and max(heights) < ref[2] - 100:
            c.add(
                warning(
                    "height_mode_suspect",
                    where,
                    detail=f"ellipsoid heights (highest {max(heights):.0f} m) are far below "
                    f"the take-off point ({ref[2]:.0f} m); they look like heights "
                    "relative to the take-off point",
                    detail_zh=f"椭球高（最高 {max(heights):.0f} 米）远低于起飞点"
                    f"（{ref[2]:.0f} 米），看起来像是相对起飞点高度",
                )
            )


def _template(c: _Checker, template: Template) -> None:
    where = template.path
    if template.template_type is not None and template.type_code is None:
        c.add(
            warning("unknown_template_type", f"{where}/templateType", value=template.template_type)
        )
    elif template.template_type is None:
        c.add(
            warning(
                "missing_element",
                f"{where}/templateType",
                name="templateType",
                why="the wayline library cannot tell the route type",
                why_zh="航线库无法判断航线类型",
            )
        )
    c.range("templateId", template.template_id, 0, 65535, where)
    c.range(
        "autoFlightSpeed", template.auto_flight_speed, 0, _MAX_SPEED, where, "m/s", open_low=True
    )
    cs = template.coordinate_sys
    if cs is not None:
        cp = f"{where}/waylineCoordinateSysParam"
        c.enum("coordinateMode", cs.coordinate_mode, cp)
        c.enum("heightMode", cs.height_mode, cp)
        c.enum("positioningType", cs.positioning_type, cp)
    c.enum("waypointTurnMode", template.global_waypoint_turn_mode, where)
    c.enum("gimbalPitchMode", template.gimbal_pitch_mode, where)
    c.enum("shootType", template.shoot_type, where)
    c.range("direction", template.direction, 0, 360, where, "°")
    if template.overlap is not None:
        for name in (
            "ortho_lidar_h",
            "ortho_lidar_w",
            "ortho_camera_h",
            "ortho_camera_w",
            "inclined_lidar_h",
            "inclined_lidar_w",
            "inclined_camera_h",
            "inclined_camera_w",
        ):
            c.range(name, getattr(template.overlap, name), 0, 100, f"{where}/overlap", "%")
    if template.global_heading is not None:
        gp = f"{where}/globalWaypointHeadingParam"
        c.enum("waypointHeadingMode", template.global_heading.mode, gp)
        c.range("waypointHeadingAngle", template.global_heading.angle, -180, 180, gp, "°")
    for lon, lat, _h in template.polygon + template.line:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            c.add(
                error(
                    "coordinates_out_of_range",
                    f"{where}/Polygon",
                    latitude=_fmt(lat),
                    longitude=_fmt(lon),
                )
            )
            break
    _positions(c, template.waypoints)
    for wp in template.waypoints:
        _waypoint_values(c, wp)
        _groups(c, wp.action_groups, len(template.waypoints))
    _egm96_pairs(c, template)


def _egm96_pairs(c: _Checker, template: Template) -> None:
    """In EGM96 mode, ellipsoidHeight - height must be the geoid height at the point."""
    if not template.coordinate_sys or template.coordinate_sys.height_mode != "EGM96":
        return
    for wp in template.waypoints:
        if wp.height is None or wp.ellipsoid_height is None or not _on_globe(wp):
            continue
        assert wp.latitude is not None and wp.longitude is not None
        n = geoid_height(wp.latitude, wp.longitude)
        if abs(wp.ellipsoid_height - wp.height - n) > 5.0 and abs(n) > 5.0:
            c.add(
                warning(
                    "height_mode_suspect",
                    wp.path,
                    detail=f"ellipsoidHeight {wp.ellipsoid_height:g} m and EGM96 height "
                    f"{wp.height:g} m should differ by the geoid height here "
                    f"({n:.1f} m)",
                    detail_zh=f"椭球高 {wp.ellipsoid_height:g} 米与 EGM96 高度 "
                    f"{wp.height:g} 米之差应等于此处的大地水准面高度"
                    f"（{n:.1f} 米）",
                )
            )
            return


def _cross(c: _Checker, route: Route) -> None:
    if not route.templates:
        return
    by_id = {t.template_id: t for t in route.templates}
    used = {w.template_id for w in route.waylines}
    for wayline in route.waylines:
        template = by_id.get(wayline.template_id)
        if template is None:
            c.add(
                warning(
                    "template_wayline_mismatch",
                    f"{wayline.path}/templateId",
                    detail=f"wayline {wayline.wayline_id} refers to template "
                    f"{wayline.template_id}, which template.kml does not have",
                    detail_zh=f"航线 {wayline.wayline_id} 引用的模板 "
                    f"{wayline.template_id} 在 template.kml 中不存在",
                )
            )
            continue
        mode = template.coordinate_sys.height_mode if template.coordinate_sys else None
        allowed = _EXECUTE_FOR.get(mode or "")
        if allowed and wayline.execute_height_mode and wayline.execute_height_mode not in allowed:
            c.add(
                warning(
                    "template_wayline_mismatch",
                    f"{wayline.path}/executeHeightMode",
                    detail=f"template height mode {mode} does not go with execute height "
                    f"mode {wayline.execute_height_mode}",
                    detail_zh=f"模板高度模式 {mode} 与执行高度模式 "
                    f"{wayline.execute_height_mode} 不匹配",
                )
            )
        if template.template_type == "waypoint":
            _cross_waypoints(c, template, wayline)
    for template in route.templates:
        if template.template_id not in used and route.waylines:
            c.add(
                warning(
                    "template_wayline_mismatch",
                    template.path,
                    detail=f"template {template.template_id} has no wayline in waylines.wpml",
                    detail_zh=f"模板 {template.template_id} 在 waylines.wpml 中没有对应航线",
                )
            )


def _cross_waypoints(c: _Checker, template: Template, wayline: Wayline) -> None:
    if len(template.waypoints) != len(wayline.waypoints):
        c.add(
            warning(
                "template_wayline_mismatch",
                wayline.path,
                detail=f"the template has {len(template.waypoints)} waypoints and the "
                f"wayline {len(wayline.waypoints)}",
                detail_zh=f"模板有 {len(template.waypoints)} 个航点，"
                f"航线有 {len(wayline.waypoints)} 个",
            )
        )
        return
    for t_wp, w_wp in zip(template.waypoints, wayline.waypoints, strict=True):
        if not (_on_globe(t_wp) and _on_globe(w_wp)):
            continue
        assert t_wp.latitude is not None and t_wp.longitude is not None
        assert w_wp.latitude is not None and w_wp.longitude is not None
        horizontal, _v = segment_length(
            t_wp.latitude, t_wp.longitude, 0, w_wp.latitude, w_wp.longitude, 0
        )
        if horizontal > 1.0:
            c.add(
                warning(
                    "template_wayline_mismatch",
                    w_wp.path,
                    detail=f"waypoint {w_wp.index} is {horizontal:.1f} m away from the "
                    "template's waypoint",
                    detail_zh=f"航点 {w_wp.index} 与模板中的航点相距 {horizontal:.1f} 米",
                )
            )
            return


def _resource_refs(c: _Checker, route: Route) -> None:
    """Action parameters naming a file under wpmz/res/ (megaphone audio...) need that file."""
    if route.size is None:
        return  # read from loose XML parts: the archive's resources are not known
    present = {r.path.lower() for r in route.resources}
    for wayline in route.waylines:
        for wp in wayline.waypoints:
            for group in wp.action_groups:
                for i, action in enumerate(group.actions):
                    for name, value in action.params:
                        at = value.lower().find("wpmz/res/")
                        if at < 0 or "<" in value:
                            continue
                        path = value[at:].strip()
                        if path.lower() not in present:
                            c.add(
                                warning(
                                    "resource_missing",
                                    f"{group.path}/action[{i}]/actionActuatorFuncParam/{name}",
                                    path=path,
                                )
                            )


def validate(route: Route) -> list[Finding]:
    """All errors and warnings about a route: the reader's findings plus these checks.

    Returns:
        Findings, errors first; empty when the file is clean. Never raises for a route
        that `read_kmz` produced.
    """
    c = _Checker()
    for finding in route.findings:
        c.add(finding)
    if not any(w.waypoints for w in route.waylines):
        c.add(error("no_waypoints", "waylines.wpml"))
    _mission(c, route.mission, "waylines.wpml/missionConfig")
    _drone(c, route)
    _mission_mismatch(c, route)
    for template in route.templates:
        _template(c, template)
    for wayline in route.waylines:
        _wayline(c, wayline, route)
    _cross(c, route)
    _resource_refs(c, route)
    return sorted(c.findings, key=lambda f: not f.is_error)
