"""The per-gateway conversation, sans-IO: feed it messages and a clock, check what it decides."""

from __future__ import annotations

from typing import Any

import pytest

from gcs.protocol.conversation import (
    Advanced,
    Answered,
    Conversation,
    Finished,
    Plan,
    Sent,
    parse_progress,
)
from gcs.protocol.envelope import Message
from gcs.protocol.topics import Topic, TopicKind

GW = "DOCK0001"
COVER = Plan("cover_open", None, progress=frozenset({"cover_open"}), progress_timeout_s=10)


def reply(sent: Message, data: Any, *, sn: str = GW, method: str | None = "same") -> Message:
    kind = TopicKind.PROPERTY_SET_REPLY if sent.method is None else TopicKind.SERVICES_REPLY
    return Message(
        Topic(kind, sn),
        data,
        tid=sent.tid,
        bid=sent.bid,
        method=sent.method if method == "same" else method,
    )


def event(bid: str, method: str, data: Any, tid: str = "t") -> Message:
    return Message(Topic(TopicKind.EVENTS, GW), data, tid=tid, bid=bid, method=method)


def progress(status: str, percent: float = 0, result: int = 0) -> dict[str, Any]:
    return {"result": result, "output": {"status": status, "progress": {"percent": percent}}}


def test_a_plain_service_ends_at_its_reply() -> None:
    conv = Conversation(GW)
    sent = conv.send(Plan("debug_mode_open"), 0.0)
    assert sent.message.topic == Topic(TopicKind.SERVICES, GW)
    assert sent.message.method == "debug_mode_open" and sent.message.data == {}
    changes = conv.receive(reply(sent.message, {"result": 0, "output": {"x": 1}}), 0.1)
    assert changes == [
        Answered(sent.command_id, {"x": 1}, final=True),
        Finished(sent.command_id, "ok", 0, {"x": 1}),
    ]
    assert len(conv) == 0


def test_property_set_goes_to_its_own_topic_and_reads_per_property_results() -> None:
    conv = Conversation(GW)
    sent = conv.send(Plan("property/set", {"height_limit": 200}), 0.0)
    assert sent.message.topic.kind is TopicKind.PROPERTY_SET and sent.message.method is None
    changes = conv.receive(reply(sent.message, {"height_limit": {"result": 2}}), 0.1)
    finished = changes[-1]
    assert isinstance(finished, Finished) and finished.status == "failed" and finished.result == 2


def test_a_reply_from_another_gateway_or_with_other_ids_is_not_ours() -> None:
    conv = Conversation(GW)
    sent = conv.send(Plan("debug_mode_open"), 0.0)
    assert conv.receive(reply(sent.message, {"result": 0}, sn="OTHER01"), 0.1) == []
    foreign = Message(Topic(TopicKind.SERVICES_REPLY, GW), {"result": 0}, tid="x", bid="y")
    assert conv.receive(foreign, 0.1) == []
    assert len(conv) == 1


def test_a_reply_without_method_matches_on_tid_and_bid() -> None:
    conv = Conversation(GW)
    sent = conv.send(Plan("in_flight_wayline_stop", {"in_flight_wayline_id": "w"}), 0.0)
    changes = conv.receive(reply(sent.message, {"result": 0}, method=None), 0.1)
    assert isinstance(changes[-1], Finished) and changes[-1].ok


def test_resends_with_a_new_tid_and_same_bid_then_times_out() -> None:
    conv = Conversation(GW)
    sent = conv.send(Plan("debug_mode_open", reply_timeout_s=3, retries=2), 0.0)
    assert conv.tick(2.9) == []
    first = conv.tick(3.0)
    assert len(first) == 1 and isinstance(first[0], Sent) and first[0].attempt == 2
    assert first[0].message.tid != sent.message.tid and first[0].message.bid == sent.message.bid
    # the old tid no longer matches
    assert conv.receive(reply(sent.message, {"result": 0}), 3.1) == []
    second = conv.tick(6.0)
    assert isinstance(second[0], Sent) and second[0].attempt == 3
    end = conv.tick(9.0)
    assert end == [Finished(sent.command_id, "timeout", None, None)]
    assert len(conv) == 0 and conv.next_deadline() is None


def test_a_job_follows_its_progress_to_a_terminal_status() -> None:
    conv = Conversation(GW)
    sent = conv.send(COVER, 0.0, bid="job-1")
    assert sent.message.bid == "job-1"
    accepted = conv.receive(reply(sent.message, {"result": 0}), 0.1)
    assert accepted == [Answered(sent.command_id, {}, final=False)]
    step = conv.receive(event("job-1", "cover_open", progress("in_progress", 50)), 1.0)
    assert isinstance(step[0], Advanced) and step[0].progress.percent == 50
    # an event of another method or bid is not this job's
    assert conv.receive(event("job-1", "cover_close", progress("ok", 100)), 1.5) == []
    assert conv.receive(event("job-2", "cover_open", progress("ok", 100)), 1.5) == []
    done = conv.receive(event("job-1", "cover_open", progress("ok", 100)), 2.0)
    assert isinstance(done[0], Finished) and done[0].ok and done[0].progress is not None


def test_progress_before_the_reply_accepts_the_job() -> None:
    conv = Conversation(GW)
    sent = conv.send(COVER, 0.0)
    changes = conv.receive(event(sent.message.bid, "cover_open", progress("in_progress", 5)), 0.1)
    assert isinstance(changes[0], Answered) and isinstance(changes[1], Advanced)
    assert conv.tick(100.0)[0] == Finished(
        sent.command_id, "timeout", None, None, changes[1].progress
    ), "no resends once accepted; only the progress deadline remains"


def test_a_silent_running_job_times_out_on_progress() -> None:
    conv = Conversation(GW)
    sent = conv.send(COVER, 0.0)
    conv.receive(reply(sent.message, {"result": 0}), 0.1)
    assert conv.tick(10.0) == []
    [finished] = conv.tick(10.2)
    assert isinstance(finished, Finished) and finished.status == "timeout"


def test_device_error_on_reply_and_in_progress() -> None:
    conv = Conversation(GW)
    sent = conv.send(COVER, 0.0)
    [failed] = conv.receive(reply(sent.message, {"result": 514107}), 0.1)
    assert isinstance(failed, Finished) and failed.result == 514107 and not failed.ok
    sent = conv.send(COVER, 1.0)
    conv.receive(reply(sent.message, {"result": 0}), 1.1)
    [bad] = conv.receive(event(sent.message.bid, "cover_open", progress("ok", 100, 514109)), 2)
    assert isinstance(bad, Finished) and bad.status == "failed" and bad.result == 514109


def test_two_jobs_with_one_bid_are_refused_and_cancel_forgets() -> None:
    conv = Conversation(GW)
    sent = conv.send(COVER, 0.0, bid="b")
    with pytest.raises(ValueError):
        conv.send(COVER, 0.0, bid="b")
    conv.cancel(sent.command_id)
    assert len(conv) == 0
    assert conv.receive(reply(sent.message, {"result": 0}), 0.1) == []
    conv.send(COVER, 0.0, bid="b")  # the bid is free again


@pytest.mark.parametrize(
    ("data", "status", "percent", "step", "result"),
    [
        (progress("in_progress", 40), "in_progress", 40.0, "", 0),
        (
            {"result": 0, "output": {"status": "ok", "progress": {"current_step": 3}}},
            "ok",
            None,
            "3",
            0,
        ),
        ({"status": "wayline_ok", "result": 0, "fly_to_id": "f"}, "wayline_ok", None, "", 0),
        ({"result": "x", "output": {"progress": {"percent": "half"}}}, "", None, "", -1),
        ("not an object", "", None, "", 0),
    ],
)
def test_parse_progress_shapes(
    data: Any, status: str, percent: float | None, step: str, result: int
) -> None:
    p = parse_progress(data)
    assert (p.status, p.percent, p.step, p.result) == (status, percent, step, result)
