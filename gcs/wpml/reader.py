"""Read a KMZ wayline file into a `Route`.

Theory of operation: `open_kmz` takes the archive apart safely, `parse_xml` parses each XML part
with a hardened parser, and the functions below walk the two documents by local element names.
Each walker knows the elements its parent may hold; anything else is kept as an `Extra` and
reported once per element name and file (`unknown_element`). A value that cannot be read (a
speed of "fast") becomes None with a `bad_value` warning. Only an unusable file raises.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable, Container
from pathlib import Path

from gcs.wpml.archive import Limits, open_kmz
from gcs.wpml.errors import Finding, KmzError, error, warning
from gcs.wpml.model import (
    Action,
    ActionGroup,
    ActionTrigger,
    CoordinateSysParam,
    DroneInfo,
    Extra,
    HeadingParam,
    MissionConfig,
    Overlap,
    PayloadInfo,
    PayloadParam,
    Resource,
    Route,
    Template,
    TurnParam,
    Wayline,
    Waypoint,
)
from gcs.wpml.xml import child, child_text, children, local_name, parse_xml

__all__ = ["read_kmz", "read_parts"]

# KML elements that may appear anywhere and carry nothing for us.
_KML_COMMON = frozenset(
    {
        "name",
        "description",
        "open",
        "visibility",
        "Style",
        "StyleMap",
        "styleUrl",
        "Snippet",
        "ExtendedData",
        "LookAt",
        "Camera",
        "TimeStamp",
        "TimeSpan",
        "Region",
        "address",
        "phoneNumber",
        "atom:author",
    }
)

_MISSION_KNOWN = frozenset(
    {
        "flyToWaylineMode",
        "finishAction",
        "exitOnRCLost",
        "executeRCLostAction",
        "takeOffSecurityHeight",
        "globalTransitionalSpeed",
        "globalRTHHeight",
        "takeOffRefPoint",
        "takeOffRefPointAGLHeight",
        "droneInfo",
        "payloadInfo",
        "autoRerouteInfo",
        "waylineAvoidLimitAreaMode",
    }
)
_MAPPING_SCALARS = (
    "caliFlightEnable",
    "elevationOptimizeEnable",
    "smartObliqueEnable",
    "smartObliqueGimbalPitch",
    "facadeWaylineEnable",
    "gimbalPitchAngle",
    "inclinedGimbalPitch",
    "inclinedFlightSpeed",
    "singleLineEnable",
    "cuttingDistance",
    "boundaryOptimEnable",
    "leftExtend",
    "rightExtend",
    "includeCenterEnable",
    "stripUseTemplateAltitude",
    "quickOrthoMappingEnable",
    "quickOrthoMappingPitch",
    "realTimeFollowSurfaceByFov",
)
_MAPPING_KNOWN = frozenset(
    {
        *_MAPPING_SCALARS,
        "shootType",
        "direction",
        "margin",
        "overlap",
        "ellipsoidHeight",
        "height",
        "mappingHeadingParam",
        "gimbalPitchMode",
        "Polygon",
        "LineString",
        "Point",
        "index",
    }
)
_TEMPLATE_KNOWN = frozenset(
    {
        "templateType",
        "templateId",
        "waylineCoordinateSysParam",
        "autoFlightSpeed",
        "payloadParam",
        "globalHeight",
        "globalWaypointTurnMode",
        "globalUseStraightLine",
        "gimbalPitchMode",
        "globalWaypointHeadingParam",
        "Placemark",
        *_MAPPING_KNOWN,
    }
)
_PLACEMARK_KNOWN = frozenset(
    {
        "Point",
        "index",
        "ellipsoidHeight",
        "height",
        "executeHeight",
        "useGlobalHeight",
        "useGlobalSpeed",
        "waypointSpeed",
        "useGlobalHeadingParam",
        "waypointHeadingParam",
        "useGlobalTurnParam",
        "waypointTurnParam",
        "useStraightLine",
        "gimbalPitchAngle",
        "waypointGimbalHeadingParam",
        "actionGroup",
        "isRisky",
        "waypointWorkType",
        "quickOrthoMappingEnable",
        "quickOrthoMappingPitch",
    }
)
_WAYLINE_KNOWN = frozenset(
    {
        "templateId",
        "waylineId",
        "executeHeightMode",
        "autoFlightSpeed",
        "distance",
        "duration",
        "startActionGroup",
        "Placemark",
        "waylineCoordinateSysParam",
        "realTimeFollowSurfaceByFov",
    }
)
_DOCUMENT_KNOWN = frozenset({"author", "createTime", "updateTime", "missionConfig", "Folder"})


class _Walker:
    """Reads one XML part, collecting findings; `part` names it in element paths."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.findings: list[Finding] = []
        self._reported: set[str] = set()

    # -- findings
    def unknown(self, element: ET.Element, path: str) -> Extra:
        name = local_name(element.tag) or "?"
        if name not in self._reported:
            self._reported.add(name)
            self.findings.append(warning("unknown_element", path, name=name))
        return Extra(path, ET.tostring(element, encoding="unicode"))

    def extras(self, parent: ET.Element, path: str, known: Container[str]) -> tuple[Extra, ...]:
        out = []
        for c in parent:
            name = local_name(c.tag)
            if not name or name in known or name in _KML_COMMON:
                continue
            out.append(self.unknown(c, f"{path}/{name}"))
        return tuple(out)

    def bad(self, path: str, name: str, value: str, kind: str, kind_zh: str) -> None:
        self.findings.append(
            warning(
                "bad_value", f"{path}/{name}", name=name, value=value, kind=kind, kind_zh=kind_zh
            )
        )

    # -- typed values
    def text(self, el: ET.Element, name: str) -> str | None:
        value = child_text(el, name)
        return value if value else None

    def num(self, el: ET.Element, name: str, path: str) -> float | None:
        value = child_text(el, name)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            self.bad(path, name, value, "number", "数值")
            return None
        return number

    def integer(self, el: ET.Element, name: str, path: str) -> int | None:
        number = self.num(el, name, path)
        if number is None:
            return None
        if number != int(number):
            self.bad(path, name, child_text(el, name) or "", "whole number", "整数")
            return None
        return int(number)

    def flag(self, el: ET.Element, name: str, path: str) -> bool | None:
        value = child_text(el, name)
        if not value:
            return None
        low = value.lower()
        if low in ("1", "true"):
            return True
        if low in ("0", "false"):
            return False
        self.bad(path, name, value, "switch (0 or 1)", "开关值（0 或 1）")
        return None

    def triple(self, el: ET.Element, name: str, path: str) -> tuple[float, float, float] | None:
        value = child_text(el, name)
        if not value:
            return None
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) not in (2, 3) or not all(math.isfinite(n) for n in numbers):
            self.bad(path, name, value, "point (a,b,c)", "坐标点（a,b,c）")
            return None
        if len(numbers) == 2:
            numbers.append(0.0)
        return numbers[0], numbers[1], numbers[2]


def _coordinates(text: str | None) -> list[tuple[float, float, float]] | None:
    """KML coordinates "lon,lat[,h] lon,lat[,h] ..." -> tuples; None if unreadable."""
    if text is None:
        return None
    out = []
    for token in text.split():
        parts = token.split(",")
        if len(parts) not in (2, 3):
            return None
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            return None
        out.append((numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else math.nan))
    return out or None


# ---------------------------------------------------------------- shared structures


def _mission(w: _Walker, el: ET.Element | None, path: str) -> MissionConfig | None:
    if el is None:
        return None
    drone_el = child(el, "droneInfo")
    drone = None
    if drone_el is not None:
        p = f"{path}/droneInfo"
        drone = DroneInfo(
            w.integer(drone_el, "droneEnumValue", p), w.integer(drone_el, "droneSubEnumValue", p)
        )
        w.extras(drone_el, p, ("droneEnumValue", "droneSubEnumValue"))
    payloads = []
    for i, pel in enumerate(children(el, "payloadInfo")):
        p = f"{path}/payloadInfo[{i}]"
        payloads.append(
            PayloadInfo(
                w.integer(pel, "payloadEnumValue", p),
                w.integer(pel, "payloadSubEnumValue", p),
                w.integer(pel, "payloadPositionIndex", p),
            )
        )
        w.extras(pel, p, ("payloadEnumValue", "payloadSubEnumValue", "payloadPositionIndex"))
    reroute = child(el, "autoRerouteInfo")
    mission_mode = transitional_mode = None
    if reroute is not None:
        p = f"{path}/autoRerouteInfo"
        mission_mode = w.integer(reroute, "missionAutoRerouteMode", p)
        transitional_mode = w.integer(reroute, "transitionalAutoRerouteMode", p)
        w.extras(reroute, p, ("missionAutoRerouteMode", "transitionalAutoRerouteMode"))
    return MissionConfig(
        fly_to_wayline_mode=w.text(el, "flyToWaylineMode"),
        finish_action=w.text(el, "finishAction"),
        exit_on_rc_lost=w.text(el, "exitOnRCLost"),
        execute_rc_lost_action=w.text(el, "executeRCLostAction"),
        take_off_security_height=w.num(el, "takeOffSecurityHeight", path),
        global_transitional_speed=w.num(el, "globalTransitionalSpeed", path),
        global_rth_height=w.num(el, "globalRTHHeight", path),
        take_off_ref_point=w.triple(el, "takeOffRefPoint", path),
        take_off_ref_point_agl_height=w.num(el, "takeOffRefPointAGLHeight", path),
        drone=drone,
        payloads=tuple(payloads),
        mission_auto_reroute_mode=mission_mode,
        transitional_auto_reroute_mode=transitional_mode,
        wayline_avoid_limit_area_mode=w.integer(el, "waylineAvoidLimitAreaMode", path),
        extras=w.extras(el, path, _MISSION_KNOWN),
    )


def _heading(w: _Walker, el: ET.Element | None, path: str) -> HeadingParam | None:
    if el is None:
        return None
    known = (
        "waypointHeadingMode",
        "waypointHeadingAngle",
        "waypointPoiPoint",
        "waypointHeadingPathMode",
        "waypointHeadingAngleEnable",
        "waypointHeadingPoiIndex",
    )
    w.extras(el, path, known)
    return HeadingParam(
        mode=w.text(el, "waypointHeadingMode"),
        angle=w.num(el, "waypointHeadingAngle", path),
        poi_point=w.triple(el, "waypointPoiPoint", path),
        path_mode=w.text(el, "waypointHeadingPathMode"),
        angle_enable=w.flag(el, "waypointHeadingAngleEnable", path),
        poi_index=w.integer(el, "waypointHeadingPoiIndex", path),
    )


def _turn(w: _Walker, el: ET.Element | None, path: str) -> TurnParam | None:
    if el is None:
        return None
    w.extras(el, path, ("waypointTurnMode", "waypointTurnDampingDist"))
    return TurnParam(w.text(el, "waypointTurnMode"), w.num(el, "waypointTurnDampingDist", path))


def _action(w: _Walker, el: ET.Element, path: str) -> Action:
    params: list[tuple[str, str]] = []
    param_el = child(el, "actionActuatorFuncParam")
    if param_el is not None:
        for c in param_el:
            name = local_name(c.tag)
            if not name:
                continue
            if len(c):
                value = "".join(ET.tostring(g, encoding="unicode") for g in c)
            else:
                value = (c.text or "").strip()
            params.append((name, value))
    w.extras(el, path, ("actionId", "actionActuatorFunc", "actionActuatorFuncParam"))
    return Action(
        func=w.text(el, "actionActuatorFunc") or "",
        params=tuple(params),
        action_id=w.integer(el, "actionId", path),
    )


def _action_group(w: _Walker, el: ET.Element, path: str) -> ActionGroup:
    trigger_el = child(el, "actionTrigger")
    trigger = None
    if trigger_el is not None:
        p = f"{path}/actionTrigger"
        trigger = ActionTrigger(
            w.text(trigger_el, "actionTriggerType"), w.num(trigger_el, "actionTriggerParam", p)
        )
        w.extras(trigger_el, p, ("actionTriggerType", "actionTriggerParam"))
    actions = tuple(
        _action(w, a, f"{path}/action[{i}]") for i, a in enumerate(children(el, "action"))
    )
    w.extras(
        el,
        path,
        (
            "actionGroupId",
            "actionGroupStartIndex",
            "actionGroupEndIndex",
            "actionGroupMode",
            "actionTrigger",
            "action",
        ),
    )
    return ActionGroup(
        group_id=w.integer(el, "actionGroupId", path),
        start_index=w.integer(el, "actionGroupStartIndex", path),
        end_index=w.integer(el, "actionGroupEndIndex", path),
        mode=w.text(el, "actionGroupMode"),
        trigger=trigger,
        actions=actions,
        path=path,
    )


def _waypoint(w: _Walker, el: ET.Element, path: str) -> Waypoint:
    point = child(el, "Point")
    lon = lat = None
    if point is not None:
        raw = child_text(point, "coordinates")
        coords = _coordinates(raw)
        if coords is None or len(coords) != 1:
            w.findings.append(error("coordinates_missing", f"{path}/Point", text=raw or ""))
        else:
            lon, lat = coords[0][0], coords[0][1]
    else:
        w.findings.append(error("coordinates_missing", path, text=""))
    gimbal = child(el, "waypointGimbalHeadingParam")
    pitch = w.num(el, "gimbalPitchAngle", path)
    yaw = None
    if gimbal is not None:
        p = f"{path}/waypointGimbalHeadingParam"
        if pitch is None:
            pitch = w.num(gimbal, "waypointGimbalPitchAngle", p)
        yaw = w.num(gimbal, "waypointGimbalYawAngle", p)
        w.extras(gimbal, p, ("waypointGimbalPitchAngle", "waypointGimbalYawAngle"))
    groups = tuple(
        _action_group(w, g, f"{path}/actionGroup[{i}]")
        for i, g in enumerate(children(el, "actionGroup"))
    )
    return Waypoint(
        longitude=lon,
        latitude=lat,
        index=w.integer(el, "index", path),
        height=w.num(el, "height", path),
        ellipsoid_height=w.num(el, "ellipsoidHeight", path),
        execute_height=w.num(el, "executeHeight", path),
        speed=w.num(el, "waypointSpeed", path),
        use_global_height=w.flag(el, "useGlobalHeight", path),
        use_global_speed=w.flag(el, "useGlobalSpeed", path),
        use_global_heading_param=w.flag(el, "useGlobalHeadingParam", path),
        use_global_turn_param=w.flag(el, "useGlobalTurnParam", path),
        heading=_heading(w, child(el, "waypointHeadingParam"), f"{path}/waypointHeadingParam"),
        turn=_turn(w, child(el, "waypointTurnParam"), f"{path}/waypointTurnParam"),
        use_straight_line=w.flag(el, "useStraightLine", path),
        gimbal_pitch_angle=pitch,
        gimbal_yaw_angle=yaw,
        is_risky=w.flag(el, "isRisky", path),
        work_type=w.integer(el, "waypointWorkType", path),
        action_groups=groups,
        extras=w.extras(el, path, _PLACEMARK_KNOWN),
        path=path,
    )


# ---------------------------------------------------------------- template.kml


def _payload_param(w: _Walker, el: ET.Element, path: str) -> PayloadParam:
    known = (
        "payloadPositionIndex",
        "imageFormat",
        "focusMode",
        "meteringMode",
        "dewarpingEnable",
        "returnMode",
        "samplingRate",
        "scanningMode",
        "modelColoringEnable",
    )
    return PayloadParam(
        position_index=w.integer(el, "payloadPositionIndex", path),
        image_format=w.text(el, "imageFormat"),
        focus_mode=w.text(el, "focusMode"),
        metering_mode=w.text(el, "meteringMode"),
        dewarping_enable=w.flag(el, "dewarpingEnable", path),
        return_mode=w.text(el, "returnMode"),
        sampling_rate=w.integer(el, "samplingRate", path),
        scanning_mode=w.text(el, "scanningMode"),
        model_coloring_enable=w.flag(el, "modelColoringEnable", path),
        extras=w.extras(el, path, known),
    )


def _overlap(w: _Walker, el: ET.Element | None, path: str) -> Overlap | None:
    if el is None:
        return None
    names = (
        "orthoLidarOverlapH",
        "orthoLidarOverlapW",
        "orthoCameraOverlapH",
        "orthoCameraOverlapW",
        "inclinedLidarOverlapH",
        "inclinedLidarOverlapW",
        "inclinedCameraOverlapH",
        "inclinedCameraOverlapW",
    )
    w.extras(el, path, names)
    values = [w.integer(el, n, path) for n in names]
    return Overlap(*values)


def _geometry(
    w: _Walker, sources: list[tuple[ET.Element, str]], name: str
) -> tuple[tuple[float, float, float], ...]:
    for el, path in sources:
        geo = child(el, name)
        if geo is None:
            continue
        if name == "Polygon":
            ring = None
            outer = child(geo, "outerBoundaryIs")
            if outer is not None:
                ring = child(outer, "LinearRing")
            text = child_text(ring, "coordinates") if ring is not None else None
        else:
            text = child_text(geo, "coordinates")
        coords = _coordinates(text)
        if coords is None:
            w.findings.append(error("coordinates_missing", f"{path}/{name}", text=text or ""))
            return ()
        return tuple(coords)
    return ()


def _template(w: _Walker, el: ET.Element, path: str) -> Template:
    template_type = w.text(el, "templateType")
    placemarks = list(enumerate(children(el, "Placemark")))
    waypoint_els = [(i, p) for i, p in placemarks if child(p, "Point") is not None]
    # Mapping parameters live on the Folder or on the Placemark holding the Polygon/LineString.
    sources = [(el, path)] + [
        (p, f"{path}/Placemark[{i}]") for i, p in placemarks if child(p, "Point") is None
    ]

    def first(getter: Callable[[ET.Element, str], object]) -> object:
        for src, p in sources:
            value = getter(src, p)
            if value is not None:
                return value
        return None

    mapping_params = []
    for name in _MAPPING_SCALARS:
        for src, _p in sources:
            value = child_text(src, name)
            if value:
                mapping_params.append((name, value))
                break
    heading_mode = heading_angle = None
    for src, p in sources:
        mh = child(src, "mappingHeadingParam")
        if mh is not None:
            heading_mode = w.text(mh, "mappingHeadingMode")
            heading_angle = w.num(mh, "mappingHeadingAngle", f"{p}/mappingHeadingParam")
            w.extras(mh, f"{p}/mappingHeadingParam", ("mappingHeadingMode", "mappingHeadingAngle"))
            break
    overlap_src = next(
        ((child(s, "overlap"), p) for s, p in sources if child(s, "overlap") is not None),
        (None, path),
    )
    coord_el = child(el, "waylineCoordinateSysParam")
    coordinate_sys = None
    if coord_el is not None:
        p = f"{path}/waylineCoordinateSysParam"
        coordinate_sys = CoordinateSysParam(
            coordinate_mode=w.text(coord_el, "coordinateMode"),
            height_mode=w.text(coord_el, "heightMode"),
            positioning_type=w.text(coord_el, "positioningType"),
            global_shoot_height=w.num(coord_el, "globalShootHeight", p),
            surface_follow_mode_enable=w.flag(coord_el, "surfaceFollowModeEnable", p),
            surface_relative_height=w.num(coord_el, "surfaceRelativeHeight", p),
        )
        w.extras(
            coord_el,
            p,
            (
                "coordinateMode",
                "heightMode",
                "positioningType",
                "globalShootHeight",
                "surfaceFollowModeEnable",
                "surfaceRelativeHeight",
            ),
        )
    for shape, p in sources[1:]:
        w.extras(shape, p, _MAPPING_KNOWN)
    waypoints = tuple(_waypoint(w, p, f"{path}/Placemark[{i}]") for i, p in waypoint_els)
    shoot_type = first(lambda s, p: w.text(s, "shootType"))
    return Template(
        template_type=template_type,
        template_id=w.integer(el, "templateId", path),
        coordinate_sys=coordinate_sys,
        auto_flight_speed=w.num(el, "autoFlightSpeed", path),
        payload_params=tuple(
            _payload_param(w, p, f"{path}/payloadParam[{i}]")
            for i, p in enumerate(children(el, "payloadParam"))
        ),
        global_height=w.num(el, "globalHeight", path),
        global_waypoint_turn_mode=w.text(el, "globalWaypointTurnMode"),
        global_use_straight_line=w.flag(el, "globalUseStraightLine", path),
        gimbal_pitch_mode=w.text(el, "gimbalPitchMode"),
        global_heading=_heading(
            w, child(el, "globalWaypointHeadingParam"), f"{path}/globalWaypointHeadingParam"
        ),
        waypoints=waypoints,
        polygon=_geometry(w, sources, "Polygon"),
        line=_geometry(w, sources, "LineString"),
        shoot_type=shoot_type if isinstance(shoot_type, str) else None,
        direction=_as_float(first(lambda s, p: w.num(s, "direction", p))),
        margin=_as_float(first(lambda s, p: w.num(s, "margin", p))),
        overlap=_overlap(w, overlap_src[0], f"{overlap_src[1]}/overlap"),
        ellipsoid_height=_as_float(first(lambda s, p: w.num(s, "ellipsoidHeight", p))),
        height=_as_float(first(lambda s, p: w.num(s, "height", p))),
        mapping_heading_mode=heading_mode,
        mapping_heading_angle=heading_angle,
        mapping_params=tuple(mapping_params),
        extras=w.extras(el, path, _TEMPLATE_KNOWN),
        path=path,
    )


def _as_float(value: object) -> float | None:
    return value if isinstance(value, float) else None


# ---------------------------------------------------------------- waylines.wpml


def _wayline(w: _Walker, el: ET.Element, path: str) -> Wayline:
    start_groups = []
    for i, sg in enumerate(children(el, "startActionGroup")):
        p = f"{path}/startActionGroup[{i}]"
        actions = tuple(
            _action(w, a, f"{p}/action[{j}]") for j, a in enumerate(children(sg, "action"))
        )
        w.extras(sg, p, ("action",))
        start_groups.append(ActionGroup(actions=actions, path=p))
    placemarks = children(el, "Placemark")
    return Wayline(
        template_id=w.integer(el, "templateId", path),
        wayline_id=w.integer(el, "waylineId", path),
        execute_height_mode=w.text(el, "executeHeightMode"),
        auto_flight_speed=w.num(el, "autoFlightSpeed", path),
        distance=w.num(el, "distance", path),
        duration=w.num(el, "duration", path),
        start_action_groups=tuple(start_groups),
        waypoints=tuple(
            _waypoint(w, p, f"{path}/Placemark[{i}]") for i, p in enumerate(placemarks)
        ),
        extras=w.extras(el, path, _WAYLINE_KNOWN),
        path=path,
    )


def _document(root: ET.Element, part: str) -> ET.Element:
    doc = child(root, "Document")
    if doc is None:
        raise KmzError("no_document", part, part=part)
    return doc


def _folders(doc: ET.Element) -> list[ET.Element]:
    """Folders of the Document; some tools nest one level deeper."""
    folders = children(doc, "Folder")
    if len(folders) == 1 and not children(folders[0], "Placemark"):
        inner = children(folders[0], "Folder")
        if inner:
            return inner
    return folders


def read_parts(
    waylines: bytes,
    template: bytes | None = None,
    *,
    name: str = "",
    limits: Limits | None = None,
) -> Route:
    """Build a Route from the two XML parts (already out of the ZIP).

    Returns:
        The Route; reader findings (unknown elements, bad values) are in `route.findings`.

    Raises:
        KmzError: a part is not well-formed, hostile, too large, or not KML.
    """
    limits = limits or Limits()
    findings: list[Finding] = []
    parsed_wl = parse_xml(waylines, "waylines.wpml", limits)
    findings.extend(parsed_wl.findings)
    wl_doc = _document(parsed_wl.root, "waylines.wpml")
    ww = _Walker("waylines.wpml")
    wl_mission = _mission(ww, child(wl_doc, "missionConfig"), "waylines.wpml/missionConfig")
    wayline_list = tuple(
        _wayline(ww, f, f"waylines.wpml/Folder[{i}]") for i, f in enumerate(_folders(wl_doc))
    )
    doc_extras = list(ww.extras(wl_doc, "waylines.wpml", _DOCUMENT_KNOWN))
    findings.extend(ww.findings)

    namespaces = list(parsed_wl.wpml_namespaces)
    templates: tuple[Template, ...] = ()
    tpl_mission = None
    author = None
    create_time = update_time = None
    if template is not None:
        parsed_t = parse_xml(template, "template.kml", limits)
        findings.extend(parsed_t.findings)
        namespaces += [n for n in parsed_t.wpml_namespaces if n not in namespaces]
        t_doc = _document(parsed_t.root, "template.kml")
        tw = _Walker("template.kml")
        tpl_mission = _mission(tw, child(t_doc, "missionConfig"), "template.kml/missionConfig")
        templates = tuple(
            _template(tw, f, f"template.kml/Folder[{i}]") for i, f in enumerate(_folders(t_doc))
        )
        author = tw.text(t_doc, "author")
        create_time = tw.integer(t_doc, "createTime", "template.kml")
        update_time = tw.integer(t_doc, "updateTime", "template.kml")
        doc_extras += tw.extras(t_doc, "template.kml", _DOCUMENT_KNOWN)
        findings.extend(tw.findings)
    mission = wl_mission or tpl_mission
    if mission is None:
        findings.append(
            warning(
                "missing_element",
                "waylines.wpml/missionConfig",
                name="wpml:missionConfig",
                why="the route has no mission settings",
                why_zh="航线没有任务设置",
            )
        )
        mission = MissionConfig()
    return Route(
        name=name,
        mission=mission,
        waylines=wayline_list,
        templates=templates,
        template_mission=tpl_mission,
        author=author,
        create_time=create_time,
        update_time=update_time,
        wpml_namespaces=tuple(namespaces),
        has_template=template is not None,
        document_extras=tuple(doc_extras),
        findings=tuple(findings),
    )


def read_kmz(
    data: bytes | Path | str, *, name: str | None = None, limits: Limits | None = None
) -> Route:
    """Read a KMZ wayline file from bytes or a path.

    Args:
        data: the file's bytes, or its path as a Path or str (read here, after checking
            its size).
        name: the wayline name; defaults to the file name without `.kmz` for a path, else "".
        limits: size limits (the station passes its settings); defaults to `Limits()`.

    Returns:
        The Route, with `fingerprint` (MD5 hex of the whole file), `size` and the reader's
        findings. Run `validate(route)` for the full list of errors and warnings.

    Raises:
        KmzError: the file is unusable (empty, too large, not a ZIP, no waylines.wpml, broken
            or hostile XML). Nothing is left open after the error.
        OSError: a path that cannot be read.
    """
    limits = limits or Limits()
    if isinstance(data, str):
        data = Path(data)
    if isinstance(data, Path):
        if name is None:
            name = data.name[:-4] if data.name.lower().endswith(".kmz") else data.stem
        info = data.stat()
        if not stat.S_ISREG(info.st_mode):
            raise KmzError("not_zip", str(data), reason="not a regular file")
        if info.st_size > limits.max_file_bytes:
            raise KmzError(
                "file_too_large", str(data), size=info.st_size, limit=limits.max_file_bytes
            )
        with data.open("rb") as stream:  # bounded: the file may grow while we read
            data = stream.read(limits.max_file_bytes + 1)
        if len(data) > limits.max_file_bytes:
            raise KmzError("file_too_large", name, size=len(data), limit=limits.max_file_bytes)
    if not isinstance(data, bytes):
        data = bytes(data)  # bytearray, memoryview
    archive = open_kmz(data, limits)
    route = read_parts(archive.waylines, archive.template, name=name or "", limits=limits)
    resources = tuple(Resource(r.path, r.size, r.data) for r in archive.resources)
    fingerprint = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return dataclasses.replace(
        route,
        resources=resources,
        fingerprint=fingerprint,
        size=len(data),
        findings=archive.findings + route.findings,
    )
