"""Map exchange: KML/KMZ as Google Earth writes it and GeoJSON as QGIS writes it, imported into
elements and exported back with names, properties and colours intact; bad files refused whole."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from gcs.station.map_exchange import (
    ExchangeError,
    parse_file,
    parse_geojson,
    parse_kml,
    to_geojson,
    to_kml,
)

# Google Earth Pro "Save Place As… (.kml)": shared styles via StyleMap (normal/highlight),
# colours in aabbggrr, Folders, gx namespace, ExtendedData, an inline-styled placemark.
GOOGLE_EARTH_KML = b"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"
     xmlns:kml="http://www.opengis.net/kml/2.2" xmlns:atom="http://www.w3.org/2005/Atom">
<Document>
\t<name>Site survey.kml</name>
\t<Style id="s_ylw-pushpin_hl"><IconStyle><color>ff0000ff</color><scale>1.3</scale>
\t\t<Icon><href>http://maps.google.com/mapfiles/kml/pushpin/ylw-pushpin.png</href></Icon>
\t\t<hotSpot x="20" y="2" xunits="pixels" yunits="pixels"/></IconStyle></Style>
\t<Style id="s_ylw-pushpin"><IconStyle><color>ff0000ff</color><scale>1.1</scale>
\t\t<Icon><href>http://maps.google.com/mapfiles/kml/pushpin/ylw-pushpin.png</href></Icon>
\t\t<hotSpot x="20" y="2" xunits="pixels" yunits="pixels"/></IconStyle></Style>
\t<StyleMap id="m_ylw-pushpin">
\t\t<Pair><key>normal</key><styleUrl>#s_ylw-pushpin</styleUrl></Pair>
\t\t<Pair><key>highlight</key><styleUrl>#s_ylw-pushpin_hl</styleUrl></Pair>
\t</StyleMap>
\t<Style id="poly_green"><LineStyle><color>ff6bbe19</color><width>2</width></LineStyle>
\t\t<PolyStyle><color>7f6bbe19</color></PolyStyle></Style>
\t<Folder>
\t\t<name>Inspection</name>
\t\t<open>1</open>
\t\t<Placemark>
\t\t\t<name>Tower 7</name>
\t\t\t<description>Check the insulators</description>
\t\t\t<LookAt><longitude>113.9435</longitude><latitude>22.5774</latitude><range>500</range>
\t\t\t\t<gx:altitudeMode>relativeToSeaFloor</gx:altitudeMode></LookAt>
\t\t\t<styleUrl>#m_ylw-pushpin</styleUrl>
\t\t\t<ExtendedData><Data name="asset_id"><value>T-0007</value></Data></ExtendedData>
\t\t\t<Point><gx:drawOrder>1</gx:drawOrder>
\t\t\t\t<coordinates>113.9435,22.5774,0</coordinates></Point>
\t\t</Placemark>
\t\t<Placemark>
\t\t\t<name>Fence line</name>
\t\t\t<Style><LineStyle><color>ff00bbff</color><width>3</width></LineStyle></Style>
\t\t\t<LineString><tessellate>1</tessellate>
\t\t\t\t<coordinates>
\t\t\t\t\t113.9431,22.5771,0 113.9440,22.5771,0 113.9440,22.5779,0
\t\t\t\t</coordinates></LineString>
\t\t</Placemark>
\t\t<Placemark>
\t\t\t<name>Yard</name>
\t\t\t<styleUrl>#poly_green</styleUrl>
\t\t\t<Polygon><tessellate>1</tessellate><outerBoundaryIs><LinearRing><coordinates>
\t\t\t\t113.9431,22.5771,0 113.9440,22.5771,0 113.9440,22.5779,0 113.9431,22.5779,0
\t\t\t\t113.9431,22.5771,0
\t\t\t</coordinates></LinearRing></outerBoundaryIs></Polygon>
\t\t</Placemark>
\t</Folder>
</Document>
</kml>
"""

# QGIS "Export > Save Features As… GeoJSON" (RFC 7946 off, the default): a named CRS, a "name"
# on the collection, attribute columns as properties (nulls included), a MultiPolygon.
QGIS_GEOJSON = json.dumps(
    {
        "type": "FeatureCollection",
        "name": "site_layers",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"fid": 1, "name": "Pad A", "height": 12.5, "note": None},
                "geometry": {"type": "Point", "coordinates": [113.9436, 22.5775]},
            },
            {
                "type": "Feature",
                "properties": {"fid": 2, "name": "Road", "stroke": "#ff8800"},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[113.9431, 22.5771], [113.9445, 22.5780]],
                },
            },
            {
                "type": "Feature",
                "properties": {"fid": 3, "name": "Lots", "fill": "#0091FF"},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [
                        [[[113.94, 22.57], [113.941, 22.57], [113.941, 22.571], [113.94, 22.57]]],
                        [[[113.95, 22.57], [113.951, 22.57], [113.951, 22.571], [113.95, 22.57]]],
                    ],
                },
            },
        ],
    }
).encode()


def test_google_earth_kml_keeps_names_colours_and_data() -> None:
    features = parse_kml(GOOGLE_EARTH_KML)
    assert [(f.name, f.type) for f in features] == [
        ("Tower 7", 0),
        ("Fence line", 1),
        ("Yard", 2),
    ]
    tower, fence, yard = features
    assert tower.content["geometry"] == {"type": "Point", "coordinates": [113.9435, 22.5774, 0.0]}
    assert tower.content["properties"]["color"] == "#FF0000"  # ff0000ff is aabbggrr: red
    assert tower.content["properties"]["asset_id"] == "T-0007"
    assert tower.content["properties"]["description"] == "Check the insulators"
    assert tower.content["properties"]["folder"] == "Inspection"
    assert fence.content["properties"]["color"] == "#FFBB00"  # inline style
    assert yard.content["properties"]["color"] == "#19BE6B"  # shared style
    assert len(yard.content["geometry"]["coordinates"][0]) == 5


def test_qgis_geojson_keeps_attributes_and_splits_multipolygons() -> None:
    features = parse_geojson(QGIS_GEOJSON)
    assert [(f.name, f.type) for f in features] == [
        ("Pad A", 0),
        ("Road", 1),
        ("Lots (1)", 2),
        ("Lots (2)", 2),
    ]
    pad, road, lot, _ = features
    assert pad.content["properties"] == {
        "fid": 1,
        "height": 12.5,
        "note": None,
        "color": "#2D8CF0",
    }
    assert road.content["properties"]["color"] == "#FF8800"
    assert lot.content["properties"]["color"] == "#0091FF"


@pytest.mark.parametrize("fmt", ["kml", "geojson"])
def test_round_trip_keeps_names_properties_and_colours(fmt: str) -> None:
    original = parse_kml(GOOGLE_EARTH_KML) + parse_geojson(QGIS_GEOJSON)
    groups = [("Survey", [(f.name, f.type, f.content) for f in original])]
    exported = to_kml(groups) if fmt == "kml" else to_geojson(groups)
    again = parse_file(f"export.{fmt}", exported)
    assert [(f.name, f.type) for f in again] == [(f.name, f.type) for f in original]
    for before, after in zip(original, again, strict=True):
        assert after.content["geometry"] == before.content["geometry"], before.name
        assert after.content["properties"]["color"] == before.content["properties"]["color"]
        # every property with its JSON type (KML: through the export's typed ExtendedData)
        assert after.content["properties"] == before.content["properties"], before.name


def test_kml_export_is_readable_by_other_tools() -> None:
    """Google Earth shows each property as text; a tool that ignores our typed entry still
    gets names, colours and text properties."""
    [tower] = [f for f in parse_kml(GOOGLE_EARTH_KML) if f.name == "Tower 7"]
    kml = to_kml([("Survey", [(tower.name, tower.type, tower.content)])])
    assert b'<Data name="asset_id"><value>T-0007</value></Data>' in kml
    assert b"<styleUrl>#cFF0000</styleUrl>" in kml and b"<color>ff0000ff</color>" in kml
    plain = kml.replace(b'<Data name="gcs:properties">', b'<Data name="other">')
    [again] = parse_kml(plain)
    assert again.content["properties"]["asset_id"] == "T-0007"
    assert again.content["properties"]["color"] == "#FF0000"


def test_kmz_reads_doc_kml() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("doc.kml", GOOGLE_EARTH_KML)
        z.writestr("files/icon.png", b"\x89PNG")
    assert len(parse_file("site.kmz", buf.getvalue())) == 3


BAD_FILES = [
    ("broken.kml", GOOGLE_EARTH_KML[:-40], "not well-formed"),
    ("bomb.kml", b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaa">]>'
     b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&a;</name></Document></kml>',
     "refused"),
    ("open.geojson", json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}}).encode(), "open"),
    ("bowtie.geojson", json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}).encode(),
     "crosses itself"),
    ("far.geojson", json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "Point", "coordinates": [10, 95]}}).encode(), "latitude 95"),
    ("huge.geojson", json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "LineString", "coordinates": [[0.0, i / 1e5] for i in range(100_000)]}}).encode(),
     "at most 10000"),
    ("kind.geojson", json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "Circle", "coordinates": [0, 0]}}).encode(), "not a point, line or polygon"),
    ("types.geojson", json.dumps({"type": "Feature", "properties": {}, "geometry": {
        "type": "Point", "coordinates": "0,0"}}).encode(), "[lon, lat]"),
    ("empty.geojson", b'{"type": "FeatureCollection", "features": []}', "no point"),
    ("notzip.kmz", b"PK\x03\x04garbage", "zip"),
    ("holes.kml", b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon>'
     b"<outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1 0,0</coordinates></LinearRing>"
     b"</outerBoundaryIs><innerBoundaryIs><LinearRing><coordinates>0.1,0.1 0.2,0.1 0.2,0.2 "
     b"0.1,0.1</coordinates></LinearRing></innerBoundaryIs></Polygon></Placemark></kml>",
     "holes"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "raw", "reason"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_with_the_reason(name: str, raw: bytes, reason: str) -> None:
    with pytest.raises(ExchangeError, match=reason):
        parse_file(name, raw)
