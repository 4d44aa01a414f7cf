"""Length-prefixed JSON frames: a 4-byte big-endian length, then a UTF-8 JSON object.

The parent reads frames written by sandboxed code, so the decoder assumes
nothing: it enforces a size cap before buffering and rejects anything that is
not a JSON object.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

HEADER = struct.Struct(">I")


class FrameError(Exception):
    """The peer sent bytes that are not a well-formed frame."""


class FrameTooLarge(FrameError):
    """The peer announced (or sent) a frame over the cap."""


def encode_frame(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise FrameError("frame is not a JSON object")
    return value


class FrameDecoder:
    """Incremental decoder: feed() bytes as they arrive, get whole frames back."""

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        frames: list[dict[str, Any]] = []
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if length > self.max_frame:
                raise FrameTooLarge(f"frame of {length} bytes exceeds {self.max_frame}")
            if len(self._buffer) < HEADER.size + length:
                break
            body = bytes(self._buffer[HEADER.size : HEADER.size + length])
            del self._buffer[: HEADER.size + length]
            frames.append(decode_body(body))
        return frames

    @property
    def pending(self) -> int:
        return len(self._buffer)


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
