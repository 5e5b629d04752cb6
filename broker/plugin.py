"""The amqtt plugin that authenticates logins and checks topics against the station's auth file.

`GcsAccessPlugin` is loaded by amqtt from the broker config (``plugins`` section). It owns the
`AuthFile` and the `Policy`; the broker (`broker.server.GcsBroker`) asks it directly on the hot
paths (every publish, every delivery) instead of going through amqtt's plugin manager, which
creates tasks per call.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from broker.auth import AuthData, AuthFile, AuthFileError, Policy, User

log = logging.getLogger(__name__)

USER_KEY = "gcs.user"  # session.attributes key: the User the connection logged in as


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
            return self.may_subscribe(session, topic)
        return self.may_publish(session, topic)

    # -- direct checks used by the broker

    def user_of(self, session: Session) -> User | None:
        """Return the current entry of the login the session used, or None if it vanished."""
        logged_in = session.attributes.get(USER_KEY)
        if not isinstance(logged_in, User):
            return None
        current = self.policy.user(logged_in.username)
        return current if current == logged_in else None

    def may_publish(self, session: Session, topic: str) -> bool:
        """Return whether the session may publish on `topic`."""
        return self.policy.may_publish(self.user_of(session), session.client_id, topic)

    def may_receive(self, session: Session, topic: str) -> bool:
        """Return whether a message on `topic` may be delivered to the session."""
        return self.policy.may_receive(self.user_of(session), session.client_id, topic)

    def may_subscribe(self, session: Session, topic_filter: str) -> bool:
        """Return whether the session may subscribe to `topic_filter`."""
        return self.policy.may_subscribe(self.user_of(session), session.client_id, topic_filter)


def _changed_users(old: AuthData, new: AuthData) -> list[str]:
    return [name for name, user in old.users.items() if new.users.get(name) != user]
