"""Length-prefixed JSON frames: a 4-byte big-endian length, then a UTF-8 JSON object.

The parent reads frames written by sandboxed code, so the decoder assumes
nothing: it enforces a size cap before buffering, and it parses with a bounded
parser (nesting depth and number of values capped, strings scanned by the C
scanner of the standard library) instead of `json.loads`, so a frame can cost
neither deep recursion nor millions of objects. Any failure is a FrameError.
"""

from __future__ import annotations

import json
import json.decoder
import re
import socket
import struct
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct(">I")
MAX_DEPTH = 8  # the deepest frame we send is the probe's facts: object > object > value
MAX_VALUES = 1024  # every JSON value counts: a result frame has about 20

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = (("true", True), ("false", False), ("null", None))
# The json module's own string scanner (C-accelerated): a JSON string at an index -> (text, end).
scan_string: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class FrameError(Exception):
    """The peer sent bytes that are not a well-formed frame."""


class FrameTooLarge(FrameError):
    """The peer announced (or sent) a frame over the cap."""


def encode_frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> dict[str, Any]:
    """One frame's body as a dict; FrameError for anything else, whatever the bytes are."""
    try:
        text = body.decode("utf-8")
        value = _BoundedParser(text).document()
    except FrameError:
        raise
    except Exception as exc:  # noqa: BLE001  (untrusted bytes: every failure is the peer's)
        raise FrameError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise FrameError("frame is not a JSON object")
    return value


class _BoundedParser:
    """A JSON parser for untrusted input: depth and value count are capped, nothing recurses deeply."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.values = 0

    def document(self) -> Any:
        value = self._value(0)
        self._skip()
        if self.pos != len(self.text):
            raise FrameError("not JSON: data after the value")
        return value

    def _skip(self) -> None:
        self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def _value(self, depth: int) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise FrameError(f"frame has more than {MAX_VALUES} values")
        self._skip()
        char = self.text[self.pos : self.pos + 1]
        if char == '"':
            text, self.pos = scan_string(self.text, self.pos + 1, True)
            return text
        if char in ("{", "["):
            if depth >= MAX_DEPTH:
                raise FrameError(f"frame nests deeper than {MAX_DEPTH}")
            return self._object(depth + 1) if char == "{" else self._array(depth + 1)
        for word, value in _LITERALS:
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return value
        match = _NUMBER.match(self.text, self.pos)
        if match is None or match.end() == self.pos:
            raise FrameError(f"not JSON: unexpected character at {self.pos}")
        self.pos = match.end()
        fraction, exponent = match.group(1), match.group(2)
        return float(match.group()) if fraction or exponent else int(match.group())

    def _expect(self, char: str) -> None:
        self._skip()
        if self.text[self.pos : self.pos + 1] != char:
            raise FrameError(f"not JSON: expected {char!r} at {self.pos}")
        self.pos += 1

    def _peek(self, char: str) -> bool:
        self._skip()
        if self.text[self.pos : self.pos + 1] == char:
            self.pos += 1
            return True
        return False

    def _object(self, depth: int) -> dict[str, Any]:
        self.pos += 1
        result: dict[str, Any] = {}
        if self._peek("}"):
            return result
        while True:
            self._expect('"')
            key, self.pos = scan_string(self.text, self.pos, True)
            self._expect(":")
            result[key] = self._value(depth)
            if self._peek("}"):
                return result
            self._expect(",")

    def _array(self, depth: int) -> list[Any]:
        self.pos += 1
        result: list[Any] = []
        if self._peek("]"):
            return result
        while True:
            result.append(self._value(depth))
            if self._peek("]"):
                return result
            self._expect(",")


class FrameDecoder:
    """Incremental splitter: feed() bytes as they arrive, get whole frame bodies back."""

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    def feed_bodies(self, data: bytes) -> list[bytes]:
        """Whole frame bodies, not yet decoded (large ones are decoded off the event loop)."""
        self._buffer += data
        bodies: list[bytes] = []
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if length > self.max_frame:
                raise FrameTooLarge(f"frame of {length} bytes exceeds {self.max_frame}")
            if len(self._buffer) < HEADER.size + length:
                break
            bodies.append(bytes(self._buffer[HEADER.size : HEADER.size + length]))
            del self._buffer[: HEADER.size + length]
        return bodies

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        return [decode_body(body) for body in self.feed_bodies(data)]

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def take_pending(self) -> bytes:
        """The bytes received but not yet part of a whole frame (emptied)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def send_frame(sock: socket.socket, payload: dict[str, Any]) -> None:
    sock.sendall(encode_frame(payload))


def recv_frame(sock: socket.socket, max_frame: int) -> dict[str, Any] | None:
    """Blocking read of one frame; None on a clean EOF before any byte."""
    header = _recv_exactly(sock, HEADER.size, eof_ok=True)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if length > max_frame:
        raise FrameTooLarge(f"frame of {length} bytes exceeds {max_frame}")
    body = _recv_exactly(sock, length, eof_ok=False)
    assert body is not None
    return decode_body(body)


def _recv_exactly(sock: socket.socket, count: int, *, eof_ok: bool) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            if eof_ok and not chunks:
                return None
            raise FrameError("connection closed inside a frame")
        chunks += chunk
    return bytes(chunks)
