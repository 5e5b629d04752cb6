"""The embedded broker's clean-up of disconnected sessions never removes a session that
reconnected meanwhile (amqtt's own pass could: a client that came back with the same id during
the pass lost its subscriptions, and every message after)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from amqtt.session import Session
from broker_peers import write_auth

from broker.server import GcsBroker, broker_config


def _session(client_id: str, *, connected: bool) -> Session:
    s = Session()
    s.client_id = client_id
    s.clean_session = True
    if connected:
        s.transitions.connect()
    else:
        s.transitions.connect()
        s.transitions.disconnect()
    return s


async def test_a_client_back_during_the_clean_up_keeps_its_new_session(tmp_path: Path) -> None:
    auth = write_auth(tmp_path / "broker-auth.json")
    broker = GcsBroker(broker_config("127.0.0.1", 0, str(auth)), max_queued_messages=10)
    gone = _session("DOCK0", connected=False)
    old = _session("DOCK1", connected=False)
    back = _session("DOCK1", connected=True)
    broker._sessions.update({"DOCK0": (gone, None), "DOCK1": (old, None)})
    cleaned: list[str] = []
    original = broker._cleanup_session

    async def cleanup(client_id: str) -> Any:
        cleaned.append(client_id)
        if client_id == "DOCK0":  # while this one is cleaned, DOCK1 connects again
            broker._sessions["DOCK1"] = (back, None)
        return await original(client_id)

    broker._cleanup_session = cleanup  # type: ignore[method-assign]
    await broker.clean_stale_sessions()
    assert cleaned == ["DOCK0"]
    assert broker._sessions == {"DOCK1": (back, None)}
    await broker.clean_stale_sessions()  # connected: never cleaned
    assert broker._sessions == {"DOCK1": (back, None)}
    back.transitions.disconnect()
    await broker.clean_stale_sessions()  # gone for good: cleaned
    assert broker._sessions == {}
