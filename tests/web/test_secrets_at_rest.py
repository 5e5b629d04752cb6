"""Issue 17 #5: no Pilot MQTT password in clear at rest, and a database from before the change
keeps its users' MQTT logins working (real `gcs serve`, real broker, real HTTP)."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pilot_peers import PilotStation, RawGateway, start_pilot_station

from broker import hash_password, verify_password
from gcs.store.db import DB_FILE, migrations

LEGACY_USER = "alice"
LEGACY_LOGIN_PASSWORD = "alice-login-pw"
LEGACY_MQTT_PASSWORD = "LegacyMqttPw0123456789ab"  # 24 characters, as the old code made them
RC_ALICE = "5YSZL260021EA1"
RC_PILOT = "5YSZL260021EA2"


def _old_database(data_dir: Path) -> None:
    """A gcs.db as the previous release left it: schema up to 0004, a clear MQTT password."""
    data_dir.mkdir(parents=True)
    from sqlite_utils import Database

    db = Database(sqlite3.connect(str(data_dir / DB_FILE), isolation_level=None))
    db.execute("PRAGMA journal_mode=WAL")
    migrations.apply(db, stop_before="0007_users_mqtt_verifier")
    now = int(time.time() * 1000)
    db.execute(
        """INSERT INTO users (id, username, password_hash, role, workspace_id, mqtt_username,
             mqtt_password, token_epoch, created_at, updated_at)
           VALUES (?, ?, ?, 'pilot', 'w-old', ?, ?, 0, ?, ?)""",
        [
            str(uuid.uuid4()),
            LEGACY_USER,
            hash_password(LEGACY_LOGIN_PASSWORD),
            f"pilot-{LEGACY_USER}",
            LEGACY_MQTT_PASSWORD,
            now,
            now,
        ],
    )
    db.conn.close()


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotStation]:
    data_dir = tmp_path_factory.mktemp("secrets") / "station"
    _old_database(data_dir)
    st = start_pilot_station(data_dir)
    yield st
    st.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as s:
        yield s


async def _login(
    http: aiohttp.ClientSession, st: PilotStation, user: str, password: str
) -> dict[str, Any]:
    body = {"username": user, "password": password, "flag": 2}
    async with http.post(st.http + "manage/api/v1/login", json=body) as r:
        doc = json.loads(await r.text())
    assert r.status == 200 and doc["code"] == 0, doc
    return dict(doc["data"])


def _files_holding(folder: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and needle in p.read_bytes()
    ]


def _mqtt_accepts(st: PilotStation, username: str, password: str, client_id: str) -> bool:
    gw = RawGateway(st.mqtt_port, username, password, client_id)
    try:
        return gw.rc == 0
    finally:
        gw.close()


def test_a_migrated_user_keeps_the_old_mqtt_login_but_not_in_clear(station: PilotStation) -> None:
    assert _files_holding(station.data_dir, LEGACY_MQTT_PASSWORD) == []
    with sqlite3.connect(station.data_dir / DB_FILE) as conn:
        (verifier,) = conn.execute(
            "SELECT mqtt_password_hash FROM users WHERE username = ?", [LEGACY_USER]
        ).fetchone()
    assert verify_password(LEGACY_MQTT_PASSWORD, verifier)
    # A Pilot still holding the old password is not locked out before it logs in again.
    assert _mqtt_accepts(station, f"pilot-{LEGACY_USER}", LEGACY_MQTT_PASSWORD, RC_ALICE)
    assert not _mqtt_accepts(station, f"pilot-{LEGACY_USER}", "wrong-password", RC_ALICE)


async def test_login_hands_a_working_mqtt_password_that_is_nowhere_on_disk(
    station: PilotStation, http: aiohttp.ClientSession
) -> None:
    for user, password, rc in (
        (station.username, station.password, RC_PILOT),
        (LEGACY_USER, LEGACY_LOGIN_PASSWORD, RC_ALICE),
    ):
        data = await _login(http, station, user, password)
        mqtt_password = data["mqtt_password"]
        assert mqtt_password and mqtt_password != LEGACY_MQTT_PASSWORD
        assert _mqtt_accepts(station, data["mqtt_username"], mqtt_password, rc)
        assert _files_holding(station.data_dir, mqtt_password) == []
        again = await _login(http, station, user, password)
        assert again["mqtt_password"] == mqtt_password  # a second RC of the same user
