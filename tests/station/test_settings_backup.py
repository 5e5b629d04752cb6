"""Issue 17 #6: an empty, corrupt or missing gcs.toml never rotates a station's identities.

A real `gcs serve` creates the data folder once (settings, database with its workspace); each
test damages a copy and runs the real command-line tools on it."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from station_harness import gcs_command, start_serve

from gcs.store.settings import BACKUP_FILE, SETTINGS_FILE, SettingsError, load_settings

IDENTITY = ("workspace_id", "binding_code", "password", "username")


@pytest.fixture(scope="module")
def used_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("settings") / "station"
    sp = start_serve(data_dir)
    assert sp.stop() == 0
    return data_dir


@pytest.fixture
def station_dir(used_folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "station"
    shutil.copytree(used_folder, copy)
    return copy


def _credentials(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gcs_command("credentials", "--data-dir", str(data_dir)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _identity(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in IDENTITY}


def test_every_good_load_and_save_leaves_a_backup(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    backup = tmp_path / BACKUP_FILE
    assert backup.read_text() == (tmp_path / SETTINGS_FILE).read_text()
    assert tomllib.loads(backup.read_text())["station"]["workspace_id"] == (
        settings.station.workspace_id
    )


DAMAGES = {
    "empty": lambda p: p.write_text(""),
    "zeroed-by-a-crash": lambda p: p.write_bytes(b"\0" * 4096),
    "corrupt": lambda p: p.write_text("[station\nworkspace_id = "),
    "no-workspace": lambda p: p.write_text('[dji]\napp_id = ""\n'),
    "missing": lambda p: p.unlink(),
}


def _identities(data_dir: Path) -> dict[str, str]:
    s = load_settings(data_dir)
    return {
        "workspace_id": s.station.workspace_id,
        "binding_code": s.station.binding_code,
        "token_secret": s.station.token_secret,
        "device_password": s.mqtt.device_password,
        "credential_key": s.storage.credential_key,
    }


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_settings_are_restored_with_the_same_identities(
    station_dir: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = _identities(station_dir)
    path = station_dir / SETTINGS_FILE
    DAMAGES[damage](path)
    with caplog.at_level(logging.WARNING, logger="gcs.store.settings"):
        assert _identities(station_dir) == before
    [warning] = [r.getMessage() for r in caplog.records]
    assert "restored the last good settings" in warning
    assert tomllib.loads(path.read_text())["station"]["workspace_id"] == before["workspace_id"]
    kept = list(station_dir.glob(f"{SETTINGS_FILE}.damaged-*"))
    assert len(kept) == (0 if damage == "missing" else 1)
    if kept:
        assert kept[0].name in warning


def test_gcs_credentials_after_an_empty_gcs_toml_names_the_same_station(
    station_dir: Path,
) -> None:
    before = _credentials(station_dir)
    assert before.returncode == 0, before.stderr
    (station_dir / SETTINGS_FILE).write_text("")
    after = _credentials(station_dir)
    assert after.returncode == 0, after.stderr
    assert _identity(json.loads(after.stdout)) == _identity(json.loads(before.stdout))
    assert "restored the last good settings" in after.stderr


def test_without_a_backup_the_station_refuses_and_says_how_to_restore(station_dir: Path) -> None:
    (station_dir / BACKUP_FILE).unlink()
    (station_dir / SETTINGS_FILE).write_text("")
    out = _credentials(station_dir)
    assert out.returncode == 2
    assert "holds workspace" in out.stderr and "lock out" in out.stderr
    assert "put your last good gcs.toml back" in out.stderr and "README" in out.stderr
    assert "Traceback" not in out.stderr
    assert (station_dir / SETTINGS_FILE).read_text() == ""  # nothing was changed


def test_new_settings_beside_a_database_with_a_workspace_are_refused(station_dir: Path) -> None:
    (station_dir / BACKUP_FILE).unlink()
    (station_dir / SETTINGS_FILE).unlink()
    with pytest.raises(SettingsError, match="holds workspace"):
        load_settings(station_dir)
    assert not (station_dir / SETTINGS_FILE).exists()


def test_a_first_start_with_preseeded_sections_still_generates_identities(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text('[dji]\napp_id = "123"\n')
    settings = load_settings(tmp_path)
    assert settings.dji.app_id == "123" and settings.station.workspace_id
