"""Validation: errors and warnings, with messages in English and Chinese and the element."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wpml_kmz import (
    MISSION,
    POINTS,
    kmz,
    placemark,
    template_placemark,
    template_xml,
    waylines_xml,
)

from gcs.wpml import Finding, inspect_kmz, read_kmz, validate

CJK = re.compile(r"[\u4e00-\u9fff]")


def _findings(data: bytes) -> list[Finding]:
    findings = validate(read_kmz(data))
    for f in findings:
        assert f.message_en and CJK.search(f.message_zh), f
        assert not CJK.search(f.message_en), f
        assert "{" not in f.message_en and "{" not in f.message_zh, f  # all placeholders filled
    return findings


def _codes(data: bytes) -> list[str]:
    return [f.code for f in _findings(data)]


def _action(
    func: str,
    params: str = "",
    trigger: str = "reachPoint",
    start: int = 0,
    end: int = 0,
    trigger_param: str = "",
) -> str:
    return f"""<wpml:actionGroup>
  <wpml:actionGroupId>0</wpml:actionGroupId>
  <wpml:actionGroupStartIndex>{start}</wpml:actionGroupStartIndex>
  <wpml:actionGroupEndIndex>{end}</wpml:actionGroupEndIndex>
  <wpml:actionGroupMode>sequence</wpml:actionGroupMode>
  <wpml:actionTrigger><wpml:actionTriggerType>{trigger}</wpml:actionTriggerType>{trigger_param}
  </wpml:actionTrigger>
  <wpml:action><wpml:actionId>0</wpml:actionId>
    <wpml:actionActuatorFunc>{func}</wpml:actionActuatorFunc>
    <wpml:actionActuatorFuncParam>{params}</wpml:actionActuatorFuncParam>
  </wpml:action>
</wpml:actionGroup>"""


def _waylines_with(first_extra: str = "", **kw: object) -> str:
    pms = "".join(
        placemark(i, lon, lat, extra=first_extra if i == 0 else "")
        for i, (lon, lat) in enumerate(POINTS)
    )
    return waylines_xml(pms, **kw)  # type: ignore[arg-type]


def test_real_routes_are_clean(waylines_dir: Path) -> None:
    for path in sorted(waylines_dir.glob("*.kmz")):
        assert validate(read_kmz(path)) == [], path.name


def test_clean_generated_file() -> None:
    assert _findings(kmz()) == []


def test_no_waypoints_is_an_error() -> None:
    findings = _findings(kmz(waylines_xml(""), template_xml("")))
    assert findings[0].code == "no_waypoints" and findings[0].is_error
    assert findings[0].element == "waylines.wpml"
    assert not inspect_kmz(kmz(waylines_xml(""), template_xml(""))).usable


def test_coordinates_out_of_range_is_an_error() -> None:
    pms = placemark(0, 113.9, 95.0) + placemark(1, 200.0, 22.5)
    findings = _findings(kmz(waylines_xml(pms), None))
    errors = [f for f in findings if f.is_error]
    assert [f.code for f in errors] == ["coordinates_out_of_range"] * 2
    assert errors[0].element == "waylines.wpml/Folder[0]/Placemark[0]/Point/coordinates"
    assert "95" in errors[0].message_en and "95" in errors[0].message_zh
    assert findings.index(errors[0]) == 0  # errors come first


def test_null_island_is_a_warning() -> None:
    findings = _findings(kmz(waylines_xml(placemark(0, 0, 0)), None))
    assert "null_island" in [f.code for f in findings]
    assert not any(f.is_error for f in findings)


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        (
            "<wpml:takeOffSecurityHeight>20<",
            "<wpml:takeOffSecurityHeight>0.5<",
            "takeOffSecurityHeight",
        ),
        (
            "<wpml:globalTransitionalSpeed>10<",
            "<wpml:globalTransitionalSpeed>20<",
            "globalTransitionalSpeed",
        ),
        (
            "<wpml:globalTransitionalSpeed>10<",
            "<wpml:globalTransitionalSpeed>0<",
            "globalTransitionalSpeed",
        ),
    ],
)
def test_mission_values_out_of_range(old: str, new: str, name: str) -> None:
    mission = MISSION.replace(old, new)
    findings = _findings(kmz(waylines_xml(mission=mission), None))
    hits = [f for f in findings if f.code == "out_of_range"]
    assert len(hits) == 1 and hits[0].element == f"waylines.wpml/missionConfig/{name}"
    assert name in hits[0].message_en and name in hits[0].message_zh


def test_speed_out_of_range() -> None:
    pms = placemark(0, 113.9, 22.5, speed=30) + placemark(1, 113.91, 22.5)
    findings = _findings(kmz(waylines_xml(pms), None))
    hit = next(f for f in findings if f.code == "out_of_range")
    assert hit.element == "waylines.wpml/Folder[0]/Placemark[0]/waypointSpeed"
    assert "(0, 23]" in hit.message_en


def test_unknown_enum_values() -> None:
    mission = MISSION.replace(">goHome<", ">flyAway<")
    findings = _findings(kmz(waylines_xml(mission=mission), None))
    hit = next(f for f in findings if f.code == "unknown_enum")
    assert hit.element == "waylines.wpml/missionConfig/finishAction"
    assert "'flyAway'" in hit.message_en and "goHome" in hit.message_en


def test_missing_rc_lost_action() -> None:
    mission = MISSION.replace("<wpml:executeRCLostAction>goBack</wpml:executeRCLostAction>", "")
    assert "missing_element" in _codes(kmz(waylines_xml(mission=mission), None))


def test_unknown_drone_model_and_missing_drone() -> None:
    mission = MISSION.replace("<wpml:droneEnumValue>67<", "<wpml:droneEnumValue>999<")
    findings = _findings(kmz(waylines_xml(mission=mission), None))
    assert "0-999-1" in next(f for f in findings if f.code == "unknown_drone_model").message_en
    no_drone = re.sub(r"<wpml:droneInfo>.*?</wpml:droneInfo>", "", MISSION, flags=re.S)
    assert "missing_element" in _codes(kmz(waylines_xml(mission=no_drone), None))


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (_action("dance"), "unknown_action"),
        (_action("hover", "<wpml:hoverTime>0</wpml:hoverTime>"), "out_of_range"),
        (_action("rotateYaw", "<wpml:aircraftHeading>270</wpml:aircraftHeading>"), "out_of_range"),
        (
            _action(
                "gimbalRotate", "<wpml:gimbalPitchRotateAngle>-150</wpml:gimbalPitchRotateAngle>"
            ),
            "out_of_range",
        ),
        (
            _action(
                "gimbalEvenlyRotate",
                "<wpml:gimbalPitchRotateAngle>-30</wpml:gimbalPitchRotateAngle>",
            ),
            "action_trigger_mismatch",
        ),
        (_action("focus", "<wpml:focusX>1.5</wpml:focusX>"), "out_of_range"),
        (_action("takePhoto", trigger="multipleTiming"), "out_of_range"),
        (_action("takePhoto", trigger="everySoOften"), "unknown_enum"),
        (_action("takePhoto", end=10), "action_group_range"),
    ],
)
def test_action_checks(extra: str, code: str) -> None:
    findings = _findings(kmz(_waylines_with(extra), None))
    assert [f.code for f in findings if f.code != "missing_template"] == [code]
    assert findings[-1].element and "actionGroup[0]" in findings[-1].element


def test_valid_actions_give_no_findings() -> None:
    extra = (
        _action("hover", "<wpml:hoverTime>5</wpml:hoverTime>")
        + _action(
            "gimbalEvenlyRotate",
            "<wpml:gimbalPitchRotateAngle>-30</wpml:gimbalPitchRotateAngle>",
            trigger="betweenAdjacentPoints",
        )
        + _action(
            "takePhoto",
            trigger="multipleDistance",
            trigger_param="<wpml:actionTriggerParam>10</wpml:actionTriggerParam>",
            end=2,
        )
    )
    assert _codes(kmz(_waylines_with(extra))) == []


def test_index_sequence() -> None:
    pms = "".join(placemark(i, lon, lat) for i, (lon, lat) in zip((0, 2, 3), POINTS, strict=True))
    findings = _findings(kmz(waylines_xml(pms), None))
    hit = next(f for f in findings if f.code == "index_sequence")
    assert "0, 2, 3" in hit.message_en


def test_template_and_wayline_disagree() -> None:
    two = "".join(template_placemark(i, lon, lat) for i, (lon, lat) in enumerate(POINTS[:2]))
    assert "template_wayline_mismatch" in _codes(kmz(waylines_xml(), template_xml(two)))
    moved = "".join(template_placemark(i, lon + 0.001, lat) for i, (lon, lat) in enumerate(POINTS))
    findings = _findings(kmz(waylines_xml(), template_xml(moved)))
    hit = next(f for f in findings if f.code == "template_wayline_mismatch")
    assert "m away" in hit.message_en and hit.element and "Placemark[0]" in hit.element
    other_drone = MISSION.replace("<wpml:droneEnumValue>67<", "<wpml:droneEnumValue>77<")
    findings = _findings(kmz(waylines_xml(), template_xml(mission=other_drone)))
    hit = next(f for f in findings if f.code == "template_wayline_mismatch")
    assert "0-77-1" in hit.message_en and "0-67-1" in hit.message_en
    wrong_mode = template_xml(height_mode="EGM96")
    findings = _findings(kmz(waylines_xml(), wrong_mode))
    assert any(
        f.code == "template_wayline_mismatch" and "executeHeightMode" in (f.element or "")
        for f in findings
    )
    other_id = template_xml().replace("<wpml:templateId>0<", "<wpml:templateId>3<")
    codes = _codes(kmz(waylines_xml(), other_id))
    assert codes.count("template_wayline_mismatch") == 2  # unknown template, unused template


def test_relative_heights_that_look_absolute() -> None:
    pms = "".join(placemark(i, lon, lat, height=2100 + i) for i, (lon, lat) in enumerate(POINTS))
    findings = _findings(kmz(waylines_xml(pms), None))
    hit = next(f for f in findings if f.code == "height_mode_suspect")
    assert "1500" in hit.message_en and hit.element == "waylines.wpml/Folder[0]"


def test_ellipsoid_heights_that_look_relative() -> None:
    mission = MISSION.replace(
        "<wpml:takeOffSecurityHeight>",
        "<wpml:takeOffRefPoint>22.5775,113.9431,552.2</wpml:takeOffRefPoint>"
        "<wpml:takeOffSecurityHeight>",
    )
    findings = _findings(kmz(waylines_xml(mode="WGS84", mission=mission), None))
    assert "height_mode_suspect" in [f.code for f in findings]
    pms = "".join(placemark(i, lon, lat, height=600) for i, (lon, lat) in enumerate(POINTS))
    assert "height_mode_suspect" not in _codes(
        kmz(waylines_xml(pms, mode="WGS84", mission=mission), None)
    )


def test_egm96_template_without_geoid_conversion() -> None:
    # Munich: the geoid is ~45.5 m above the ellipsoid, so equal heights mean a missing conversion
    munich = template_placemark(0, 11.58, 48.14, height=600.0)
    tpl = template_xml(munich, height_mode="EGM96")
    wl = waylines_xml(placemark(0, 11.58, 48.14, height=600.0), mode="WGS84")
    findings = _findings(kmz(wl, tpl))
    hit = next(f for f in findings if f.code == "height_mode_suspect")
    assert "geoid" in hit.message_en and "45.6 m" in hit.message_en
    fixed = munich.replace("<wpml:ellipsoidHeight>600.0<", "<wpml:ellipsoidHeight>645.5<")
    assert (
        _codes(kmz(wl.replace(">600.0<", ">645.5<"), template_xml(fixed, height_mode="EGM96")))
        == []
    )


def test_damping_longer_than_segment() -> None:
    pms = "".join(
        placemark(i, 113.9 + i * 0.0001, 22.5)
        .replace("toPointAndStopWithDiscontinuityCurvature", "coordinateTurn")
        .replace("<wpml:waypointTurnDampingDist>0<", "<wpml:waypointTurnDampingDist>8<")
        for i in range(3)
    )
    findings = _findings(kmz(waylines_xml(pms), None))
    assert [f.code for f in findings if f.code == "damping_too_long"] == ["damping_too_long"] * 2


def test_findings_per_code_are_capped() -> None:
    pms = "".join(placemark(i, 113.9, 95.0) for i in range(300))
    findings = _findings(kmz(waylines_xml(pms), None))
    assert sum(f.code == "coordinates_out_of_range" for f in findings) == 50


def test_finding_to_dict() -> None:
    finding = _findings(kmz(waylines_xml(""), None))[0]
    assert finding.to_dict() == {
        "severity": "error",
        "code": "no_waypoints",
        "message_en": finding.message_en,
        "message_zh": finding.message_zh,
        "element": "waylines.wpml",
    }
    assert str(finding).startswith("error no_waypoints: ")


def test_action_resources_must_be_in_the_archive() -> None:
    params = (
        "<wpml:megaphoneOperateFilePath>/wpmz/res/audio/71b4.opus"
        "</wpml:megaphoneOperateFilePath><wpml:megaphoneOperateVolume>80"
        "</wpml:megaphoneOperateVolume>"
    )
    wl = _waylines_with(_action("megaphone", params))
    findings = _findings(kmz(wl))
    hit = next(f for f in findings if f.code == "resource_missing")
    assert "wpmz/res/audio/71b4.opus" in hit.message_en
    assert hit.element and hit.element.endswith("megaphoneOperateFilePath")
    present = kmz(wl, extra=[("wpmz/res/audio/71b4.opus", b"OggS")])
    assert _codes(present) == []
