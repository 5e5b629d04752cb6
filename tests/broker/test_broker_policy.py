"""The auth file, password hashes, topic rules and the mosquitto config, without a broker."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from broker.auth import (
    AuthData,
    AuthFile,
    AuthFileError,
    Policy,
    User,
    filter_covers,
    hash_password,
    topic_matches,
    verify_password,
)
from broker.mosquitto import Login, acl_text, mosquitto_password_hash


def test_password_hash_round_trip_and_salt() -> None:
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second  # salted
    assert first.startswith("pbkdf2_sha256$100000$")
    assert verify_password("s3cret", first) and verify_password("s3cret", second)
    assert not verify_password("S3cret", first)
    for broken in ("", "pbkdf2_sha256$x$y$z", "md5$1$AA==$AA==", first + "$extra"):
        assert not verify_password("s3cret", broken)


def test_mosquitto_hash_matches_mosquitto_passwd() -> None:
    # `mosquitto_passwd -b file alice secret` (mosquitto 2.0.11) wrote this line.
    line = (
        "$7$101$IIlpMdtQ/rkkWJXy$zyAmepYsbog6DOL/6ia/+b2oHH7vmQnQmPX5DLwPlbpw9+QMQwMSmXd94j3nZ"
        "TjzkNhDH8WC6650KV6sFyY75g=="
    )
    salt = base64.b64decode(line.split("$")[3])
    assert mosquitto_password_hash("secret", salt=salt) == line


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("thing/product/D1/#", "thing/product/D1/osd", True),
        ("thing/product/D1/#", "thing/product/D1", True),
        ("thing/product/D1/#", "thing/product/D10/osd", False),
        ("thing/product/+/osd", "thing/product/D1/osd", True),
        ("thing/product/+/osd", "thing/product/D1/state", False),
        ("sys/product/D1/status", "sys/product/D1/status_reply", False),
        ("#", "$SYS/broker/load", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize(
    ("allowed", "requested", "expected"),
    [
        ("thing/product/D1/#", "thing/product/D1/#", True),
        ("thing/product/D1/#", "thing/product/D1/+", True),
        ("thing/product/D1/#", "thing/product/D1/drc/up", True),
        ("thing/product/D1/#", "thing/product/+/osd", False),
        ("thing/product/D1/#", "thing/product/#", False),
        ("thing/product/D1/#", "#", False),
        ("sys/product/D1/status", "sys/product/D1/+", False),
        ("sys/product/D1/status", "sys/product/D1/status", True),
        ("thing/product/+/osd", "thing/product/D1/osd", True),
        ("thing/product/+/osd", "thing/product/+/osd", True),
        ("thing/product/+/osd", "thing/product/#", False),
    ],
)
def test_filter_covers(allowed: str, requested: str, expected: bool) -> None:
    assert filter_covers(allowed, requested) is expected


def policy_with(gateways: dict[str, list[str]]) -> tuple[Policy, User, User]:
    path_users = [
        User("station", hash_password("pw", iterations=1000), "station"),
        User("devices", hash_password("pw", iterations=1000), "device"),
        User("dock-D2", hash_password("pw", iterations=1000), "device", "D2"),
    ]
    data = AuthData(
        {u.username: u for u in path_users}, {k: frozenset(v) for k, v in gateways.items()}
    )
    return Policy(data), path_users[1], path_users[2]


def test_policy_rules() -> None:
    policy, shared, dock2 = policy_with({"D1": ["A1"], "D2": ["A2"]})
    station = policy.user("station")
    assert policy.authenticate("devices", "pw") == shared
    assert policy.authenticate("devices", "nope") is None
    assert policy.authenticate(None, None) is None and policy.authenticate("", "pw") is None
    assert policy.may_subscribe(station, "x", "#")
    assert policy.may_publish(shared, "D1", "thing/product/A1/osd")
    assert not policy.may_publish(shared, "D1", "thing/product/A2/osd")
    assert not policy.may_publish(shared, "D1", "sys/product/D1/other")
    assert policy.may_publish(dock2, "D1", "thing/product/D2/osd")  # bound by credentials
    assert not policy.may_publish(dock2, "D1", "thing/product/D1/osd")
    assert not policy.may_publish(None, "D1", "thing/product/D1/osd")
    assert not policy.may_publish(shared, "bad/id", "thing/product/bad/id/osd")
    assert not policy.may_subscribe(shared, "#", "#")  # client id '#' binds to nothing


def test_update_topo_latest_wins() -> None:
    policy, shared, _ = policy_with({"D1": ["A1"]})
    topo = json.dumps({"method": "update_topo", "data": {"sub_devices": [{"sn": "A1"}]}})
    assert policy.learn_topology("D3", topo.encode())
    assert policy.may_publish(shared, "D3", "thing/product/A1/osd")
    assert not policy.may_publish(shared, "D1", "thing/product/A1/osd")  # moved to D3
    empty = json.dumps({"method": "update_topo", "data": {"sub_devices": []}})
    assert policy.learn_topology("D3", empty.encode())
    assert not policy.may_publish(shared, "D3", "thing/product/A1/osd")
    assert not policy.learn_topology("D3", b"not json")
    assert not policy.learn_topology("D3", b'{"method":"other","data":{}}')
    assert not policy.learn_topology("D3", empty.encode())  # unchanged


def test_auth_file_atomic_write_and_change_detection(tmp_path: Path) -> None:
    path = tmp_path / "data" / "broker-auth.json"
    users = [User("station", hash_password("pw", iterations=1000), "station")]
    AuthFile.write(path, users, {"D1": ["A1"]})
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["broker-auth.json"]  # no temp left
    reader = AuthFile(path)
    data = reader.load()
    assert data.users["station"].role == "station"
    assert data.gateways == {"D1": frozenset({"A1"})}
    assert reader.load_if_changed() is None
    AuthFile.write(path, [*users, User("devices", hash_password("pw", iterations=1000))])
    changed = reader.load_if_changed()
    assert changed is not None and set(changed.users) == {"station", "devices"}
    path.write_text("{broken")
    with pytest.raises(AuthFileError, match="unreadable"):
        reader.load_if_changed()


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"version": 2, "users": []},
        {"version": 1, "users": [{"username": "a"}]},
        {"version": 1, "users": [{"username": "a", "password_hash": "x", "role": "admin"}]},
        {"version": 1, "users": [{"username": "a", "password_hash": "x", "gateway": "D/1"}]},
        {"version": 1, "users": [], "gateways": {"D1": ["A+"]}},
        {"version": 1, "users": [{"username": "a", "password_hash": "x"}] * 2},
    ],
)
def test_invalid_auth_files_are_refused(tmp_path: Path, document: object) -> None:
    path = tmp_path / "broker-auth.json"
    path.write_text(json.dumps(document))
    with pytest.raises(AuthFileError):
        AuthFile(path).load()


def test_mosquitto_acl_expresses_the_rules() -> None:
    text = acl_text(
        [
            Login("station", "pw", "station"),
            Login("dock-D2", "pw", "device", "D2"),
        ],
        {"D1": ["A1"], "D2": ["A2"]},
    )
    assert "user station\ntopic readwrite #\n" in text
    assert "topic readwrite thing/product/A2/#" in text
    assert "pattern" not in text  # no client-id-bound login: no pattern granting %c to all
    with_shared = acl_text([Login("devices", "pw", "device")], {"D1": ["A1"]})
    assert "pattern readwrite thing/product/%c/#" in with_shared
    assert "topic readwrite thing/product/A1/#" in with_shared


def test_early_subscription_to_an_unclaimed_aircraft() -> None:
    """A dock subscribes to its aircraft's reply topics before its first update_topo."""
    policy, shared, _ = policy_with({"D1": ["A1"], "D2": ["A2"]})
    # A9 is claimed by nobody: D3 may subscribe now, but receives nothing until it claims it.
    assert policy.may_subscribe(shared, "D3", "thing/product/A9/state_reply")
    assert not policy.may_receive(shared, "D3", "thing/product/A9/state_reply")
    topo = json.dumps({"method": "update_topo", "data": {"sub_devices": [{"sn": "A9"}]}})
    policy.learn_topology("D3", topo.encode())
    assert policy.may_receive(shared, "D3", "thing/product/A9/state_reply")
    # Serials claimed by another gateway, and gateways themselves, stay off limits.
    assert not policy.may_subscribe(shared, "D3", "thing/product/A1/state_reply")
    assert not policy.may_subscribe(shared, "D4", "thing/product/A9/state_reply")
    assert not policy.may_subscribe(shared, "D3", "thing/product/D1/services")
    assert not policy.may_subscribe(shared, "D3", "thing/product/D2/osd")
    # Wildcards in the serial are never "unclaimed".
    assert not policy.may_subscribe(shared, "D3", "thing/product/+/state_reply")
    assert not policy.may_subscribe(shared, "D3", "thing/product/#")
    assert not policy.may_subscribe(None, "D3", "thing/product/A7/osd")


def test_repeated_logins_skip_the_slow_hash_but_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    import broker.auth as auth_module

    calls = []
    real = auth_module.verify_password

    def counting(password: str, password_hash: str) -> bool:
        calls.append(password)
        return real(password, password_hash)

    monkeypatch.setattr(auth_module, "verify_password", counting)
    policy, shared, _ = policy_with({})
    for _ in range(200):
        assert policy.authenticate("devices", "pw") == shared
    assert len(calls) == 1  # one PBKDF2 run for 200 logins of the same login
    assert policy.authenticate("devices", "pw2") is None
    assert policy.authenticate("devices", "pw2") is None  # failures are never remembered
    assert len(calls) == 3
    # A new hash for the same login (password changed) is verified afresh.
    new = User("devices", hash_password("new", iterations=1000), "device")
    policy.replace(AuthData({"devices": new}, {}))
    assert policy.authenticate("devices", "pw") is None
    assert policy.authenticate("devices", "new") == new


def test_claims_of_a_serial(tmp_path: Path) -> None:
    """Issue 16: who may speak for which serial (the broker asks `claimable`)."""
    users = [
        User("devices", hash_password("pw", iterations=1000), "device"),
        User("pilot", hash_password("pw", iterations=1000), "pilot"),
        User("dock-D2", hash_password("pw", iterations=1000), "device", "D2"),
    ]
    path = AuthFile.write(tmp_path / "a.json", users, {"D1": ["A1"], "R1": []}, docks=["D1"])
    assert json.loads(path.read_text())["docks"] == ["D1"]
    policy = Policy(AuthFile(path).load())
    shared, pilot, own = (policy.user(n) for n in ("devices", "pilot", "dock-D2"))
    assert shared and pilot and own
    first, second = object(), object()
    assert policy.claimable(shared, "D1", first) is None
    policy.hold("D1", first)
    assert "held" in (policy.claimable(shared, "D1", second) or "")
    assert policy.claimable(shared, "D1", first) is None  # its own hold
    assert "per-device" in (policy.claimable(shared, "D2", first) or "")
    assert "aircraft" in (policy.claimable(shared, "A1", first) or "")
    assert policy.claimable(pilot, "R1", second) is None
    assert policy.claimable(own, "D2", second) is None
    assert "bound to D2" in (policy.claimable(own, "D1", second) or "")
    # An online gateway's aircraft cannot be claimed; an offline one's can.
    topo = json.dumps({"method": "update_topo", "data": {"sub_devices": [{"sn": "A1"}]}})
    assert policy.topology_conflicts("D3", topo.encode()) == [
        "aircraft A1 belongs to online gateway D1"
    ]
    policy.release("D1", first)
    assert policy.topology_conflicts("D3", topo.encode()) == []
    assert "dock" in (policy.claimable(pilot, "D1", second) or "")  # the file's docks, offline
    as_gateway = json.dumps({"method": "update_topo", "data": {"sub_devices": [{"sn": "D1"}]}})
    assert policy.topology_conflicts("D3", as_gateway.encode()) == [
        "D1 is a gateway, not a sub-device"
    ]
    # A dock learned from its update_topo (domain 3) is never a Pilot login's either.
    dock_topo = json.dumps({"method": "update_topo", "data": {"domain": "3", "sub_devices": []}})
    policy.learn_topology("D9", dock_topo.encode())
    assert "dock" in (policy.claimable(pilot, "D9", second) or "")
