"""In-process checks of the web parts: tokens, certificates, users, topology shapes."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest
from cryptography import x509

from broker import verify_password
from gcs.station.users import UserError, Users, new_user_row
from gcs.store import users as q
from gcs.store.db import Store
from gcs.store.users import UserExists
from gcs.web import topology
from gcs.web.tls import ensure_certificates
from gcs.web.tokens import TokenError, TokenSigner


def issue(signer: TokenSigner) -> str:
    return signer.issue(user_id="u1", username="ann", role="pilot", workspace_id="w1", epoch=3)


def test_token_round_trip_and_every_refusal() -> None:
    now = [1_800_000_000.0]
    signer = TokenSigner("s3cret", 3600, clock=lambda: now[0])
    token = issue(signer)
    claims = signer.verify(token)
    assert (claims.user_id, claims.username, claims.role, claims.workspace_id, claims.epoch) == (
        "u1",
        "ann",
        "pilot",
        "w1",
        3,
    )
    assert claims.expires_at == claims.issued_at + 3600
    prefix, body, sig = token.split(".")
    cases = {
        "": "missing",
        "abc": "malformed",
        f"gcs2.{body}.{sig}": "malformed",
        f"{prefix}.{body[:-2]}xx.{sig}": "signature",
        f"{prefix}.{body}.{sig[:-1]}A": "signature",
        f"{prefix}.{body}.{sig}é": "signature",
        issue(TokenSigner("other", 3600, clock=lambda: now[0])): "signature",
    }
    for bad, reason in cases.items():
        with pytest.raises(TokenError) as err:
            signer.verify(bad)
        assert err.value.reason == reason, bad
    now[0] += 3600
    with pytest.raises(TokenError) as err:
        signer.verify(token)
    assert err.value.reason == "expired"


def test_token_says_how_the_user_logged_in() -> None:
    """The login's flag (1 web console, 2 Pilot) rides in the token; older tokens say 0."""
    signer = TokenSigner("s3cret", 3600)
    assert signer.verify(issue(signer)).user_type == 0
    for flag in (1, 2):
        token = signer.issue(
            user_id="u1", username="ann", role="admin", workspace_id="w1", epoch=3, user_type=flag
        )
        assert signer.verify(token).user_type == flag


def test_certificates_follow_the_address_set(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path, ["127.0.0.1", "localhost", "192.168.7.20", "gcs-host"])
    ca_before = first.ca_cert.read_bytes()
    server_before = first.server_cert.read_bytes()
    again = ensure_certificates(tmp_path, ["localhost", "192.168.7.20", "127.0.0.1", "gcs-host"])
    assert again.server_cert.read_bytes() == server_before  # same names: kept
    moved = ensure_certificates(tmp_path, ["127.0.0.1", "localhost", "10.0.0.9", "gcs-host"])
    assert moved.ca_cert.read_bytes() == ca_before  # RCs keep trusting the station
    cert = x509.load_pem_x509_certificate(moved.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.0.0.9"}
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "gcs-host"}
    ctx = moved.server_context()
    assert isinstance(ctx, ssl.SSLContext)
    client = ssl.create_default_context(cafile=str(moved.ca_cert))
    assert client.get_ca_certs()[0]["subject"]
    assert (tmp_path / "tls" / "ca.key").stat().st_mode & 0o077 == 0


async def test_users_default_login_and_broker_logins(tmp_path: Path) -> None:
    store = Store(tmp_path / "gcs.db")
    changed: list[int] = []
    try:
        users = Users(
            store,
            workspace_id="w1",
            mqtt_secret="s" * 64,
            on_logins_changed=lambda: changed.append(1),
        )
        await users.load("pilot", "first-pass")
        assert [u.username for u in users.all()] == ["pilot"]
        assert users.all()[0].role == "admin"
        assert await users.authenticate("pilot", "first-pass") is not None
        assert await users.authenticate("pilot", "wrong") is None
        assert await users.authenticate("nobody", "first-pass") is None
        assert users.broker_users() == []  # no MQTT login before one is handed out
        pilot = users.all()[0]
        name, password = await users.mqtt_login(pilot)
        assert (name, password) == ("pilot-pilot", users.mqtt_password(pilot))
        assert await users.mqtt_login(pilot) == (name, password)  # the same at every login
        [login] = users.broker_users()
        assert (login.username, login.role, login.gateway) == ("pilot-pilot", "pilot", None)
        assert verify_password(password, login.password_hash)
        assert password not in login.password_hash
        row = new_user_row("bob", "bob-password", "pilot", "w1")
        await store.call(q.insert_user, row)
        with pytest.raises(UserExists):
            await store.call(q.insert_user, new_user_row("bob", "other-pass", "pilot", "w1"))
        bob = await users.authenticate("bob", "bob-password")
        assert bob is not None
        before = len(changed)
        start = time.monotonic()
        bob_password = (await users.mqtt_login(bob))[1]
        assert bob_password != password
        assert len(changed) == before + 1  # the broker's auth file must be rewritten
        assert time.monotonic() - start >= 0.5  # ... and the broker given time to read it
        assert len(users.broker_users()) == 2
        for bad in (
            ("", "longpass", "pilot"),
            ("a/b", "longpass", "pilot"),
            ("x", "123", "pilot"),
            ("x", "longpass", "root"),
        ):
            with pytest.raises(UserError):
                new_user_row(*bad, "w1")
    finally:
        store.close()


def test_osd_host_and_model_shapes() -> None:
    assert topology.osd_host({"latitude": 1.5}) is None
    host = topology.osd_host(
        {"latitude": 22.5, "longitude": 113.9, "height": 50, "mode_code": 3, "elevation": True}
    )
    assert host == {"latitude": 22.5, "longitude": 113.9, "height": 50}
    assert topology.device_model("0-67-1") == {
        "key": "0-67-1",
        "device_model_key": "0-67-1",
        "domain": "0",
        "type": "67",
        "sub_type": "1",
    }
    assert topology.device_model("junk")["key"] == "junk"
