"""Users: who may log in from DJI Pilot 2, with which role, and their own MQTT login.

Each user has a hashed password (PBKDF2, the broker's scheme), a role (`admin` or `pilot`), a
workspace, and a per-user MQTT login. The MQTT login is handed to Pilot at login (`thing`
module) and its verifier is written to the embedded broker's auth file with role `pilot`: the
broker ties such a login to the MQTT client id, which Pilot sets to the RC serial, so a Pilot
user can use only that RC's (and its aircraft's) topics.

The MQTT password is never stored (issue 17 #5): it is derived, HMAC-SHA256 keyed with the
station's secret (`station.token_secret` in gcs.toml) over the user's id and MQTT name, so the
station can hand the same password at every login while the table holds only its PBKDF2
verifier. `mqtt_login` brings the verifier up to date before handing the password out: a new
user, a database migrated from clear-text passwords (whose old password keeps working until
then), or a changed station secret.

Theory of operation: the table is the truth; the service keeps a copy in memory for the
per-request token checks and re-reads it at most every `RELOAD_S` seconds (and at every login),
so users added or changed by `gcs user ...` while the station runs are picked up. When the set
of MQTT logins changes, `on_logins_changed` is called (the station rewrites the broker's auth
file). Also remembers which user bound which remote controller (shown in Pilot's topology).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable

from broker import User, hash_password, verify_password
from gcs.store import users as q
from gcs.store.db import MQTT_HASH_ITERATIONS, Store
from gcs.store.users import ROLES, UserExists, UserRow

log = logging.getLogger(__name__)

__all__ = ["ROLES", "UserError", "UserExists", "UserRow", "Users", "new_user_row"]

RELOAD_S = 5.0
# The embedded broker re-reads its auth file every 0.5 s: a login that just changed the MQTT
# logins waits this long before handing them to Pilot, so they work at once.
BROKER_SETTLE_S = 0.6
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 6


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why and what to do."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def derive_mqtt_password(secret: str, user: UserRow) -> str:
    """The MQTT password of `user` under the station secret: 32 URL-safe characters (192 bits)."""
    message = f"gcs pilot mqtt v1\0{user.id}\0{user.mqtt_username}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:32]


def check_username(username: str) -> None:
    """Raises UserError unless `username` is 1-64 letters, digits or `_ . @ -`."""
    if not _NAME_RE.match(username):
        raise UserError(
            f"user name {username!r} is not allowed: use 1-64 letters, digits, '_', '.', '@' "
            "or '-', starting with a letter or digit"
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")


def new_user_row(username: str, password: str, role: str, workspace_id: str) -> UserRow:
    """A new user with a hashed password and an MQTT name (not saved yet). The MQTT password's
    verifier is set when the station first hands the password out (`Users.mqtt_login`).

    Raises:
        UserError: bad name, short password or unknown role.
    """
    check_username(username)
    check_password(password)
    if role not in ROLES:
        raise UserError(f"role {role!r} is unknown: use one of {', '.join(ROLES)}")
    now = _now_ms()
    return UserRow(
        id=str(uuid.uuid4()),
        username=username,
        password_hash=hash_password(password),
        role=role,
        workspace_id=workspace_id,
        mqtt_username=f"pilot-{username}",
        mqtt_password_hash="",
        token_epoch=0,
        created_at=now,
        updated_at=now,
    )


class Users:
    """The user service of a running station. Usable after `await load()`."""

    def __init__(
        self,
        store: Store,
        *,
        workspace_id: str,
        mqtt_secret: str,
        on_logins_changed: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not mqtt_secret:
            raise ValueError("the station secret that MQTT passwords derive from is empty")
        self.store = store
        self.workspace_id = workspace_id
        self._mqtt_secret = mqtt_secret
        self._verified: set[tuple[str, str]] = set()  # (user id, verifier) known to match
        self.on_logins_changed = on_logins_changed
        self._clock = clock
        self._by_id: dict[str, UserRow] = {}
        self._loaded_at = float("-inf")
        self._reload_lock = asyncio.Lock()
        self._rc_user: dict[str, str] = {}  # RC serial -> user id
        self._logins_changed_at = float("-inf")

    async def load(self, default_user: str = "", default_password: str = "") -> None:
        """Read the users; create `default_user` (role admin) if no user of that name exists."""
        if default_user:
            existing = await self.store.call(q.user_by_name, default_user)
            if existing is None:
                try:
                    row = await asyncio.get_running_loop().run_in_executor(
                        None,
                        new_user_row,
                        default_user,
                        default_password,
                        "admin",
                        self.workspace_id,
                    )
                    await self.store.call(q.insert_user, row)
                except (UserError, UserExists) as exc:
                    log.warning("default user %r not created: %s", default_user, exc)
        await self.reload(force=True)

    async def reload(self, *, force: bool = False) -> None:
        """Re-read the table if the copy is older than `RELOAD_S` (or `force`)."""
        if not force and self._clock() - self._loaded_at < RELOAD_S:
            return  # the common case, without taking the lock
        async with self._reload_lock:
            if not force and self._clock() - self._loaded_at < RELOAD_S:
                return
            rows = await self.store.call(q.list_users)
            before = self.broker_users()
            self._by_id = {r.id: r for r in rows}
            self._loaded_at = self._clock()
            if self.broker_users() != before:
                self._logins_changed_at = self._clock()
                if self.on_logins_changed is not None:
                    self.on_logins_changed()

    def all(self) -> list[UserRow]:
        return sorted(self._by_id.values(), key=lambda u: u.username)

    def get(self, user_id: str) -> UserRow | None:
        """The cached user with that id (None if unknown)."""
        return self._by_id.get(user_id)

    async def current(self, user_id: str) -> UserRow | None:
        """The user with that id, from a copy at most `RELOAD_S` old."""
        await self.reload()
        return self._by_id.get(user_id)

    async def authenticate(self, username: str, password: str) -> UserRow | None:
        """Check a login against the table (fresh read); None if name or password is wrong."""
        await self.reload(force=True)
        row = next((u for u in self._by_id.values() if u.username == username), None)
        if row is None:
            # Spend the same time as a real check so names cannot be probed by timing.
            await asyncio.get_running_loop().run_in_executor(
                None, verify_password, password, _DUMMY_HASH
            )
            return None
        ok = await asyncio.get_running_loop().run_in_executor(
            None, verify_password, password, row.password_hash
        )
        return row if ok else None

    def mqtt_password(self, user: UserRow) -> str:
        """The MQTT password of `user` (derived, never stored)."""
        return derive_mqtt_password(self._mqtt_secret, user)

    async def mqtt_login(self, user: UserRow) -> tuple[str, str]:
        """The (username, password) Pilot's `thing` module connects with, ready for the broker.

        If the stored verifier does not match the derived password (new user, migrated
        database, changed station secret), a new verifier is stored and the broker's auth file
        rewritten; either way this returns only once the broker has had time to read the file.

        Raises:
            NotFound: the user was deleted meanwhile.
        """
        password = self.mqtt_password(user)
        current = self._by_id.get(user.id, user)
        if not await self._verifier_matches(current, password):
            loop = asyncio.get_running_loop()
            verifier = await loop.run_in_executor(
                None, lambda: hash_password(password, iterations=MQTT_HASH_ITERATIONS)
            )
            await self.store.call(q.set_mqtt_password_hash, user.id, verifier, _now_ms())
            self._verified.add((user.id, verifier))
            log.info("MQTT login of user %s set up for the broker", user.username)
            await self.reload(force=True)
        wait = BROKER_SETTLE_S - (self._clock() - self._logins_changed_at)
        if wait > 0:
            await asyncio.sleep(wait)
        return user.mqtt_username, password

    async def _verifier_matches(self, user: UserRow, password: str) -> bool:
        key = (user.id, user.mqtt_password_hash)
        if not user.mqtt_password_hash:
            return False
        if key in self._verified:
            return True
        ok = await asyncio.get_running_loop().run_in_executor(
            None, verify_password, password, user.mqtt_password_hash
        )
        if ok:
            self._verified.add(key)
        return ok

    def broker_users(self) -> list[User]:
        """The broker's logins for every user with an MQTT verifier, sorted by MQTT name.

        Role ``pilot`` with no gateway: the broker ties each connection to its client id (the
        RC serial). The verifier goes to the auth file as it is (no password is at hand).
        """
        return sorted(
            (
                User(u.mqtt_username, u.mqtt_password_hash, "pilot", None)
                for u in self._by_id.values()
                if u.mqtt_password_hash
            ),
            key=lambda u: u.username,
        )

    async def set_password(self, user_id: str, password: str) -> UserRow:
        """Change a user's station password (its tokens stop working). Raises UserError for a
        weak password, KeyError for an unknown user."""
        check_password(password)
        user = self._by_id.get(user_id)
        if user is None:
            raise KeyError(f"no user {user_id}")
        hashed = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
        row = await self.store.call(q.set_password, user.username, hashed, _now_ms())
        await self.reload(force=True)
        return row

    # -- who flies which RC ------------------------------------------------------------

    def note_rc(self, rc_sn: str, user_id: str) -> None:
        self._rc_user[rc_sn] = user_id

    def user_of_rc(self, rc_sn: str) -> UserRow | None:
        user_id = self._rc_user.get(rc_sn)
        return self._by_id.get(user_id) if user_id else None


_DUMMY_HASH = hash_password(secrets.token_hex(8))
