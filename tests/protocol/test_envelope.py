"""Envelope, topics and reply rules, fed with literal wire JSON from the protocol file and docs."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gcs.protocol import replies
from gcs.protocol.envelope import MAX_PAYLOAD_BYTES, DecodeError, Message, decode, encode
from gcs.protocol.topics import Topic, TopicError, TopicKind, parse_topic, topic


def test_topics_build_and_parse_every_kind() -> None:
    for kind in TopicKind:
        text = topic(kind, "1ZNDH1D0010098")
        assert parse_topic(text) == Topic(kind, "1ZNDH1D0010098")
    assert topic(TopicKind.STATUS, "SN1") == "sys/product/SN1/status"
    assert topic(TopicKind.PROPERTY_SET_REPLY, "SN1") == "thing/product/SN1/property/set_reply"
    assert parse_topic("thing/product/SN1/requests").reply == Topic(TopicKind.REQUESTS_REPLY, "SN1")
    assert parse_topic("thing/product/SN1/osd").reply is None


@pytest.mark.parametrize(
    "bad",
    [
        "thing/product/SN1/unknown",
        "sys/product/SN1/osd",  # osd lives under thing/
        "thing/product/SN1/status",  # status lives under sys/
        "thing/product//osd",
        "thing/product/SN 1/osd",
        "thing/product/+/osd",
        "thing/device/SN1/osd",
        "",
    ],
)
def test_unknown_topics_are_refused(bad: str) -> None:
    with pytest.raises(TopicError):
        parse_topic(bad)


CONFIG_REQUEST = (
    b'{"bid":"42a19f36-5117-4520-bd13-fd61d818d52e","data":{"config_scope":"product",'
    b'"config_type":"json"},"gateway":"sn","tid":"6a7bfe89-c386-4043-b600-b518e10096cc",'
    b'"timestamp":1667803298000,"method":"config"}'
)


def test_decode_config_request_and_build_its_reply() -> None:
    msg = decode("thing/product/DOCK1/requests", CONFIG_REQUEST)
    assert msg.kind is TopicKind.REQUESTS
    assert (msg.tid, msg.bid, msg.method, msg.gateway) == (
        "6a7bfe89-c386-4043-b600-b518e10096cc",
        "42a19f36-5117-4520-bd13-fd61d818d52e",
        "config",
        "sn",
    )
    assert msg.timestamp == 1667803298000
    assert replies.needs_reply(msg)
    reply = replies.config_reply(
        msg,
        {
            "ntp_server_host": "10.0.0.1",
            "ntp_server_port": 123,
            "app_id": "1",
            "app_key": "k",
            "app_license": "l",
        },
        now_ms=1700000000000,
    )
    wire = json.loads(reply.encode())
    assert str(reply.topic) == "thing/product/DOCK1/requests_reply"
    assert wire == {
        "tid": "6a7bfe89-c386-4043-b600-b518e10096cc",
        "bid": "42a19f36-5117-4520-bd13-fd61d818d52e",
        "timestamp": 1700000000000,
        "method": "config",
        "data": {
            "ntp_server_host": "10.0.0.1",
            "ntp_server_port": 123,
            "app_id": "1",
            "app_key": "k",
            "app_license": "l",
        },
    }


def test_reply_rules_table() -> None:
    def msg(kind: TopicKind, need: bool = False) -> Message:
        return Message(Topic(kind, "G1"), {}, tid="t", bid="b", method="m", need_reply=need)

    assert replies.default_reply(msg(TopicKind.STATUS), now_ms=1) is not None
    assert replies.default_reply(msg(TopicKind.REQUESTS), now_ms=1) is not None
    assert replies.default_reply(msg(TopicKind.EVENTS, True), now_ms=1) is not None
    assert replies.default_reply(msg(TopicKind.EVENTS, False), now_ms=1) is None
    assert replies.default_reply(msg(TopicKind.STATE, True), now_ms=1) is not None
    assert replies.default_reply(msg(TopicKind.STATE, False), now_ms=1) is None
    for kind in (
        TopicKind.OSD,
        TopicKind.SERVICES_REPLY,
        TopicKind.PROPERTY_SET_REPLY,
        TopicKind.DRC_UP,
    ):
        assert replies.default_reply(msg(kind, True), now_ms=1) is None
    ev = replies.events_reply(msg(TopicKind.EVENTS, True), now_ms=5)
    assert json.loads(ev.encode()) == {
        "tid": "t",
        "bid": "b",
        "timestamp": 5,
        "method": "m",
        "data": {"result": 0},
    }
    assert str(ev.topic) == "thing/product/G1/events_reply"
    err = replies.requests_reply(msg(TopicKind.REQUESTS), now_ms=5, result=210002)
    assert err.data == {"result": 210002}
    ok = replies.requests_reply(msg(TopicKind.REQUESTS), now_ms=5, output={"a": 1})
    assert ok.data == {"result": 0, "output": {"a": 1}}
    st_ = replies.status_reply(msg(TopicKind.STATUS), now_ms=5)
    assert str(st_.topic) == "sys/product/G1/status_reply" and st_.method == "m"


def test_airsense_warning_array_data_and_string_timestamp() -> None:
    raw = (
        b'{"tid":"a","bid":"b","timestamp":"1654070968655","method":"airsense_warning","need_reply":1,'
        b'"data":[{"icao":"B-1","warning_level":3,"latitude":22.5,"longitude":113.9,"altitude":300,'
        b'"altitude_type":0,"heading":90,"relative_altitude":100,"vert_trend":0,"distance":1200}]}'
    )
    msg = decode("thing/product/DOCK1/events", raw)
    assert isinstance(msg.data, list) and msg.data[0]["icao"] == "B-1"
    assert msg.timestamp == 1654070968655 and msg.need_reply


def test_parameterless_services_accept_empty_string_data() -> None:
    msg = decode(
        "thing/product/DOCK1/services",
        b'{"tid":"t","bid":"b","timestamp":1,"method":"return_home","data":""}',
    )
    assert msg.data == ""


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        (b"not json", None, "not JSON"),
        (b"[1,2]", None, "not an object"),
        (b'{"bid":"b","timestamp":1,"method":"config","data":{}}', "tid", "missing"),
        (b'{"tid":"t","bid":"b","timestamp":1,"data":{}}', "method", "missing"),
        (b'{"tid":5,"bid":"b","timestamp":1,"method":"config","data":{}}', "tid", "string"),
        (
            b'{"tid":"t","bid":"b","timestamp":"soon","method":"config","data":{}}',
            "timestamp",
            "integer",
        ),
        (
            b'{"tid":"t","bid":"b","timestamp":1,"method":"config","need_reply":7,"data":{}}',
            "need_reply",
            "0 or 1",
        ),
        (b'{"tid":"t","bid":"b","timestamp":1,"method":"config","data":[1]}', "data", "object"),
        (b'{"tid":"t","bid":"b","timestamp":1,"method":"config"}', "data", "missing"),
    ],
)
def test_malformed_requests_name_the_field(payload: bytes, field: str | None, words: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode("thing/product/DOCK1/requests", payload)
    assert info.value.field == field
    assert words in info.value.reason
    assert info.value.topic == "thing/product/DOCK1/requests"


def test_broken_request_with_readable_ids_can_still_be_answered() -> None:
    with pytest.raises(DecodeError) as info:
        decode(
            "thing/product/DOCK1/requests",
            b'{"tid":"t1","bid":"b1","timestamp":"x","method":"config","data":{}}',
        )
    partial = info.value.reply_to
    assert partial is not None and partial.tid == "t1" and partial.method == "config"
    reply = replies.default_reply(partial, now_ms=1, result=210002)
    assert reply is not None and reply.data == {"result": 210002} and reply.tid == "t1"


def test_oversize_and_unknown_topic() -> None:
    with pytest.raises(DecodeError, match="exceeds"):
        decode("thing/product/DOCK1/osd", b"{" + b" " * MAX_PAYLOAD_BYTES + b"}")
    with pytest.raises(DecodeError, match=r"unknown topic|not sys"):
        decode("thing/product/DOCK1/nope", b"{}")


def test_encode_round_trip_keeps_extra_keys() -> None:
    msg = decode(
        "thing/product/DOCK1/drc/up", b'{"method":"heart_beat","seq":7,"data":{"timestamp":1}}'
    )
    assert msg.extra == {"seq": 7}
    again = decode(str(msg.topic), encode(msg))
    assert again.extra == {"seq": 7} and again.data == msg.data


def _docs(shared: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in (shared / "dji-doc-examples.jsonl").open()]
    return [r for r in rows if r["protocol"] == "mqtt"]


def test_every_doc_example_decodes(shared_data: Path) -> None:
    """All 914 MQTT examples of DJI's docs decode, except the few that are not envelopes."""
    failures = []
    count = 0
    for r in _docs(shared_data):
        t = str(r["topic"]).replace("{gateway_sn}", "1ZNDH1D0010098")
        if r["kind"] == "reply" and "drc/" not in t:
            t += "_reply"
        try:
            decode(t, orjson.dumps(r["example"]))
            count += 1
        except DecodeError as exc:
            failures.append((r["id"], exc.field))
    # Six `in_flight_wayline_*` replies in the docs are bare `{"result": 0}` with no envelope:
    # without a tid they cannot be correlated, and we say so.
    assert all(f == "tid" and "in-flight-wayline" in i for i, f in failures), failures
    assert len(failures) <= 6
    assert count >= 900


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_decode_never_raises_anything_but_decode_error(data: bytes) -> None:
    for t in (
        "thing/product/SN1/osd",
        "thing/product/SN1/requests",
        "sys/product/SN1/status",
        "thing/product/SN1/events",
    ):
        try:
            decode(t, data)
        except DecodeError:
            pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["tid", "bid", "timestamp", "method", "need_reply", "data", "gateway", "x"]
        ),
        json_values,
    )
)
def test_decode_of_any_json_object_is_typed_or_a_decode_error(doc: dict[str, object]) -> None:
    payload = json.dumps(doc).encode()
    for t in ("thing/product/SN1/state", "thing/product/SN1/requests", "thing/product/SN1/events"):
        try:
            msg = decode(t, payload)
        except DecodeError:
            continue
        assert isinstance(msg.tid, str) and isinstance(msg.timestamp, int)
        assert isinstance(msg.need_reply, bool)


def test_services_reply_without_method_decodes() -> None:
    # The shape of DJI's Dock 2/3 in_flight_wayline_* replies: tid and bid, no method.
    msg = decode(
        "thing/product/DOCK1/services_reply",
        b'{"tid":"t","bid":"b","timestamp":1,"data":{"result":0}}',
    )
    assert (msg.kind, msg.method, msg.tid, msg.bid, msg.data) == (
        TopicKind.SERVICES_REPLY,
        None,
        "t",
        "b",
        {"result": 0},
    )
    with pytest.raises(DecodeError) as info:  # without a tid nothing could be matched
        decode("thing/product/DOCK1/services_reply", b'{"bid":"b","data":{"result":0}}')
    assert info.value.field == "tid"
