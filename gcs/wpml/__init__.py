"""Wayline files (KMZ / DJI WPML): read, summarize, validate and write. Sans-IO.

A KMZ is a ZIP holding `wpmz/template.kml` (the editable template), `wpmz/waylines.wpml` (what
the aircraft executes) and optional resources under `wpmz/res/` (see protocol §13). This package
turns bytes into a `Route` and back, and never touches sockets, the clock or the database; the
one file access is `read_kmz(Path)` for the CLI. Parsing is CPU work: the station runs it in an
executor.

    route = read_kmz(data, name="survey-a", limits=Limits(max_file_bytes=...))
    summary = summarize(route)           # summary.to_dict() for the Pilot wayline API
    findings = validate(route)           # errors and warnings, English and Chinese
    kmz = write_kmz(WaypointPlan(...))   # a waypoint route for the route editor

`inspect_kmz` does all three and never raises for bad input: a file that cannot be read gives
an `Inspection` with no route and the error as a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gcs.wpml.archive import Limits
from gcs.wpml.errors import Finding, KmzError, Severity
from gcs.wpml.geoid import egm96_to_ellipsoid, ellipsoid_to_egm96, geoid_height
from gcs.wpml.model import (
    ACTION_FUNCTIONS,
    TEMPLATE_TYPE_CODES,
    Action,
    ActionGroup,
    ActionTrigger,
    HeightMode,
    MissionConfig,
    PlanActionGroup,
    PlanWaypoint,
    Resource,
    Route,
    Template,
    TemplateType,
    TurnMode,
    Wayline,
    Waypoint,
    WaypointPlan,
)
from gcs.wpml.reader import read_kmz, read_parts
from gcs.wpml.summary import Summary, summarize
from gcs.wpml.validate import validate
from gcs.wpml.writer import plan_from_route, write_kmz

__all__ = [
    "ACTION_FUNCTIONS",
    "TEMPLATE_TYPE_CODES",
    "Action",
    "ActionGroup",
    "ActionTrigger",
    "Finding",
    "HeightMode",
    "Inspection",
    "KmzError",
    "Limits",
    "MissionConfig",
    "PlanActionGroup",
    "PlanWaypoint",
    "Resource",
    "Route",
    "Severity",
    "Summary",
    "Template",
    "TemplateType",
    "TurnMode",
    "Wayline",
    "Waypoint",
    "WaypointPlan",
    "egm96_to_ellipsoid",
    "ellipsoid_to_egm96",
    "geoid_height",
    "inspect_kmz",
    "plan_from_route",
    "read_kmz",
    "read_parts",
    "summarize",
    "validate",
    "write_kmz",
]


@dataclass(frozen=True, slots=True)
class Inspection:
    """The outcome of `inspect_kmz`: route and summary (None if unreadable) and findings."""

    route: Route | None
    summary: Summary | None
    findings: tuple[Finding, ...]

    @property
    def usable(self) -> bool:
        """True when the file has no error finding (it can be stored, shown and flown)."""
        return self.route is not None and not any(f.is_error for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: usable, summary (or None) and findings."""
        return {
            "usable": self.usable,
            "summary": self.summary.to_dict() if self.summary else None,
            "findings": [f.to_dict() for f in self.findings],
        }


def inspect_kmz(
    data: bytes | Path | str, *, name: str | None = None, limits: Limits | None = None
) -> Inspection:
    """Read, summarize and validate a wayline file without raising for bad content.

    Returns:
        An `Inspection`. A file that cannot be read at all has `route` None and its error
        (not a ZIP, no waylines.wpml, broken or hostile XML...) as the only finding.

    Raises:
        OSError: a path that cannot be read.
    """
    try:
        route = read_kmz(data, name=name, limits=limits)
    except KmzError as exc:
        return Inspection(None, None, (exc.finding(),))
    return Inspection(route, summarize(route), tuple(validate(route)))
