"""`gcs wayline info`: summary and findings for people and scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wpml_kmz import kmz, waylines_xml

from gcs.cli.main import main


def test_info_on_a_real_route(waylines_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["wayline", "info", str(waylines_dir / "pilot2-waypoint-makeathon.kmz")])
    out = capsys.readouterr().out
    assert status == 0
    assert "0-91-1 (Matrice 3TD)" in out
    assert "waypoint (0)" in out
    assert "15 (gimbalRotate 5, orientedShoot 1, rotateYaw 4, startRecord 1, zoom 4)" in out
    assert "64c1f5692073d67678b5c384c801cc6c" in out
    assert "usable: 0 error(s), 0 warning(s)" in out


def test_info_json(waylines_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = waylines_dir / "psdk-sample-waypoint.kmz"
    assert main(["wayline", "info", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["file"] == str(path) and report["usable"] is True
    assert report["findings"] == []
    summary = report["summary"]
    assert summary["drone_model_key"] == "0-77-0"
    assert summary["template_types"] == [0]
    assert summary["waypoint_count"] == 14


def test_info_with_warnings_is_still_usable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "no-template.kmz"
    path.write_bytes(kmz(template=None))
    assert main(["wayline", "info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "usable: 0 error(s), 1 warning(s)" in out
    assert "WARNING missing_template" in out and "Pilot 2 无法编辑" in out


def test_info_on_a_file_with_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.kmz"
    path.write_bytes(kmz(waylines_xml(""), None))
    assert main(["wayline", "info", str(path)]) == 1
    out = capsys.readouterr().out
    assert "NOT usable: 1 error(s)" in out and "ERROR no_waypoints" in out


@pytest.mark.parametrize("as_json", [False, True])
def test_info_on_a_broken_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    path = tmp_path / "broken.kmz"
    path.write_bytes(b"not a zip at all")
    args = ["wayline", "info", *(["--json"] if as_json else []), str(path)]
    assert main(args) == 1
    out = capsys.readouterr().out
    if as_json:
        report = json.loads(out)
        assert report["usable"] is False and report["summary"] is None
        assert report["findings"][0]["code"] == "not_zip"
        assert report["findings"][0]["message_zh"]
    else:
        assert "ERROR not_zip" in out


def test_info_on_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wayline", "info", str(tmp_path / "nope.kmz")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_info_requires_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["wayline", "info"])
    assert info.value.code == 2


def test_info_on_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wayline", "info", str(tmp_path)]) == 1
    assert "not a regular file" in capsys.readouterr().out
