"""The amqtt plugin that authenticates logins and checks topics against the station's auth file.

`GcsAccessPlugin` is loaded by amqtt from the broker config (``plugins`` section). It owns the
`AuthFile` and the `Policy`; the broker (`broker.server.GcsBroker`) asks it directly on the hot
paths (every publish, every delivery) instead of going through amqtt's plugin manager, which
creates tasks per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from broker.auth import AuthData, AuthFile, AuthFileError, Policy, User, topic_serial

log = logging.getLogger(__name__)

USER_KEY = "gcs.user"  # session.attributes key: the User the connection logged in as
BINDING_KEY = "gcs.binding"  # session.attributes key: the connection's `Binding`

Reporter = Callable[..., None]


@dataclass(eq=False)
class Binding:
    """What one connection speaks for; also the token the `Policy` records as a serial's holder.

    Attributes:
        session: the amqtt session of the connection.
        gateway: the serial it speaks for (None: none yet, or a station login).
        confirmed: True once bound by credentials or by a publish (a client-id binding is
            tentative: the first publish on another free serial moves it there).
        last_heard: monotonic time the broker last read bytes from the connection.
        stalled_since: monotonic time its outgoing queue went over its bound (None: it is not).
        deliveries: its deliveries in progress (cancelled when the connection ends).
    """

    session: Session
    gateway: str | None = None
    confirmed: bool = False
    last_heard: float = field(default_factory=time.monotonic)
    stalled_since: float | None = None
    deliveries: set[asyncio.Task[None]] = field(default_factory=set)


class GcsAccessPlugin(BaseAuthPlugin, BaseTopicPlugin):  # type: ignore[misc]
    """Authentication and per-gateway ACL from ``broker-auth.json``."""

    @dataclass
    class Config:
        """Plugin options (amqtt fills them from the ``plugins`` section)."""

        auth_path: str = ""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.auth_file = AuthFile(self.config.auth_path)
        self.policy = Policy()
        self.reporter: Reporter | None = None  # set by the broker: refusals go to the station
        self.reload(initial=True)

    # -- auth file

    def reload(self, *, initial: bool = False) -> list[str]:
        """Re-read the auth file if it changed.

        Returns:
            Usernames whose entry changed or vanished (their connections should be dropped).

        Raises:
            AuthFileError: only when `initial` is true and the file is missing or invalid.
        """
        try:
            data = self.auth_file.load() if initial else self.auth_file.load_if_changed()
        except AuthFileError as exc:
            if initial:
                raise
            log.error("%s; keeping the previous logins and rules", exc)
            return []
        if data is None:
            return []
        old = self.policy.data
        self.policy.replace(data)
        if not initial:
            log.info("auth file reloaded: %d logins", len(data.users))
        return _changed_users(old, data)

    # -- amqtt plugin interface

    async def authenticate(self, *, session: Session) -> bool | None:
        """Check username/password in a worker thread (PBKDF2 must not block the loop).

        Returns:
            True for a known login with the right password; False otherwise.
        """
        if not session.username or session.password is None:
            log.info("refused anonymous login from %s", session.remote_address)
            return False
        loop = asyncio.get_running_loop()
        password = session.password
        if isinstance(password, bytes):
            password = password.decode("utf-8", "replace")
        user = await loop.run_in_executor(
            None, self.policy.authenticate, session.username, password
        )
        if user is None:
            log.info("refused login %r (client id %r)", session.username, session.client_id)
            if self.reporter is not None:
                self.reporter(
                    "login_refused",
                    "warning",
                    f"wrong password for MQTT login {session.username!r}",
                    session=session,
                    key=session.username,
                )
            return False
        session.attributes[USER_KEY] = user
        return True

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        """Return whether the session may subscribe/publish/receive on `topic`."""
        if session is None or topic is None:
            return False
        if action == Action.SUBSCRIBE:
            allowed = self.may_subscribe(session, topic)
            if not allowed and self.reporter is not None:
                self.reporter(
                    "subscribe_refused",
                    "warning",
                    f"may not subscribe to {topic}",
                    session=session,
                    topic=topic,
                )
            return allowed
        return self.may_publish(session, topic)

    # -- direct checks used by the broker

    def user_of(self, session: Session) -> User | None:
        """Return the current entry of the login the session used, or None if it vanished."""
        logged_in = session.attributes.get(USER_KEY)
        if not isinstance(logged_in, User):
            return None
        current = self.policy.user(logged_in.username)
        return current if current == logged_in else None

    def binding(self, session: Session) -> Binding | None:
        """Return the connection's binding (None before it is authenticated)."""
        bound = session.attributes.get(BINDING_KEY)
        return bound if isinstance(bound, Binding) else None

    def claimed(self, session: Session) -> str | None:
        """Return the serial the connection speaks for, or None."""
        bound = session.attributes.get(BINDING_KEY)
        return bound.gateway if isinstance(bound, Binding) else None

    def may_publish(self, session: Session, topic: str) -> bool:
        """Return whether the session may publish on `topic`."""
        return self.policy.may_publish(self.user_of(session), self.claimed(session), topic)

    def may_receive(self, session: Session, topic: str) -> bool:
        """Return whether a message on `topic` may be delivered to the session."""
        return self.policy.may_receive(self.user_of(session), self.claimed(session), topic)

    def may_subscribe(self, session: Session, topic_filter: str) -> bool:
        """Return whether the session may subscribe to `topic_filter`."""
        binding = self.binding(session)
        return self.policy.may_subscribe(
            self.user_of(session),
            binding.gateway if binding else None,
            topic_filter,
            token=binding,
            settled=binding is None
            or binding.confirmed
            or (binding.gateway is not None and self.policy.is_known_gateway(binding.gateway)),
        )

    # -- binding a connection to the serial it speaks for

    def bind_at_connect(self, session: Session) -> Binding:
        """Bind a freshly authenticated connection: to its login's gateway (per-device
        credentials, confirmed), else tentatively to its client id when that serial is free."""
        binding = Binding(session)
        session.attributes[BINDING_KEY] = binding
        user = self.user_of(session)
        if user is None or user.role == "station":
            return binding
        if user.gateway is not None:
            binding.gateway, binding.confirmed = user.gateway, True
            self.policy.hold(user.gateway, binding)
            return binding
        client_id = session.client_id or ""
        if self.policy.claimable(user, client_id, binding) is None:
            binding.gateway = client_id
            self.policy.hold(client_id, binding)
        return binding

    def claim(self, session: Session, topic: str) -> str | None:
        """A publish the current binding does not allow: may it bind the connection to the
        serial of `topic`? Only a gateway's own topics claim (``sys/product/{sn}/status``, and
        ``thing/product/{sn}/`` requests, events, services_reply, property/set_reply, drc/up),
        and only for a connection whose binding is not confirmed yet.

        Returns:
            None if the connection is now bound to that serial; else why not.
        """
        binding = self.binding(session)
        user = self.user_of(session)
        serial = topic_serial(topic)
        if binding is None or user is None or serial is None:
            return "not a device topic"
        if not _claiming_topic(topic):
            # Only a gateway's own topics claim a serial: an aircraft topic (osd, state) must
            # never make its publisher the aircraft's gateway.
            return f"not this connection's device (it speaks for {binding.gateway or 'none yet'})"
        if binding.confirmed:
            return f"this connection speaks for {binding.gateway}"
        reason = self.policy.claimable(user, serial, binding)
        if reason is not None:
            return reason
        if binding.gateway is not None:
            self.policy.release(binding.gateway, binding)
        binding.gateway, binding.confirmed = serial, True
        self.policy.hold(serial, binding)
        log.info("client %s now speaks for %s", session.client_id, serial)
        return None

    def confirm(self, session: Session, topic: str) -> None:
        """A publish on the tentatively bound serial's own topics confirms the binding."""
        binding = self.binding(session)
        if binding is not None and not binding.confirmed and binding.gateway is not None:
            if topic_serial(topic) == binding.gateway:
                binding.confirmed = True

    def unbind(self, binding: Binding) -> None:
        """The connection ended: release its serial and cancel its deliveries in progress."""
        if binding.gateway is not None:
            self.policy.release(binding.gateway, binding)
        for task in list(binding.deliveries):
            task.cancel()
        binding.deliveries.clear()


# Topics only a gateway publishes on with its own serial (protocol §1): a dock's first
# messages are its `config` request and its update_topo, in either order.
_GATEWAY_TOPICS = ("requests", "events", "services_reply", "property/set_reply", "drc/up")


def _claiming_topic(topic: str) -> bool:
    parts = topic.split("/", 3)
    if len(parts) != 4 or parts[1] != "product":
        return False
    if parts[0] == "sys":
        return parts[3] == "status"
    return parts[0] == "thing" and parts[3] in _GATEWAY_TOPICS


def _changed_users(old: AuthData, new: AuthData) -> list[str]:
    return [name for name, user in old.users.items() if new.users.get(name) != user]
