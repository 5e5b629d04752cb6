"""Table `users`: the people who log in from DJI Pilot 2 (and the operator's web tools).

Every function takes the `Database` first so it can run through `Store.call` (or `call_sync`
from the command line). Password hashing is the caller's job: rows hold hashes only. The MQTT
password handed to Pilot is never stored: the station derives it from its secret and the user
(`gcs.station.users`) and keeps only a verifier (`mqtt_password_hash`, the broker's PBKDF2
format), which is what the embedded broker's auth file needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from gcs.store.devices import NotFound

ROLES = ("admin", "pilot")


class UserExists(ValueError):
    """A user with that name (or MQTT login) exists already."""


@dataclass
class UserRow:
    id: str
    username: str
    password_hash: str
    role: str
    workspace_id: str
    mqtt_username: str
    # Verifier of the user's MQTT password ("" until the station first hands one out).
    mqtt_password_hash: str
    token_epoch: int
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> UserRow:
        return cls(**row)


def list_users(db: Database) -> list[UserRow]:
    return [UserRow.from_row(r) for r in db.query("SELECT * FROM users ORDER BY username")]


def get_user(db: Database, user_id: str) -> UserRow:
    """Raises NotFound."""
    for r in db.query("SELECT * FROM users WHERE id = ?", [user_id]):
        return UserRow.from_row(r)
    raise NotFound(f"user {user_id}")


def user_by_name(db: Database, username: str) -> UserRow | None:
    for r in db.query("SELECT * FROM users WHERE username = ?", [username]):
        return UserRow.from_row(r)
    return None


def insert_user(db: Database, user: UserRow) -> None:
    """Add a user (committed before returning).

    Raises:
        UserExists: the username or MQTT username is taken.
    """
    try:
        db.execute(
            """INSERT INTO users (id, username, password_hash, role, workspace_id, mqtt_username,
                 mqtt_password_hash, token_epoch, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                user.id,
                user.username,
                user.password_hash,
                user.role,
                user.workspace_id,
                user.mqtt_username,
                user.mqtt_password_hash,
                user.token_epoch,
                user.created_at,
                user.updated_at,
            ],
        )
    except Exception as exc:  # sqlite3.IntegrityError, possibly wrapped
        if "UNIQUE" in str(exc):
            raise UserExists(f"a user named {user.username!r} exists already") from exc
        raise


def set_password(db: Database, username: str, password_hash: str, now_ms: int) -> UserRow:
    """Replace a user's password hash and invalidate the user's tokens.

    Raises:
        NotFound: no such user.
    """
    cur = db.execute(
        """UPDATE users SET password_hash = ?, token_epoch = token_epoch + 1, updated_at = ?
           WHERE username = ?""",
        [password_hash, now_ms, username],
    )
    if cur.rowcount == 0:
        raise NotFound(f"user {username}")
    row = user_by_name(db, username)
    assert row is not None
    return row


def set_mqtt_password_hash(db: Database, user_id: str, password_hash: str, now_ms: int) -> None:
    """Store a new verifier of the user's MQTT password (tokens stay valid).

    Raises:
        NotFound: no such user.
    """
    cur = db.execute(
        "UPDATE users SET mqtt_password_hash = ?, updated_at = ? WHERE id = ?",
        [password_hash, now_ms, user_id],
    )
    if cur.rowcount == 0:
        raise NotFound(f"user {user_id}")
