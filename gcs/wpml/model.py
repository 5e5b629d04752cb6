"""The route model: what a KMZ wayline file says, as frozen dataclasses.

One `Route` holds both halves of a KMZ: the editable templates of `template.kml` and the
executable waylines of `waylines.wpml`. Values keep DJI's wire names as strings (so a value we do
not know is kept and reported, never lost); numbers are floats/ints, or None when absent or
unreadable. Elements the reader does not know are kept as `Extra(path, xml)`.

`WaypointPlan` is the input of the writer: a plain waypoint route as a route editor holds it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from gcs.wpml.errors import Finding

__all__ = [
    "ACTION_FUNCTIONS",
    "TEMPLATE_TYPE_CODES",
    "Action",
    "ActionGroup",
    "ActionTrigger",
    "CoordinateSysParam",
    "DroneInfo",
    "Extra",
    "HeadingParam",
    "HeightMode",
    "MissionConfig",
    "Overlap",
    "PayloadInfo",
    "PayloadParam",
    "PlanActionGroup",
    "PlanWaypoint",
    "Resource",
    "Route",
    "Template",
    "TemplateType",
    "TurnMode",
    "TurnParam",
    "Wayline",
    "Waypoint",
    "WaypointPlan",
]


class TemplateType(enum.StrEnum):
    WAYPOINT = "waypoint"
    MAPPING2D = "mapping2d"
    MAPPING3D = "mapping3d"
    MAPPING_STRIP = "mappingStrip"


# DJI's ints for template types (Pilot wayline API `template_types`).
TEMPLATE_TYPE_CODES: dict[str, int] = {
    "waypoint": 0,
    "mapping2d": 1,
    "mapping3d": 2,
    "mappingStrip": 3,
}


class HeightMode(enum.StrEnum):
    """Template height modes (`heightMode`) and execution height modes (`executeHeightMode`)."""

    EGM96 = "EGM96"
    RELATIVE_TO_START_POINT = "relativeToStartPoint"
    ABOVE_GROUND_LEVEL = "aboveGroundLevel"
    REAL_TIME_FOLLOW_SURFACE = "realTimeFollowSurface"
    WGS84 = "WGS84"  # execution only: ellipsoid heights


class TurnMode(enum.StrEnum):
    COORDINATE_TURN = "coordinateTurn"
    STOP_DISCONTINUOUS = "toPointAndStopWithDiscontinuityCurvature"
    STOP_CONTINUOUS = "toPointAndStopWithContinuityCurvature"
    PASS_CONTINUOUS = "toPointAndPassWithContinuityCurvature"


ACTION_FUNCTIONS: frozenset[str] = frozenset(
    {
        "takePhoto",
        "startRecord",
        "stopRecord",
        "focus",
        "zoom",
        "customDirName",
        "gimbalRotate",
        "gimbalEvenlyRotate",
        "rotateYaw",
        "hover",
        "accurateShoot",
        "orientedShoot",
        "panoShot",
        "recordPointCloud",
        "megaphone",
        "searchlight",
    }
)


@dataclass(frozen=True, slots=True)
class Extra:
    """An element the reader does not know, kept as XML text with where it was."""

    path: str
    xml: str


@dataclass(frozen=True, slots=True)
class DroneInfo:
    enum_value: int | None
    sub_enum_value: int | None

    @property
    def model_key(self) -> str | None:
        """`0-{type}-{sub_type}` as the Cloud API writes aircraft model keys."""
        if self.enum_value is None:
            return None
        return f"0-{self.enum_value}-{self.sub_enum_value or 0}"


@dataclass(frozen=True, slots=True)
class PayloadInfo:
    enum_value: int | None
    sub_enum_value: int | None
    position_index: int | None

    @property
    def model_key(self) -> str | None:
        """`1-{type}-{sub_type}` (the Demo's payload model key; sub_type defaults to 0)."""
        if self.enum_value is None:
            return None
        return f"1-{self.enum_value}-{self.sub_enum_value or 0}"


@dataclass(frozen=True, slots=True)
class MissionConfig:
    fly_to_wayline_mode: str | None = None
    finish_action: str | None = None
    exit_on_rc_lost: str | None = None
    execute_rc_lost_action: str | None = None
    take_off_security_height: float | None = None
    global_transitional_speed: float | None = None
    global_rth_height: float | None = None
    take_off_ref_point: tuple[float, float, float] | None = None  # lat, lon, ellipsoid height
    take_off_ref_point_agl_height: float | None = None
    drone: DroneInfo | None = None
    payloads: tuple[PayloadInfo, ...] = ()
    mission_auto_reroute_mode: int | None = None
    transitional_auto_reroute_mode: int | None = None
    wayline_avoid_limit_area_mode: int | None = None
    extras: tuple[Extra, ...] = ()


@dataclass(frozen=True, slots=True)
class CoordinateSysParam:
    coordinate_mode: str | None = None
    height_mode: str | None = None
    positioning_type: str | None = None
    global_shoot_height: float | None = None
    surface_follow_mode_enable: bool | None = None
    surface_relative_height: float | None = None


@dataclass(frozen=True, slots=True)
class PayloadParam:
    position_index: int | None = None
    image_format: str | None = None
    focus_mode: str | None = None
    metering_mode: str | None = None
    dewarping_enable: bool | None = None
    return_mode: str | None = None
    sampling_rate: int | None = None
    scanning_mode: str | None = None
    model_coloring_enable: bool | None = None
    extras: tuple[Extra, ...] = ()


@dataclass(frozen=True, slots=True)
class HeadingParam:
    mode: str | None = None
    angle: float | None = None
    poi_point: tuple[float, float, float] | None = None
    path_mode: str | None = None
    angle_enable: bool | None = None
    poi_index: int | None = None


@dataclass(frozen=True, slots=True)
class TurnParam:
    mode: str | None = None
    damping_dist: float | None = None


@dataclass(frozen=True, slots=True)
class ActionTrigger:
    type: str | None = None
    param: float | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One `<wpml:action>`: the function and its parameters as (name, text) pairs."""

    func: str
    params: tuple[tuple[str, str], ...] = ()
    action_id: int | None = None

    def get(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    def get_float(self, name: str) -> float | None:
        """The parameter as a finite number, or None when absent or not a number."""
        value = self.get(name)
        try:
            number = float(value) if value is not None else None
        except ValueError:
            return None
        return number if number is not None and math.isfinite(number) else None

    # --- constructors for the writer (the parameters Pilot 2 writes) ---
    @classmethod
    def take_photo(
        cls, *, payload_index: int = 0, suffix: str = "", lens: str | None = None
    ) -> Action:
        """Take one photo (`takePhoto`); `lens` e.g. "wide,zoom,ir" else the global lens."""
        params = [("payloadPositionIndex", str(payload_index))]
        if suffix:
            params.append(("fileSuffix", suffix))
        if lens:
            params += [("payloadLensIndex", lens), ("useGlobalPayloadLensIndex", "0")]
        else:
            params.append(("useGlobalPayloadLensIndex", "1"))
        return cls("takePhoto", tuple(params))

    @classmethod
    def start_record(
        cls, *, payload_index: int = 0, suffix: str = "", lens: str | None = None
    ) -> Action:
        """Start recording video (`startRecord`)."""
        return cls(
            "startRecord",
            cls.take_photo(payload_index=payload_index, suffix=suffix, lens=lens).params,
        )

    @classmethod
    def stop_record(cls, *, payload_index: int = 0) -> Action:
        """Stop recording video (`stopRecord`)."""
        return cls("stopRecord", (("payloadPositionIndex", str(payload_index)),))

    @classmethod
    def hover(cls, seconds: float) -> Action:
        """Hover for `seconds` (> 0) (`hover`)."""
        return cls("hover", (("hoverTime", format_number(seconds)),))

    @classmethod
    def rotate_yaw(cls, heading: float, *, clockwise: bool = True) -> Action:
        """Turn the aircraft to `heading` degrees (-180..180, 0 north) (`rotateYaw`)."""
        mode = "clockwise" if clockwise else "counterClockwise"
        return cls(
            "rotateYaw", (("aircraftHeading", format_number(heading)), ("aircraftPathMode", mode))
        )

    @classmethod
    def gimbal_rotate(
        cls, *, pitch: float | None = None, yaw: float | None = None, payload_index: int = 0
    ) -> Action:
        """Turn the gimbal to an absolute pitch and/or yaw (`gimbalRotate`)."""
        return cls(
            "gimbalRotate",
            (
                ("gimbalHeadingYawBase", "north"),
                ("gimbalRotateMode", "absoluteAngle"),
                ("gimbalPitchRotateEnable", "1" if pitch is not None else "0"),
                ("gimbalPitchRotateAngle", format_number(pitch or 0.0)),
                ("gimbalRollRotateEnable", "0"),
                ("gimbalRollRotateAngle", "0"),
                ("gimbalYawRotateEnable", "1" if yaw is not None else "0"),
                ("gimbalYawRotateAngle", format_number(yaw or 0.0)),
                ("gimbalRotateTimeEnable", "0"),
                ("gimbalRotateTime", "0"),
                ("payloadPositionIndex", str(payload_index)),
            ),
        )

    @classmethod
    def zoom(cls, focal_length_mm: float, *, payload_index: int = 0) -> Action:
        """Zoom to a focal length in mm (`zoom`)."""
        return cls(
            "zoom",
            (
                ("focalLength", format_number(focal_length_mm)),
                ("isUseFocalFactor", "0"),
                ("payloadPositionIndex", str(payload_index)),
            ),
        )


def format_number(value: float) -> str:
    """Shortest text that reads back to exactly `value` ("5" rather than "5.0").

    Raises:
        ValueError: `value` is NaN or infinite.
    """
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


@dataclass(frozen=True, slots=True)
class ActionGroup:
    group_id: int | None = None
    start_index: int | None = None
    end_index: int | None = None
    mode: str | None = None
    trigger: ActionTrigger | None = None
    actions: tuple[Action, ...] = ()
    path: str = ""


@dataclass(frozen=True, slots=True)
class Waypoint:
    """A `<Placemark>` of a waypoint template or of an executable wayline.

    Template placemarks carry `height`/`ellipsoid_height` and the `use_global_*` switches;
    wayline placemarks carry `execute_height` and explicit speed/heading/turn.
    """

    longitude: float | None
    latitude: float | None
    index: int | None = None
    height: float | None = None
    ellipsoid_height: float | None = None
    execute_height: float | None = None
    speed: float | None = None
    use_global_height: bool | None = None
    use_global_speed: bool | None = None
    use_global_heading_param: bool | None = None
    use_global_turn_param: bool | None = None
    heading: HeadingParam | None = None
    turn: TurnParam | None = None
    use_straight_line: bool | None = None
    gimbal_pitch_angle: float | None = None
    gimbal_yaw_angle: float | None = None
    is_risky: bool | None = None
    work_type: int | None = None
    action_groups: tuple[ActionGroup, ...] = ()
    extras: tuple[Extra, ...] = ()
    path: str = ""


@dataclass(frozen=True, slots=True)
class Overlap:
    ortho_lidar_h: int | None = None
    ortho_lidar_w: int | None = None
    ortho_camera_h: int | None = None
    ortho_camera_w: int | None = None
    inclined_lidar_h: int | None = None
    inclined_lidar_w: int | None = None
    inclined_camera_h: int | None = None
    inclined_camera_w: int | None = None


@dataclass(frozen=True, slots=True)
class Template:
    """One template `<Folder>` of template.kml."""

    template_type: str | None
    template_id: int | None = None
    coordinate_sys: CoordinateSysParam | None = None
    auto_flight_speed: float | None = None
    payload_params: tuple[PayloadParam, ...] = ()
    # waypoint template
    global_height: float | None = None
    global_waypoint_turn_mode: str | None = None
    global_use_straight_line: bool | None = None
    gimbal_pitch_mode: str | None = None
    global_heading: HeadingParam | None = None
    waypoints: tuple[Waypoint, ...] = ()
    # mapping templates (and FlightHub 2 geometry routes)
    polygon: tuple[tuple[float, float, float], ...] = ()  # outer ring: lon, lat, height
    line: tuple[tuple[float, float, float], ...] = ()  # LineString: lon, lat, height
    shoot_type: str | None = None
    direction: float | None = None
    margin: float | None = None
    overlap: Overlap | None = None
    ellipsoid_height: float | None = None
    height: float | None = None
    mapping_heading_mode: str | None = None
    mapping_heading_angle: float | None = None
    mapping_params: tuple[tuple[str, str], ...] = ()  # other scalar mapping elements
    extras: tuple[Extra, ...] = ()
    path: str = ""

    @property
    def type_code(self) -> int | None:
        """DJI's int for the type (0 waypoint ... 3 mappingStrip), None if unknown."""
        return TEMPLATE_TYPE_CODES.get(self.template_type or "")

    def mapping_param(self, name: str) -> str | None:
        for key, value in self.mapping_params:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Wayline:
    """One executable `<Folder>` of waylines.wpml."""

    template_id: int | None = None
    wayline_id: int | None = None
    execute_height_mode: str | None = None
    auto_flight_speed: float | None = None
    distance: float | None = None  # as reported by the tool that wrote the file
    duration: float | None = None
    start_action_groups: tuple[ActionGroup, ...] = ()
    waypoints: tuple[Waypoint, ...] = ()
    extras: tuple[Extra, ...] = ()
    path: str = ""


@dataclass(frozen=True, slots=True)
class Resource:
    """A file under wpmz/res/ (reference photos, DSM for terrain following, audio...)."""

    path: str
    size: int
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Route:
    """Everything a KMZ says.

    `mission` is the executable mission config (waylines.wpml), falling back to template.kml's;
    `template_mission` is template.kml's own.
    """

    name: str
    mission: MissionConfig
    waylines: tuple[Wayline, ...]
    templates: tuple[Template, ...] = ()
    template_mission: MissionConfig | None = None
    author: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    resources: tuple[Resource, ...] = ()
    wpml_namespaces: tuple[str, ...] = ()
    fingerprint: str | None = None  # MD5 hex of the whole KMZ
    size: int | None = None
    has_template: bool = True
    document_extras: tuple[Extra, ...] = ()
    findings: tuple[Finding, ...] = ()  # what the reader noticed (unknown elements, bad values)

    def iter_waypoints(self) -> Iterator[Waypoint]:
        for wayline in self.waylines:
            yield from wayline.waypoints

    def iter_actions(self) -> Iterator[Action]:
        """Every action of the executable waylines (start groups and waypoint groups)."""
        for wayline in self.waylines:
            for group in wayline.start_action_groups:
                yield from group.actions
            for waypoint in wayline.waypoints:
                for group in waypoint.action_groups:
                    yield from group.actions


# ---------------------------------------------------------------- writer input


@dataclass(frozen=True, slots=True)
class PlanActionGroup:
    """Actions fired by a trigger other than "reach this waypoint", e.g. a photo every 10 m.

    `trigger` is multipleTiming (param in s), multipleDistance (param in m) or
    betweenAdjacentPoints; the group starts at its waypoint and ends at `end_index`
    (None: the same waypoint).
    """

    trigger: str
    actions: tuple[Action, ...]
    param: float | None = None
    end_index: int | None = None


@dataclass(frozen=True, slots=True)
class PlanWaypoint:
    """One waypoint of a plan. None means "use the plan's global value".

    `height` is in the plan's `height_mode` (metres above EGM96 or above the take-off point).
    """

    latitude: float
    longitude: float
    height: float | None = None
    speed: float | None = None
    heading_mode: str | None = None
    heading_angle: float | None = None
    turn_mode: str | None = None
    turn_damping_dist: float | None = None
    gimbal_pitch: float | None = None
    actions: tuple[Action, ...] = ()  # run on reaching the waypoint, in order
    groups: tuple[PlanActionGroup, ...] = ()  # timed/distance/segment action groups
    ellipsoid_height: float | None = None  # needed (only) in aboveGroundLevel plans


@dataclass(frozen=True, slots=True)
class WaypointPlan:
    """A waypoint route as a route editor holds it; the writer turns it into a KMZ.

    Heights: with `height_mode` EGM96 the file gets EGM96 heights in template.kml and WGS84
    ellipsoid heights (converted with `gcs.wpml.geoid`) in waylines.wpml, as Pilot 2 writes;
    with relativeToStartPoint both files carry the heights as given; with aboveGroundLevel
    (terrain is unknown here) each waypoint must bring its ellipsoid height, as computed by the
    tool that planned it.
    """

    waypoints: tuple[PlanWaypoint, ...]
    drone_enum_value: int = 67
    drone_sub_enum_value: int = 0
    payload_enum_value: int | None = 52
    payload_sub_enum_value: int = 0
    payload_position_index: int = 0
    height_mode: str = HeightMode.RELATIVE_TO_START_POINT
    global_height: float = 100.0
    auto_flight_speed: float = 10.0
    global_transitional_speed: float = 10.0
    take_off_security_height: float = 20.0
    global_rth_height: float | None = 100.0
    fly_to_wayline_mode: str = "safely"
    finish_action: str = "goHome"
    exit_on_rc_lost: str = "executeLostAction"
    execute_rc_lost_action: str = "goBack"
    turn_mode: str = TurnMode.STOP_DISCONTINUOUS
    heading_mode: str = "followWayline"
    heading_angle: float = 0.0
    use_straight_line: bool = True
    image_format: str | None = None
    author: str | None = None
    create_time: int = 0  # ms since the epoch; the caller gives the clock
    update_time: int = 0
