"""Build small KMZ files for the wayline tests (hand-written XML, not our writer)."""

from __future__ import annotations

import io
import re
import zipfile

WPML_NS = "http://www.dji.com/wpmz/1.0.2"
KML_NS = "http://www.opengis.net/kml/2.2"

MISSION = """
<wpml:missionConfig>
  <wpml:flyToWaylineMode>safely</wpml:flyToWaylineMode>
  <wpml:finishAction>goHome</wpml:finishAction>
  <wpml:exitOnRCLost>executeLostAction</wpml:exitOnRCLost>
  <wpml:executeRCLostAction>goBack</wpml:executeRCLostAction>
  <wpml:takeOffSecurityHeight>20</wpml:takeOffSecurityHeight>
  <wpml:globalTransitionalSpeed>10</wpml:globalTransitionalSpeed>
  <wpml:droneInfo>
    <wpml:droneEnumValue>67</wpml:droneEnumValue>
    <wpml:droneSubEnumValue>1</wpml:droneSubEnumValue>
  </wpml:droneInfo>
  <wpml:payloadInfo>
    <wpml:payloadEnumValue>53</wpml:payloadEnumValue>
    <wpml:payloadPositionIndex>0</wpml:payloadPositionIndex>
  </wpml:payloadInfo>
</wpml:missionConfig>
"""


def doc(body: str, *, ns: str = WPML_NS) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<kml xmlns="{KML_NS}" xmlns:wpml="{ns}"><Document>{body}</Document></kml>\n'
    )


def placemark(
    index: int, lon: float, lat: float, *, height: float = 50.0, speed: float = 5.0, extra: str = ""
) -> str:
    return f"""
<Placemark>
  <Point><coordinates>{lon},{lat}</coordinates></Point>
  <wpml:index>{index}</wpml:index>
  <wpml:executeHeight>{height}</wpml:executeHeight>
  <wpml:waypointSpeed>{speed}</wpml:waypointSpeed>
  <wpml:waypointHeadingParam><wpml:waypointHeadingMode>followWayline</wpml:waypointHeadingMode>
  </wpml:waypointHeadingParam>
  <wpml:waypointTurnParam>
    <wpml:waypointTurnMode>toPointAndStopWithDiscontinuityCurvature</wpml:waypointTurnMode>
    <wpml:waypointTurnDampingDist>0</wpml:waypointTurnDampingDist>
  </wpml:waypointTurnParam>
  {extra}
</Placemark>"""


def template_placemark(
    index: int, lon: float, lat: float, *, height: float = 50.0, extra: str = ""
) -> str:
    return f"""
<Placemark>
  <Point><coordinates>{lon},{lat}</coordinates></Point>
  <wpml:index>{index}</wpml:index>
  <wpml:ellipsoidHeight>{height}</wpml:ellipsoidHeight>
  <wpml:height>{height}</wpml:height>
  <wpml:useGlobalHeight>0</wpml:useGlobalHeight>
  {extra}
</Placemark>"""


POINTS = [(113.9431, 22.5775), (113.9431, 22.5766), (113.9423, 22.5761)]


def waylines_xml(
    placemarks: str | None = None,
    *,
    mode: str = "relativeToStartPoint",
    mission: str = MISSION,
    folder_extra: str = "",
    ns: str = WPML_NS,
) -> str:
    if placemarks is None:
        placemarks = "".join(placemark(i, lon, lat) for i, (lon, lat) in enumerate(POINTS))
    return doc(
        f"""{mission}<Folder>
  <wpml:templateId>0</wpml:templateId>
  <wpml:executeHeightMode>{mode}</wpml:executeHeightMode>
  <wpml:waylineId>0</wpml:waylineId>
  <wpml:autoFlightSpeed>5</wpml:autoFlightSpeed>
  {folder_extra}{placemarks}
</Folder>""",
        ns=ns,
    )


def template_xml(
    placemarks: str | None = None,
    *,
    template_type: str = "waypoint",
    height_mode: str = "relativeToStartPoint",
    folder_extra: str = "",
    mission: str = MISSION,
    ns: str = WPML_NS,
) -> str:
    if placemarks is None:
        placemarks = "".join(template_placemark(i, lon, lat) for i, (lon, lat) in enumerate(POINTS))
    return doc(
        f"""<wpml:author>test</wpml:author><wpml:createTime>1</wpml:createTime>
<wpml:updateTime>2</wpml:updateTime>{mission}<Folder>
  <wpml:templateType>{template_type}</wpml:templateType>
  <wpml:templateId>0</wpml:templateId>
  <wpml:waylineCoordinateSysParam>
    <wpml:coordinateMode>WGS84</wpml:coordinateMode>
    <wpml:heightMode>{height_mode}</wpml:heightMode>
  </wpml:waylineCoordinateSysParam>
  <wpml:autoFlightSpeed>5</wpml:autoFlightSpeed>
  <wpml:globalHeight>50</wpml:globalHeight>
  {folder_extra}{placemarks}
</Folder>""",
        ns=ns,
    )


def restyle(xml: str, style: str) -> str:
    """Rewrite prefixed WPML into the variants real exports use.

    prefix: unchanged; default-ns: no prefix, the WPML namespace as default namespace;
    bare: no namespaces at all; undeclared: `wpml:` used but never declared.
    """
    if style == "prefix":
        return xml
    if style == "undeclared":
        return re.sub(r'\s+xmlns:wpml="[^"]*"', "", xml)
    stripped = xml.replace("<wpml:", "<").replace("</wpml:", "</")
    stripped = re.sub(r'\s+xmlns:wpml="[^"]*"', "", stripped)
    if style == "bare":
        return re.sub(r'\s+xmlns="[^"]*"', "", stripped)
    if style == "default-ns":
        return stripped.replace(f'xmlns="{KML_NS}"', f'xmlns="{WPML_NS}"')
    raise ValueError(style)


def zip_bytes(
    entries: list[tuple[str, bytes | str]], *, compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, body in entries:
            zf.writestr(name, body.encode() if isinstance(body, str) else body)
    return buffer.getvalue()


def kmz(
    waylines: str | None = None,
    template: str | None = "default",
    *,
    extra: list[tuple[str, bytes | str]] | None = None,
) -> bytes:
    entries: list[tuple[str, bytes | str]] = [("wpmz/waylines.wpml", waylines or waylines_xml())]
    if template == "default":
        template = template_xml()
    if template is not None:
        entries.insert(0, ("wpmz/template.kml", template))
    return zip_bytes(entries + (extra or []))
