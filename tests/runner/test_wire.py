"""Frames from an untrusted peer: split, oversized, or not JSON at all."""

from __future__ import annotations

import json

import pytest

from app.runner.wire import (
    HEADER,
    FrameDecoder,
    FrameError,
    FrameTooLarge,
    decode_body,
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


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b"[" * 9 + b"]" * 9, b"[" + b"0," * 5000 + b"0]", b'{"a": 1} x', b"{'a': 1}", b"1" * 5000],
    ids=["unclosed-deep", "too-deep", "too-many-values", "trailing", "python-repr", "huge-int"],
)
def test_the_bounded_parser_turns_every_hostile_body_into_a_frame_error(body: bytes) -> None:
    # json.loads raised RecursionError on the first, which escaped as a 500.
    with pytest.raises(FrameError):
        decode_body(body)


def test_the_bounded_parser_reads_what_json_reads() -> None:
    value = {"a": [1, -2.5e3, True, False, None, "ü\n\"", {"b": {}}], "c": "\ud800", "d": 0.5}
    body = json.dumps(value).encode()
    assert decode_body(body) == json.loads(body) == value
    assert decode_body(b' {\n"x" : [ ] } ') == {"x": []}
