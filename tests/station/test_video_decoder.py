"""The desktop's decoder thread when the window it reports to is gone."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from station_harness import free_port

from gcs.video.decoder import Decoder


def test_decoder_ends_quietly_when_its_window_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("av")
    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    calls: list[tuple[str, str]] = []

    def gone(state: str, text: str) -> None:  # what a deleted Qt signal source raises
        calls.append((state, text))
        raise RuntimeError("Signal source has been deleted")

    def frame(_picture: Any, _info: Any) -> None:
        raise AssertionError("no picture comes from a closed port")

    d = Decoder(f"http://127.0.0.1:{free_port()}/live/x.ts?token=t", frame, gone)
    d.start()
    d.join(30)
    assert not d.is_alive()  # it stopped instead of retrying for a window that is gone
    assert raised == []
    assert calls and calls[0][0] == "waiting"
