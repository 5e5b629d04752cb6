"""Broker credentials and the per-gateway access rules, independent of any broker.

Theory of operation
-------------------
The station owns the list of MQTT logins and writes it to ``<data_dir>/broker-auth.json``
(`AuthFile.write`, atomically: temp file + rename). The embedded broker re-reads the file when it
changes (`AuthFile.load_if_changed`) and asks a `Policy` built from it three questions:

* `Policy.authenticate` -- is this username/password right? Anonymous logins are always refused.
* `Policy.may_publish` / `Policy.may_subscribe` / `Policy.may_receive` -- may this login use this
  topic (or topic filter)?

A login has a role. ``station`` may use every topic. ``device`` and ``pilot`` connections are
tied to one *gateway* (a dock or a remote controller): the ``gateway`` named in the user entry
(per-device credentials), else the serial the connection *claims*. The client id is only a hint
(DJI docks and Pilot 2 use their serial, other clients do not): a shared login is bound
tentatively to its client id when that serial is free, and a connection's first publish on a
gateway topic of another free serial binds it there instead (`Policy.claimable`). A serial held by a
connected session, bound to another login, owned as an aircraft by another gateway, or (for a
pilot login) known as a dock cannot be claimed. Such a connection may use only

    sys/product/{gw}/status, sys/product/{gw}/status_reply,
    thing/product/{gw}/#, and thing/product/{sub}/# for every sub-device {sub} of that gateway.

Sub-devices come from the file's ``gateways`` map and from the ``update_topo`` messages each
gateway publishes on its own ``sys/product/{gw}/status`` topic (`Policy.learn_topology`). The
latest ``update_topo`` wins: an aircraft that moves to another dock leaves the old dock's list.
A subscription filter with wildcards is allowed only when every topic it can match is allowed
(``thing/product/+/osd`` is refused for a device; ``thing/product/{gw}/#`` is fine).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

__all__ = [
    "AUTH_FILE_NAME",
    "ROLES",
    "AuthFile",
    "AuthFileError",
    "Policy",
    "User",
    "filter_covers",
    "gateway_topic_filters",
    "hash_password",
    "topic_matches",
    "topic_serial",
    "update_topo_domain",
    "verify_password",
]

AUTH_FILE_NAME = "broker-auth.json"
FORMAT_VERSION = 1
Role = Literal["station", "device", "pilot"]
ROLES: tuple[Role, ...] = ("station", "device", "pilot")

_HASH_SCHEME = "pbkdf2_sha256"
_HASH_ITERATIONS = 100_000
_SALT_BYTES = 16


class AuthFileError(ValueError):
    """The auth file is missing, unreadable or does not follow the format (the message says why)."""


# ---------------------------------------------------------------------------------------------
# Passwords


def hash_password(password: str, *, iterations: int = _HASH_ITERATIONS) -> str:
    """Hash a password for the auth file.

    Returns:
        ``pbkdf2_sha256$<iterations>$<salt, base64>$<digest, base64>`` with a random 16-byte salt.
    """
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_HASH_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, password_hash: str) -> bool:
    """Check a password against a `hash_password` string.

    Returns:
        True if it matches; False if it does not or if the hash is malformed (never raises).
    """
    try:
        scheme, iterations_text, salt_text, digest_text = password_hash.split("$")
        iterations = int(iterations_text)
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(digest_text, validate=True)
    except (ValueError, TypeError):
        return False
    if scheme != _HASH_SCHEME or not 1 <= iterations <= 10_000_000:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---------------------------------------------------------------------------------------------
# Topics


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Return whether a concrete topic name matches an MQTT topic filter (``+`` and ``#``)."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


def filter_covers(allowed: str, requested: str) -> bool:
    """Return whether every topic matched by filter `requested` is also matched by `allowed`."""
    allowed_levels = allowed.split("/")
    requested_levels = requested.split("/")
    for index, level in enumerate(allowed_levels):
        if level == "#":
            return True
        if index >= len(requested_levels):
            return False
        wanted = requested_levels[index]
        if wanted == "#":
            return False
        if level == "+":
            continue
        if wanted == "+" or wanted != level:
            return False
    return len(allowed_levels) == len(requested_levels)


def gateway_topic_filters(gateway: str, sub_devices: Iterable[str]) -> list[str]:
    """Return the topic filters a device or pilot login tied to `gateway` may use."""
    filters = [
        f"sys/product/{gateway}/status",
        f"sys/product/{gateway}/status_reply",
        f"thing/product/{gateway}/#",
    ]
    filters.extend(f"thing/product/{sub}/#" for sub in sorted(sub_devices) if sub != gateway)
    return filters


def topic_serial(topic: str) -> str | None:
    """The serial a device topic speaks for: ``thing/product/{sn}/…`` or ``sys/product/{sn}/…``."""
    parts = topic.split("/", 3)
    if len(parts) < 4 or parts[1] != "product" or parts[0] not in ("thing", "sys"):
        return None
    return parts[2] if _valid_serial(parts[2]) else None


def _valid_serial(text: str) -> bool:
    # Serials become topic levels: no separators, wildcards or control characters.
    return bool(text) and not any(c in text for c in "/+#$") and text.isprintable()


# ---------------------------------------------------------------------------------------------
# The auth file


@dataclass(frozen=True, slots=True)
class User:
    """One MQTT login of the auth file.

    Attributes:
        username: MQTT user name.
        password_hash: a `hash_password` string.
        role: ``station`` (everything), ``device`` or ``pilot`` (one gateway's topics).
        gateway: the gateway serial this login is bound to (per-device credentials), or None to
            bind each connection to its MQTT client id.
    """

    username: str
    password_hash: str
    role: Role = "device"
    gateway: str | None = None

    def __post_init__(self) -> None:
        if not self.username:
            raise AuthFileError("a user has an empty username")
        if self.role not in ROLES:
            raise AuthFileError(f"user {self.username!r}: unknown role {self.role!r}")
        if self.gateway is not None and not _valid_serial(self.gateway):
            raise AuthFileError(f"user {self.username!r}: invalid gateway serial {self.gateway!r}")

    def to_json(self) -> dict[str, Any]:
        """Return the user as the auth file stores it."""
        return {
            "username": self.username,
            "password_hash": self.password_hash,
            "role": self.role,
            "gateway": self.gateway,
        }


@dataclass(frozen=True)
class AuthData:
    """The parsed content of an auth file."""

    users: dict[str, User] = field(default_factory=dict)
    gateways: dict[str, frozenset[str]] = field(default_factory=dict)
    docks: frozenset[str] = frozenset()  # gateway serials known to be docks (not RCs)

    @classmethod
    def from_json(cls, document: Any) -> AuthData:
        """Validate a decoded auth file.

        Raises:
            AuthFileError: the document does not follow the format.
        """
        if not isinstance(document, dict):
            raise AuthFileError("the auth file must hold a JSON object")
        if document.get("version") != FORMAT_VERSION:
            raise AuthFileError(f"unsupported auth file version {document.get('version')!r}")
        users: dict[str, User] = {}
        for entry in _list_of_objects(document.get("users", []), "users"):
            user = User(
                username=_text(entry, "username"),
                password_hash=_text(entry, "password_hash"),
                role=entry.get("role", "device"),
                gateway=_optional_text(entry, "gateway"),
            )
            if user.username in users:
                raise AuthFileError(f"user {user.username!r} is listed twice")
            users[user.username] = user
        raw_gateways = document.get("gateways", {})
        if not isinstance(raw_gateways, dict):
            raise AuthFileError("'gateways' must map gateway serials to lists of serials")
        gateways: dict[str, frozenset[str]] = {}
        for gateway, subs in raw_gateways.items():
            if not _valid_serial(gateway) or not isinstance(subs, list):
                raise AuthFileError(f"'gateways' entry {gateway!r} is invalid")
            if not all(isinstance(s, str) and _valid_serial(s) for s in subs):
                raise AuthFileError(f"'gateways' entry {gateway!r} lists an invalid serial")
            gateways[gateway] = frozenset(subs)
        raw_docks = document.get("docks", [])
        if not isinstance(raw_docks, list) or not all(
            isinstance(d, str) and _valid_serial(d) for d in raw_docks
        ):
            raise AuthFileError("'docks' must be a list of serials")
        return cls(users, gateways, frozenset(raw_docks))

    def to_json(self) -> dict[str, Any]:
        """Return the document to write."""
        return {
            "version": FORMAT_VERSION,
            "users": [u.to_json() for u in self.users.values()],
            "gateways": {gw: sorted(subs) for gw, subs in sorted(self.gateways.items())},
            "docks": sorted(self.docks),
        }


def _list_of_objects(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise AuthFileError(f"'{name}' must be a list of objects")
    return value


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise AuthFileError(f"a user entry lacks the text field {key!r}")
    return value


def _optional_text(entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise AuthFileError(f"a user entry has a non-text {key!r}")


class AuthFile:
    """The station's ``broker-auth.json``: an atomic writer and a change-aware reader."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._signature: tuple[int, int, int] | None = None

    @staticmethod
    def write(
        path: str | os.PathLike[str],
        users: Iterable[User],
        gateways: Mapping[str, Iterable[str]] | None = None,
        docks: Iterable[str] = (),
    ) -> Path:
        """Write an auth file atomically (temp file in the same folder, then rename).

        Args:
            path: where to write, normally ``<data_dir>/broker-auth.json``.
            users: the logins (passwords already hashed with `hash_password`).
            gateways: known gateway serial -> sub-device serials.
            docks: the gateways that are docks (a Pilot login never speaks for one).

        Returns:
            The path written.

        Raises:
            AuthFileError: a user or serial is invalid (nothing is written).
            OSError: the folder is not writable.
        """
        target = Path(path)
        data = AuthData.from_json(
            {
                "version": FORMAT_VERSION,
                "users": [u.to_json() for u in users],
                "gateways": {gw: list(subs) for gw, subs in (gateways or {}).items()},
                "docks": list(docks),
            }
        )
        text = json.dumps(data.to_json(), indent=1, ensure_ascii=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, 0o600)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return target

    def load(self) -> AuthData:
        """Read and validate the file now.

        Raises:
            AuthFileError: missing, unreadable, not JSON, or not in the format.
        """
        try:
            signature = self._stat()
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise AuthFileError(f"broker auth file {self.path} does not exist") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AuthFileError(f"broker auth file {self.path} is unreadable: {exc}") from exc
        data = AuthData.from_json(document)
        self._signature = signature
        return data

    def load_if_changed(self) -> AuthData | None:
        """Return the new content if the file changed since the last load, else None.

        Raises:
            AuthFileError: the file changed but is invalid (the caller keeps its old rules).
        """
        try:
            signature = self._stat()
        except OSError:
            signature = None
        if signature == self._signature:
            return None
        if signature is None:
            self._signature = None
            raise AuthFileError(f"broker auth file {self.path} disappeared")
        return self.load()

    def _stat(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return (st.st_mtime_ns, st.st_ino, st.st_size)


# ---------------------------------------------------------------------------------------------
# The policy


class Policy:
    """Authentication and per-gateway topic rules over one `AuthData` plus learned topology.

    Not thread-safe; the broker uses it from its event loop only.
    """

    def __init__(self, data: AuthData | None = None) -> None:
        self._data = data or AuthData()
        self._learned: dict[str, frozenset[str]] = {}
        # serial -> tokens of the connections that speak for it right now (several only for
        # the serial's own per-device login, e.g. a dock's main and DRC connections).
        self._holders: dict[str, list[object]] = {}
        # Gateway serials known to be docks (their update_topo said domain 3).
        self._docks: set[str] = set()
        self._filters_cache: dict[str, list[str]] = {}
        self._memo_key = secrets.token_bytes(32)
        self._verified: set[tuple[str, bytes]] = set()

    def replace(self, data: AuthData) -> None:
        """Use new file content; sub-devices learned from ``update_topo`` are kept."""
        self._data = data
        self._filters_cache.clear()

    @property
    def data(self) -> AuthData:
        """The current file content."""
        return self._data

    # -- authentication

    def user(self, username: str | None) -> User | None:
        """Return the login entry for `username`, or None."""
        return self._data.users.get(username) if username else None

    def authenticate(self, username: str | None, password: str | None) -> User | None:
        """Check a login.

        Returns:
            The `User` if username and password are right; None otherwise (anonymous included).
        """
        user = self.user(username)
        if user is None or password is None:
            return None
        # A slow hash is the point of PBKDF2, but two hundred docks sharing one login would
        # otherwise pay it two hundred times when they reconnect together: remember a keyed
        # digest of each password already verified against this exact hash (never the password).
        key = (user.password_hash, hmac.new(self._memo_key, password.encode(), "sha256").digest())
        if key in self._verified:
            return user
        if not verify_password(password, user.password_hash):
            return None
        if len(self._verified) > 10_000:
            self._verified.clear()
        self._verified.add(key)
        return user

    # -- topic rules

    def gateway_of(self, user: User, claimed: str | None) -> str | None:
        """Return the gateway serial a device/pilot connection is bound to (None: bound to none).

        Args:
            user: the connection's login; its ``gateway`` wins when set.
            claimed: the serial the connection holds (see `claimable`), or None.
        """
        gateway = user.gateway or claimed
        return gateway if gateway and _valid_serial(gateway) else None

    # -- who holds which serial

    def holders(self, serial: str) -> list[object]:
        """Return the tokens of the connections holding `serial` (oldest first)."""
        return list(self._holders.get(serial, ()))

    def hold(self, serial: str, token: object) -> None:
        """Record that the connection `token` now speaks for `serial` (too)."""
        tokens = self._holders.setdefault(serial, [])
        if not any(t is token for t in tokens):
            tokens.append(token)

    def release(self, serial: str, token: object) -> None:
        """Forget the hold of `token` on `serial` (other holders keep theirs)."""
        tokens = [t for t in self._holders.get(serial, ()) if t is not token]
        if tokens:
            self._holders[serial] = tokens
        else:
            self._holders.pop(serial, None)

    def is_known_gateway(self, serial: str) -> bool:
        """True if `serial` is a gateway of the auth file or has reported its topology."""
        return serial in self._data.gateways or serial in self._learned

    def is_dock(self, serial: str) -> bool:
        """True if `serial` is known as a dock (never to be acted for by a Pilot login)."""
        if serial in self._docks or serial in self._data.docks:
            return True
        return any(u.gateway == serial and u.role == "device" for u in self._data.users.values())

    def claimable(self, user: User, serial: str, token: object) -> str | None:
        """Return why the connection `token` of `user` may not speak for `serial` (None: it may).

        Refused: a login bound to another gateway; an invalid serial; a serial held by another
        connected session; bound to another login; a sub-device of another gateway; a dock, for
        a Pilot login.
        """
        if user.role == "station":
            return None
        if user.gateway is not None:
            return None if user.gateway == serial else f"login is bound to {user.gateway}"
        if not _valid_serial(serial):
            return "not a serial number"
        if any(t is not token for t in self._holders.get(serial, ())):
            return "held by another connected session"
        if any(u.gateway == serial for u in self._data.users.values()):
            return "bound to its own per-device login"
        for other in self._known_gateways() - {serial}:
            if serial in self._owned_sub_devices(other):
                return f"an aircraft of gateway {other}"
        if user.role == "pilot" and self.is_dock(serial):
            return "a dock: a Pilot login never acts for a dock"
        return None

    def sub_devices(self, gateway: str) -> frozenset[str]:
        """Return the sub-devices of `gateway`: learned from update_topo, else from the file."""
        learned = self._learned.get(gateway)
        return learned if learned is not None else self._data.gateways.get(gateway, frozenset())

    def allowed_filters(self, user: User, claimed: str | None) -> list[str] | None:
        """Return the filters a login may use; None means everything (station)."""
        if user.role == "station":
            return None
        gateway = self.gateway_of(user, claimed)
        if gateway is None:
            return []
        cached = self._filters_cache.get(gateway)
        if cached is None:
            cached = gateway_topic_filters(gateway, self._owned_sub_devices(gateway))
            self._filters_cache[gateway] = cached
        return cached

    def may_publish(self, user: User | None, claimed: str | None, topic: str) -> bool:
        """Return whether the login, bound to `claimed`, may publish on concrete topic `topic`."""
        if user is None:
            return False
        filters = self.allowed_filters(user, claimed)
        return filters is None or any(topic_matches(f, topic) for f in filters)

    def may_receive(self, user: User | None, claimed: str | None, topic: str) -> bool:
        """Return whether a message on `topic` may be delivered to the login."""
        return self.may_publish(user, claimed, topic)

    def may_subscribe(
        self,
        user: User | None,
        claimed: str | None,
        topic_filter: str,
        *,
        token: object | None = None,
        settled: bool = True,
    ) -> bool:
        """Return whether the login may subscribe to `topic_filter` (wildcards confined).

        A device may also subscribe to the topics of a serial number that is *unclaimed*: no
        known gateway and no sub-device of another gateway. Docks subscribe to their aircraft's
        reply topics as soon as they connect, before their first ``update_topo`` has told the
        broker which aircraft they carry. Nothing leaks through such a subscription: every
        delivery is checked with `may_receive` against the topology known at that moment.

        A connection whose binding is not `settled` (bound by nothing, or only by its client id)
        may also subscribe to the topics of a serial it could claim (`claimable` for `token`):
        a dock whose client id is not its serial subscribes to its ``status_reply`` before the
        ``update_topo`` that binds it.
        """
        if user is None:
            return False
        filters = self.allowed_filters(user, claimed)
        if filters is None or any(filter_covers(f, topic_filter) for f in filters):
            return True
        gateway = self.gateway_of(user, claimed)
        parts = topic_filter.split("/")
        if len(parts) < 4 or parts[1] != "product" or parts[0] not in ("thing", "sys"):
            return False
        serial = parts[2]
        if "+" in serial or "#" in serial or not _valid_serial(serial):
            return False
        could_claim = not settled and self.claimable(user, serial, token) is None
        if parts[0] == "sys":
            return could_claim and parts[3:] == ["status_reply"]
        return could_claim or self._unclaimed(serial, gateway)

    def _known_gateways(self) -> set[str]:
        known = set(self._data.gateways) | set(self._learned) | set(self._holders)
        known |= {u.gateway for u in self._data.users.values() if u.gateway}
        return known

    def _unclaimed(self, serial: str, gateway: str | None) -> bool:
        """True if no gateway but `gateway` has a claim on `serial` (as itself or a sub-device)."""
        known_gateways = self._known_gateways()
        if serial in known_gateways:
            return False
        for other in known_gateways - {gateway}:
            if serial in self._owned_sub_devices(other):
                return False
        return True

    # -- topology

    def learn_topology(self, gateway: str, payload: bytes) -> bool:
        """Take the sub-device list from an ``update_topo`` published on the gateway's status topic.

        The caller must have checked that the publisher may publish on
        ``sys/product/{gateway}/status``. Other methods and malformed payloads are ignored.

        Returns:
            True if the gateway's sub-device list changed.
        """
        subs = _parse_update_topo(payload)
        if subs is None or not _valid_serial(gateway):
            return False
        if update_topo_domain(payload) == "3":
            self._docks.add(gateway)
        if self._learned.get(gateway) == subs:
            return False
        self._learned[gateway] = subs
        for other, others in list(self._learned.items()):
            if other != gateway and others & subs:
                self._learned[other] = others - subs
        self._filters_cache.clear()
        log.info("gateway %s sub-devices now %s", gateway, sorted(subs) or "none")
        return True

    def topology_conflicts(self, gateway: str, payload: bytes) -> list[str]:
        """Return why an ``update_topo`` from `gateway` must be refused (empty: it may be learned).

        A gateway may not list another gateway as its sub-device, nor take an aircraft that
        another *online* gateway (one held by a connected session) still lists: that gateway
        must drop it first, or be offline (the move between docks).
        """
        subs = _parse_update_topo(payload)
        if subs is None:
            return []
        reasons = []
        gateways = self._known_gateways() - {gateway}
        for sub in sorted(subs - {gateway}):
            if sub in gateways:
                reasons.append(f"{sub} is a gateway, not a sub-device")
                continue
            for other in sorted(gateways):
                if other in self._holders and sub in self._owned_sub_devices(other):
                    reasons.append(f"aircraft {sub} belongs to online gateway {other}")
        return reasons

    def _owned_sub_devices(self, gateway: str) -> frozenset[str]:
        # The latest update_topo wins: a sub-device another gateway has since reported is no
        # longer this gateway's, even if the file still lists it here.
        learned = self._learned.get(gateway)
        if learned is not None:
            return learned
        claimed_elsewhere = {
            sub for other, others in self._learned.items() if other != gateway for sub in others
        }
        return self._data.gateways.get(gateway, frozenset()) - claimed_elsewhere


def update_topo_domain(payload: bytes) -> str | None:
    """The gateway's ``domain`` an update_topo states ("3" dock, "2" remote controller), as text."""
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    data = message.get("data") if isinstance(message, dict) else None
    domain = data.get("domain") if isinstance(data, dict) else None
    return str(domain) if isinstance(domain, int | str) and not isinstance(domain, bool) else None


def _parse_update_topo(payload: bytes) -> frozenset[str] | None:
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(message, dict) or message.get("method") != "update_topo":
        return None
    data = message.get("data")
    if not isinstance(data, dict):
        return None
    subs = data.get("sub_devices")
    if subs is None:
        return frozenset()
    if not isinstance(subs, list):
        return None
    serials = {s.get("sn") for s in subs if isinstance(s, dict)}
    return frozenset(s for s in serials if isinstance(s, str) and _valid_serial(s))
