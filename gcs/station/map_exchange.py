"""Map elements to and from files other tools make: KML/KMZ (Google Earth, FlightHub 2) and
GeoJSON (QGIS, FlightHub 2).

Theory of operation. A file becomes a list of `Feature`s (name, element type, checked GeoJSON
content) or a `ExchangeError` naming the first problem and where it is; the caller inserts the
whole list in one transaction, so a bad file leaves nothing behind. Parsing is pure and
blocking (run it in an executor).

* GeoJSON: a FeatureCollection, a Feature or a bare geometry. Multi-geometries are split into
  one element per part. The name comes from `properties.name` (or `Name`, `title`), the colour
  from `properties.color` (ours and FlightHub's), `stroke`/`fill` (simplestyle) or the default.
  Other properties are kept. Rings must be closed (RFC 7946).
* KML: Placemarks with Point, LineString, Polygon (outer boundary; inner ones refused) or a
  MultiGeometry of those, at any depth of Document/Folder. Colour: the Placemark's own or
  shared `Style` (via `styleUrl`, following a `StyleMap`'s "normal" pair): LineStyle for lines,
  PolyStyle (else LineStyle) for polygons, IconStyle for points. KML colours are `aabbggrr`.
  `ExtendedData/Data` becomes properties, `description` too. KMZ: the first `.kml` in the zip
  (doc.kml by convention). XML is parsed with defusedxml (no entities, no external references).
* Export writes the same shapes back: a GeoJSON FeatureCollection with `name`, `color`,
  `group` and the element's other properties; KML with one Folder per group, one Style per
  colour, ExtendedData for each property (text, as Google Earth shows it) plus one
  `gcs:properties` entry holding them as JSON, so an export re-imports to the same elements
  with the same property types.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from gcs.station import map_geometry as geo
from gcs.station.map_geometry import GeometryError

KML_NS = "http://www.opengis.net/kml/2.2"
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_FEATURES = 20_000
#: Total vertices one import may add (a site map, not a country's coastline).
MAX_TOTAL_VERTICES = 200_000


class ExchangeError(ValueError):
    """The file cannot be imported; `str()` says why and where."""


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    type: int  # 0 point, 1 line, 2 polygon
    content: dict[str, Any]


# -- GeoJSON ---------------------------------------------------------------------------------

_NAME_KEYS = ("name", "Name", "NAME", "title")


def _color_of(props: dict[str, Any]) -> str:
    for key in ("color", "stroke", "fill", "marker-color"):
        value = props.get(key)
        if isinstance(value, str):
            if re.match(r"^#[0-9a-fA-F]{6}$", value):
                return value.upper()
            if re.match(r"^#[0-9a-fA-F]{3}$", value):
                return "#" + "".join(c * 2 for c in value[1:]).upper()
    return geo.DEFAULT_COLOR


def _parts(geometry: Any, where: str) -> Iterator[dict[str, Any]]:
    if not isinstance(geometry, dict):
        raise ExchangeError(f"{where}: 'geometry' is missing or not an object")
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind in ("Point", "LineString", "Polygon"):
        yield geometry
    elif kind in ("MultiPoint", "MultiLineString", "MultiPolygon"):
        if not isinstance(coords, list):
            raise ExchangeError(f"{where}: {kind} coordinates must be a list")
        for part in coords:
            yield {"type": kind[5:], "coordinates": part}
    elif kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            raise ExchangeError(f"{where}: GeometryCollection needs 'geometries'")
        for member in members:
            yield from _parts(member, where)
    else:
        raise ExchangeError(f"{where}: geometry type {kind!r} is not a point, line or polygon")


def _feature(name: str, geometry: dict[str, Any], props: dict[str, Any], where: str) -> Feature:
    kind = geo.TYPE_OF_GEOMETRY.get(str(geometry.get("type")))
    content = {"type": "Feature", "properties": props, "geometry": geometry}
    try:
        checked = geo.check_content(content, kind, strict=True)
        geo.check_name(name)
    except GeometryError as exc:
        raise ExchangeError(f"{where} ({name!r}): {exc}") from exc
    assert kind is not None
    return Feature(name, kind, checked)


def parse_geojson(raw: bytes) -> list[Feature]:
    """Features of a GeoJSON document. Raises ExchangeError."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExchangeError(f"the file is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ExchangeError("a GeoJSON file must hold an object")
    if doc.get("type") == "FeatureCollection":
        items = doc.get("features")
        if not isinstance(items, list):
            raise ExchangeError("the FeatureCollection has no 'features' list")
    elif doc.get("type") == "Feature":
        items = [doc]
    else:
        items = [{"type": "Feature", "properties": {}, "geometry": doc}]
    out: list[Feature] = []
    for i, item in enumerate(items):
        where = f"feature {i + 1}"
        if not isinstance(item, dict) or item.get("type") != "Feature":
            raise ExchangeError(f"{where} is not a GeoJSON Feature")
        props = item.get("properties") or {}
        if not isinstance(props, dict):
            raise ExchangeError(f"{where}: 'properties' must be an object")
        name = next((str(props[k]) for k in _NAME_KEYS if props.get(k) not in (None, "")), "")
        kept = {k: v for k, v in props.items() if k not in ("color", "group", *_NAME_KEYS)}
        kept["color"] = _color_of(props)
        parts = list(_parts(item.get("geometry"), where))
        for j, part in enumerate(parts):
            label = name or f"Imported {i + 1}"
            if len(parts) > 1:
                label = f"{label} ({j + 1})"
            out.append(_feature(label, part, dict(kept), where))
    return _limit(out)


def _limit(features: list[Feature]) -> list[Feature]:
    if not features:
        raise ExchangeError("the file holds no point, line or polygon")
    if len(features) > MAX_FEATURES:
        raise ExchangeError(f"the file holds {len(features)} features; at most {MAX_FEATURES}")
    total = sum(_vertices(f.content["geometry"]) for f in features)
    if total > MAX_TOTAL_VERTICES:
        raise ExchangeError(f"the file holds {total} vertices; at most {MAX_TOTAL_VERTICES}")
    return features


def _vertices(geometry: dict[str, Any]) -> int:
    if geometry["type"] == "Point":
        return 1
    if geometry["type"] == "LineString":
        return len(geometry["coordinates"])
    return sum(len(r) for r in geometry["coordinates"])


# -- KML -------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: Element, name: str) -> Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: Element | None, name: str) -> str:
    c = _child(el, name) if el is not None else None
    return (c.text or "").strip() if c is not None and c.text else ""


def _kml_color(value: str) -> str | None:
    v = value.strip().lstrip("#")
    if not re.match(r"^[0-9a-fA-F]{8}$", v):
        return None
    return f"#{v[6:8]}{v[4:6]}{v[2:4]}".upper()  # aabbggrr → #rrggbb


def _style_colors(style: Element) -> dict[str, str]:
    out = {}
    for kind in ("LineStyle", "PolyStyle", "IconStyle"):
        node = _child(style, kind)
        color = _kml_color(_text(node, "color")) if node is not None else None
        if color:
            out[kind] = color
    return out


def _styles(root: Element) -> dict[str, dict[str, str]]:
    styles: dict[str, dict[str, str]] = {}
    maps: dict[str, str] = {}
    for el in root.iter():
        tag = _local(el.tag)
        sid = el.get("id")
        if tag == "Style" and sid:
            styles[sid] = _style_colors(el)
        elif tag == "StyleMap" and sid:
            for pair in el:
                if _local(pair.tag) == "Pair" and _text(pair, "key") == "normal":
                    maps[sid] = _text(pair, "styleUrl").lstrip("#")
    for sid, target in maps.items():
        styles.setdefault(sid, styles.get(target, {}))
    return styles


def _coords(text: str, where: str) -> list[list[float]]:
    out = []
    for tuple_ in text.split():
        try:
            values = [float(v) for v in tuple_.split(",") if v != ""]
        except ValueError as exc:
            raise ExchangeError(f"{where}: {tuple_[:40]!r} is not lon,lat[,alt]") from exc
        if len(values) not in (2, 3):
            raise ExchangeError(f"{where}: {tuple_[:40]!r} is not lon,lat[,alt]")
        out.append(values)
    return out


def _kml_geometries(el: Element, where: str) -> Iterator[dict[str, Any]]:
    tag = _local(el.tag)
    if tag == "Point":
        pts = _coords(_text(el, "coordinates"), where)
        if len(pts) != 1:
            raise ExchangeError(f"{where}: a Point needs exactly one position")
        yield {"type": "Point", "coordinates": pts[0]}
    elif tag == "LineString":
        yield {"type": "LineString", "coordinates": _coords(_text(el, "coordinates"), where)}
    elif tag == "Polygon":
        outer = _child(el, "outerBoundaryIs")
        ring = _child(outer, "LinearRing") if outer is not None else None
        if ring is None:
            raise ExchangeError(f"{where}: a Polygon without outerBoundaryIs/LinearRing")
        if _child(el, "innerBoundaryIs") is not None:
            raise ExchangeError(f"{where}: polygons with holes cannot be shown in Pilot")
        yield {"type": "Polygon", "coordinates": [_coords(_text(ring, "coordinates"), where)]}
    elif tag == "MultiGeometry":
        for c in el:
            yield from _kml_geometries(c, where)


def _placemarks(el: Element, folder: str) -> Iterator[tuple[Element, str]]:
    for c in el:
        tag = _local(c.tag)
        if tag == "Placemark":
            yield c, folder
        elif tag in ("Document", "Folder"):
            yield from _placemarks(c, _text(c, "name") if tag == "Folder" else folder)


#: ExtendedData entry of our KML export holding an element's properties as JSON, so numbers,
#: booleans and nulls come back as they were (KML's Data values are text).
TYPED_KEY = "gcs:properties"


def _typed(text: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def parse_kml(raw: bytes) -> list[Feature]:
    """Features of a KML document. Raises ExchangeError."""
    try:
        root = SafeET.fromstring(raw)
    except SafeET.ParseError as exc:
        raise ExchangeError(f"the KML is not well-formed XML: {exc}") from exc
    except Exception as exc:  # defusedxml refuses entities / DTDs with its own errors
        raise ExchangeError(f"the KML was refused: {type(exc).__name__}: {exc}") from exc
    if _local(root.tag) != "kml":
        raise ExchangeError(f"not a KML file: the root element is <{_local(root.tag)}>")
    styles = _styles(root)
    out: list[Feature] = []
    for i, (pm, folder) in enumerate(_placemarks(root, "")):
        name = _text(pm, "name") or f"Placemark {i + 1}"
        where = f"placemark {i + 1}"
        colors = dict(styles.get(_text(pm, "styleUrl").lstrip("#"), {}))
        inline = _child(pm, "Style")
        if inline is not None:
            colors.update(_style_colors(inline))
        props: dict[str, Any] = {}
        typed: dict[str, Any] | None = None
        ext = _child(pm, "ExtendedData")
        if ext is not None:
            for data in ext:
                if _local(data.tag) == "Data" and data.get("name") == TYPED_KEY:
                    typed = _typed(_text(data, "value"))
                elif _local(data.tag) == "Data" and data.get("name"):
                    props[str(data.get("name"))] = _text(data, "value")
        description = _text(pm, "description")
        if description:
            props.setdefault("description", description)
        if folder:
            props.setdefault("folder", folder)
        if typed is not None:  # our own export: the properties exactly, with their JSON types
            props = typed
        found = [g for c in pm for g in _kml_geometries(c, where)]
        if not found:
            raise ExchangeError(f"{where} ({name!r}) has no Point, LineString or Polygon")
        for j, g in enumerate(found):
            kind = {"Point": "IconStyle", "LineString": "LineStyle"}.get(g["type"], "PolyStyle")
            color = colors.get(kind) or colors.get("LineStyle") or colors.get("PolyStyle")
            p = dict(props)
            for key in ("clampToGround", "is3d"):
                if p.get(key) in ("true", "false"):
                    p[key] = p[key] == "true"
            p["color"] = color or geo.DEFAULT_COLOR
            label = name if len(found) == 1 else f"{name} ({j + 1})"
            out.append(_feature(label, g, p, where))
    return _limit(out)


def parse_kmz(raw: bytes) -> list[Feature]:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".kml")]
            if not names:
                raise ExchangeError("the KMZ holds no .kml file")
            name = "doc.kml" if "doc.kml" in names else names[0]
            info = z.getinfo(name)
            if info.file_size > MAX_FILE_BYTES:
                raise ExchangeError(f"{name} unpacks to {info.file_size} bytes; too large")
            return parse_kml(z.read(name))
    except zipfile.BadZipFile as exc:
        raise ExchangeError(f"the KMZ is not a valid zip archive: {exc}") from exc


def parse_file(filename: str, raw: bytes) -> list[Feature]:
    """Features of a .kml, .kmz, .geojson or .json file. Raises ExchangeError."""
    if len(raw) > MAX_FILE_BYTES:
        raise ExchangeError(f"the file is {len(raw)} bytes; at most {MAX_FILE_BYTES}")
    lower = filename.lower()
    if lower.endswith(".kmz") or raw[:2] == b"PK":
        return parse_kmz(raw)
    if lower.endswith(".kml") or raw.lstrip()[:1] == b"<":
        return parse_kml(raw)
    if lower.endswith((".geojson", ".json")) or raw.lstrip()[:1] == b"{":
        return parse_geojson(raw)
    raise ExchangeError(f"{filename}: use a .kml, .kmz, .geojson or .json file")


# -- export ----------------------------------------------------------------------------------

ExportGroup = tuple[str, Sequence[tuple[str, int, dict[str, Any]]]]
"""(group name, [(element name, element type, content)])."""


def _closed(content: dict[str, Any]) -> dict[str, Any]:
    """The geometry with its polygon ring closed (Pilot may store it open; RFC 7946 wants it
    closed)."""
    g: dict[str, Any] = content["geometry"]
    if g["type"] == "Polygon":
        ring = list(g["coordinates"][0])
        if ring[0][:2] != ring[-1][:2]:
            return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    return g


def to_geojson(groups: Sequence[ExportGroup]) -> bytes:
    features = []
    for group, elements in groups:
        for name, _kind, content in elements:
            props = {"name": name, "group": group, **content.get("properties", {})}
            features.append({"type": "Feature", "properties": props, "geometry": _closed(content)})
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def _kml_rgb(color: str) -> str:
    c = color.lstrip("#").lower()
    return f"ff{c[4:6]}{c[2:4]}{c[0:2]}"


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _coord_text(positions: Sequence[Sequence[float]]) -> str:
    return " ".join(",".join(repr(v) for v in p) for p in positions)


def to_kml(groups: Sequence[ExportGroup], title: str = "gcs map") -> bytes:
    colors = sorted(
        {
            c["properties"]["color"]
            for _, els in groups
            for _, _, c in els
            if "color" in c["properties"]
        }
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<kml xmlns="{KML_NS}">',
        "<Document>",
        f"<name>{_esc(title)}</name>",
    ]
    for color in colors:
        rgb = _kml_rgb(color)
        lines.append(
            f'<Style id="c{color[1:].upper()}"><IconStyle><color>{rgb}</color></IconStyle>'
            f"<LineStyle><color>{rgb}</color><width>2</width></LineStyle>"
            f"<PolyStyle><color>{'66' + rgb[2:]}</color></PolyStyle></Style>"
        )
    for group, elements in groups:
        lines.append(f"<Folder><name>{_esc(group)}</name>")
        for name, _kind, content in elements:
            props = content.get("properties", {})
            lines.append(f"<Placemark><name>{_esc(name)}</name>")
            if "color" in props:
                lines.append(f"<styleUrl>#c{props['color'][1:].upper()}</styleUrl>")
            extra = {
                k: v for k, v in props.items() if k not in ("color", "folder") and v is not None
            }
            lines.append("<ExtendedData>")
            for k, v in extra.items():  # readable in Google Earth's balloon
                value = json.dumps(v) if isinstance(v, bool) else str(v)
                lines.append(f'<Data name="{_esc(k)}"><value>{_esc(value)}</value></Data>')
            typed = json.dumps(props, ensure_ascii=False, separators=(",", ":"))
            lines.append(f'<Data name="{TYPED_KEY}"><value>{_esc(typed)}</value></Data>')
            lines.append("</ExtendedData>")
            g = content["geometry"]
            if g["type"] == "Point":
                lines.append(
                    f"<Point><coordinates>{_coord_text([g['coordinates']])}</coordinates></Point>"
                )
            elif g["type"] == "LineString":
                lines.append(
                    f"<LineString><coordinates>{_coord_text(g['coordinates'])}</coordinates></LineString>"
                )
            else:
                ring = list(g["coordinates"][0])
                if ring[0][:2] != ring[-1][:2]:
                    ring.append(ring[0])
                lines.append(
                    "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
                    f"{_coord_text(ring)}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
                )
            lines.append("</Placemark>")
        lines.append("</Folder>")
    lines += ["</Document>", "</kml>"]
    return "\n".join(lines).encode()
