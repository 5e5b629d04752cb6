"""Configuration for an external Mosquitto broker expressing the station's login and ACL rules.

`write_config` writes ``mosquitto.conf`` (from the template beside this file), a password file
in Mosquitto's own PBKDF2-SHA512 format (``$7$``, computed here, no ``mosquitto_passwd``
needed) and an ACL file. Differences from the embedded broker, all due to Mosquitto's ACL file:

* sub-devices cannot be learned from ``update_topo`` at run time; write the config again with
  the new ``gateways`` map and send SIGHUP;
* a login bound by client id (no ``gateway``) gets the sub-device topics of *every* gateway in
  the map, because an ACL file cannot tie a sub-device to ``%c``;
* the ``%c`` patterns, present only when such a login exists, apply to every login;
* a connection reusing a connected client id always takes it over (mosquitto cannot refuse it).
  With ``bind_client_ids=True`` (only possible when every device and Pilot login is bound to its
  gateway) mosquitto replaces each client id by the login's user name
  (``use_username_as_clientid``), so only a dock's own login can replace its connection;
* the maximum packet size and the queue bounds apply (``max_packet_size``,
  ``max_queued_messages``/``max_queued_bytes``); a client that stops reading is bounded, not
  disconnected.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from broker.auth import ROLES, AuthFileError, Role, gateway_topic_filters
from broker.limits import DEFAULT_MAX_PACKET

__all__ = ["Login", "acl_text", "mosquitto_password_hash", "write_config"]

TEMPLATE = Path(__file__).with_name("mosquitto.conf")
_ITERATIONS = 101  # what mosquitto_passwd 2.0 uses
_SALT_BYTES = 12


@dataclass(frozen=True, slots=True)
class Login:
    """A Mosquitto login: the plain password is needed to hash it in Mosquitto's format."""

    username: str
    password: str
    role: Role = "device"
    gateway: str | None = None

    def __post_init__(self) -> None:
        if not self.username or ":" in self.username or "\n" in self.username:
            raise AuthFileError(f"invalid Mosquitto username {self.username!r}")
        if self.role not in ROLES:
            raise AuthFileError(f"user {self.username!r}: unknown role {self.role!r}")


def mosquitto_password_hash(password: str, *, salt: bytes | None = None) -> str:
    """Return ``$7$101$<salt>$<hash>``: PBKDF2-HMAC-SHA512 as ``mosquitto_passwd`` writes it."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _ITERATIONS)
    salt_text = base64.b64encode(salt).decode()
    return f"$7${_ITERATIONS}${salt_text}${base64.b64encode(digest).decode()}"


def acl_text(logins: Iterable[Login], gateways: Mapping[str, Iterable[str]]) -> str:
    """Return the Mosquitto ACL file for the logins and gateway -> sub-devices map."""
    all_subs = sorted({sub for subs in gateways.values() for sub in subs})
    lines = ["# Written by broker.mosquitto.write_config(); see broker/README.md.", ""]
    needs_patterns = False
    for login in logins:
        lines.append(f"user {login.username}")
        if login.role == "station":
            lines.append("topic readwrite #")
        elif login.gateway:
            filters = gateway_topic_filters(login.gateway, gateways.get(login.gateway, ()))
            lines.extend(f"topic readwrite {f}" for f in filters)
        else:
            needs_patterns = True
            lines.extend(f"topic readwrite thing/product/{sub}/#" for sub in all_subs)
            if not all_subs:
                lines.append("# (no sub-devices known yet)")
        lines.append("")
    if needs_patterns:
        lines.append(
            "# Logins bound by client id (= gateway serial); patterns apply to all logins."
        )
        lines.extend(f"pattern readwrite {f}" for f in gateway_topic_filters("%c", ()))
    return "\n".join(lines) + "\n"


def write_config(
    directory: str | os.PathLike[str],
    users: Iterable[Login],
    gateways: Mapping[str, Iterable[str]] | None = None,
    port: int = 1883,
    *,
    bind: str = "0.0.0.0",
    max_queued: int = 1000,
    max_queued_bytes: int = 16 * 1024 * 1024,
    max_packet: int = DEFAULT_MAX_PACKET,
    bind_client_ids: bool = False,
) -> Path:
    """Write ``mosquitto.conf``, ``passwords`` and ``acl`` into `directory`.

    Args:
        directory: created if needed; the files are readable by their owner only.
        users: the logins with their plain passwords.
        gateways: gateway serial -> sub-device serials.
        port: listener port.
        bind: listener address.
        max_queued: Mosquitto's ``max_queued_messages``.
        max_queued_bytes: Mosquitto's ``max_queued_bytes`` (per client).
        max_packet: Mosquitto's ``max_packet_size``: a bigger packet disconnects its client.
        bind_client_ids: write ``use_username_as_clientid true``, so a connection can only
            take over a connection of its own login; needs every device and Pilot login bound
            to a gateway (per-device credentials).

    Returns:
        The path of ``mosquitto.conf`` (start with ``mosquitto -c <path>``).

    Raises:
        AuthFileError: a login is invalid or listed twice, or `bind_client_ids` with a login
            bound by client id.
        OSError: the directory is not writable.
    """
    folder = Path(directory).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    logins = list(users)
    names = [login.username for login in logins]
    if len(set(names)) != len(names):
        raise AuthFileError("a Mosquitto username is listed twice")
    if bind_client_ids and any(u.role != "station" and not u.gateway for u in logins):
        raise AuthFileError(
            "bind_client_ids needs every device and Pilot login bound to its gateway"
        )
    gateway_map = {gw: sorted(subs) for gw, subs in (gateways or {}).items()}
    password_path = folder / "passwords"
    acl_path = folder / "acl"
    conf_path = folder / "mosquitto.conf"
    _write(
        password_path,
        "".join(f"{u.username}:{mosquitto_password_hash(u.password)}\n" for u in logins),
    )
    _write(acl_path, acl_text(logins, gateway_map))
    conf = TEMPLATE.read_text(encoding="utf-8").format(
        conf_path=conf_path,
        password_path=password_path,
        acl_path=acl_path,
        port=port,
        bind=bind,
        max_queued=max_queued,
        max_queued_bytes=max_queued_bytes,
        max_packet=max_packet,
        client_id_binding=(
            "# Only a login's own connections can replace each other (client id = user name).\n"
            "use_username_as_clientid true\n"
            if bind_client_ids
            else ""
        ),
        run_as=getpass.getuser(),
    )
    _write(conf_path, conf)
    return conf_path


def _write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.chmod(temp, 0o600)
    os.replace(temp, path)
