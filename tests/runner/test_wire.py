"""Frames from an untrusted peer: split, oversized, or not JSON at all."""

from __future__ import annotations

import pytest

from app.runner.wire import (
    HEADER,
    FrameDecoder,
    FrameError,
    FrameTooLarge,
    encode_frame,
)


def test_frames_survive_arbitrary_splits() -> None:
    stream = encode_frame({"a": 1}) + encode_frame({"b": "ü" * 10})
    decoder = FrameDecoder(max_frame=1000)
    frames = []
    for index in range(len(stream)):
        frames += decoder.feed(stream[index : index + 1])
    assert frames == [{"a": 1}, {"b": "ü" * 10}]
    assert decoder.pending == 0


def test_an_oversized_header_is_rejected_before_buffering() -> None:
    with pytest.raises(FrameTooLarge):
        FrameDecoder(max_frame=100).feed(HEADER.pack(101))


@pytest.mark.parametrize("body", [b"hello", b"\xff\xfe", b"[1, 2]"], ids=["not-json", "not-utf8", "not-object"])
def test_garbage_bodies_are_frame_errors(body: bytes) -> None:
    with pytest.raises(FrameError):
        FrameDecoder(max_frame=100).feed(HEADER.pack(len(body)) + body)
