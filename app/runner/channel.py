"""asyncio readers for a run's two sockets.

`Channel` reads a run's sockets. On the data socket the peer is the snippet's
own process and so untrusted: frames are size-capped, decoded by the bounded
parser (in a worker thread when large, so the event loop keeps serving), and
EOF is an answer, not an error. The status socket carries one frame from the
template process: the exit status.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from typing import Any

from .wire import FrameDecoder, decode_body

OFF_LOOP_BYTES = 64 * 1024  # frames larger than this are decoded in a thread


async def wait_readable(fd: int) -> None:
    """Wait until `fd` polls readable (a socket with data or EOF, an exited pidfd)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not future.done():
            future.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await future
    finally:
        loop.remove_reader(fd)


class Channel:
    """Frames from a socket whose peer is untrusted: size-capped, bounded, EOF-aware.

    `next()` must not be cancelled while it decodes (a frame would be lost);
    callers that need a deadline wrap it in a task and wait on that.
    """

    def __init__(self, sock: socket.socket, max_frame: int) -> None:
        self._sock = sock
        self._decoder = FrameDecoder(max_frame)
        self._bodies: collections.deque[bytes] = collections.deque()
        self._eof = False

    async def next(self) -> dict[str, Any] | None:
        """The next frame, or None once the peer has closed its end. FrameError if it is not one."""
        while not self._bodies:
            if self._eof:
                return None
            data = await self._receive()
            if not data:
                self._eof = True
                continue
            self._bodies.extend(self._decoder.feed_bodies(data))
        body = self._bodies.popleft()
        if len(body) > OFF_LOOP_BYTES:
            return await asyncio.to_thread(decode_body, body)
        return decode_body(body)

    async def raw_rest(self, keep: int, timeout_s: float) -> bytes:
        """What the peer wrote that is not a frame: the bytes already received but not yet a
        whole frame, then whatever else it writes until EOF or `timeout_s`; the first `keep`
        bytes are kept, the rest read and dropped (a writer blocked on a full socket can go on)."""
        data = bytearray(self._decoder.take_pending()[:keep])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not self._eof:
            try:
                chunk = await asyncio.wait_for(self._receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                break
            if not chunk:
                self._eof = True
            data += chunk[: max(0, keep - len(data))]
        return bytes(data)

    async def _receive(self) -> bytes:
        try:
            return await asyncio.get_running_loop().sock_recv(self._sock, 1 << 16)
        except OSError:
            return b""
