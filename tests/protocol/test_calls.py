"""Request/reply correlation (§1.3): tid + bid matching, resends with new tids, timeouts."""

from __future__ import annotations

import json
from pathlib import Path

from gcs.protocol import replies
from gcs.protocol.calls import CallPolicy, PendingCalls, Resend, Timeout, reply_result
from gcs.protocol.envelope import decode


def _service(method: str = "cover_open", tid: str = "t1", bid: str = "b1"):  # type: ignore[no-untyped-def]
    return replies.service("DOCK1", method, None, tid=tid, bid=bid, now_ms=1)


def test_reply_matches_on_tid_and_bid_and_gateway() -> None:
    calls = PendingCalls()
    call = calls.start(_service(), now=0.0)
    other_bid = decode(
        "thing/product/DOCK1/services_reply",
        b'{"tid":"t1","bid":"zz","timestamp":1,"method":"cover_open","data":{"result":0}}',
    )
    assert calls.on_reply(other_bid) is None
    other_gw = decode(
        "thing/product/DOCK2/services_reply",
        b'{"tid":"t1","bid":"b1","timestamp":1,"method":"cover_open","data":{"result":0}}',
    )
    assert calls.on_reply(other_gw) is None
    ok = decode(
        "thing/product/DOCK1/services_reply",
        b'{"tid":"t1","bid":"b1","timestamp":1,"method":"cover_open","data":{"result":0,"output":{"status":"in_progress"}}}',
    )
    reply = calls.on_reply(ok)
    assert reply is not None and reply.call_id == call and reply.ok
    assert reply.output == {"status": "in_progress"}
    assert len(calls) == 0
    assert calls.on_reply(ok) is None  # duplicates are ignored


def test_resend_with_new_tid_same_bid_then_timeout() -> None:
    calls = PendingCalls()
    call = calls.start(_service(), now=0.0)
    assert calls.on_tick(2.9) == []
    first = calls.on_tick(3.0)
    assert len(first) == 1 and isinstance(first[0], Resend)
    resent = first[0].message
    assert resent.tid != "t1" and resent.bid == "b1" and resent.method == "cover_open"
    # a late reply to the first send no longer matches
    late = decode(
        "thing/product/DOCK1/services_reply",
        b'{"tid":"t1","bid":"b1","timestamp":1,"method":"cover_open","data":{"result":0}}',
    )
    assert calls.on_reply(late) is None
    second = calls.on_tick(6.0)
    assert isinstance(second[0], Resend)
    third = calls.on_tick(9.0)
    assert third == [Timeout(call, 3)]
    assert len(calls) == 0


def test_live_methods_wait_20_seconds() -> None:
    assert CallPolicy.for_method("live_start_push").timeout_s == 20.0
    assert CallPolicy.for_method("cover_open").timeout_s == 3.0


def test_property_set_reply_result_is_first_failure() -> None:
    ok = decode(
        "thing/product/DOCK1/property/set_reply",
        b'{"tid":"t","bid":"b","timestamp":1,"data":{"height_limit":{"result":0}}}',
    )
    assert reply_result(ok) == (0, {"height_limit": {"result": 0}})
    bad = decode(
        "thing/product/DOCK1/property/set_reply",
        b'{"tid":"t","bid":"b","timestamp":1,"data":{"a":{"result":0},"b":{"result":2}}}',
    )
    assert reply_result(bad)[0] == 2


def test_replies_with_fields_beside_result() -> None:
    msg = decode(
        "thing/product/DOCK1/services_reply",
        b'{"tid":"t","bid":"b","timestamp":1,"method":"fileupload_list","data":{"result":0,"files":[{"device_sn":"x"}]}}',
    )
    assert reply_result(msg) == (0, {"files": [{"device_sn": "x"}]})
    malformed = decode(
        "thing/product/DOCK1/services_reply",
        b'{"tid":"t","bid":"b","timestamp":1,"method":"x","data":{"result":"ok"}}',
    )
    assert reply_result(malformed)[0] == -1


def test_reply_without_method_matches_by_tid_and_bid(shared_data: Path) -> None:
    """DJI's Dock 2/3 `in_flight_wayline_*` replies carry no method (doc examples: the data is
    `{"result": 0}`): the reply still reaches its call, and gets the call's method."""
    rows = [json.loads(line) for line in (shared_data / "dji-doc-examples.jsonl").open()]
    examples = [
        r
        for r in rows
        if r["protocol"] == "mqtt" and r["kind"] == "reply" and "in-flight-wayline" in r["id"]
    ]
    assert len(examples) == 6
    for row in examples:
        method = str(row["method"])
        calls = PendingCalls()
        call = calls.start(_service(method, tid="t9", bid="b9"), now=0.0)
        envelope = {"tid": "t9", "bid": "b9", "timestamp": 1, "data": row["example"]}
        msg = decode("thing/product/DOCK1/services_reply", json.dumps(envelope).encode())
        assert msg.method is None
        reply = calls.on_reply(msg)
        assert reply is not None and reply.call_id == call and reply.ok
        assert reply.message.method == method
        assert len(calls) == 0
    # Without a method, a reply with other ids still matches nothing.
    calls = PendingCalls()
    calls.start(_service("in_flight_wayline_stop", tid="t9", bid="b9"), now=0.0)
    stray = decode(
        "thing/product/DOCK1/services_reply",
        b'{"tid":"t9","bid":"other","timestamp":1,"data":{"result":0}}',
    )
    assert calls.on_reply(stray) is None and len(calls) == 1
