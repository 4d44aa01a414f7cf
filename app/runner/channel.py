"""asyncio readers for a run's two sockets.

`Channel` reads a run's sockets. On the data socket the peer is the snippet's
own process and so untrusted: frames are size-capped and EOF is an answer, not
an error. The status socket carries one frame from the template: the exit status.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from typing import Any

from .wire import FrameDecoder


async def wait_readable(fd: int) -> None:
    """Wait until `fd` polls readable (a socket with data or EOF, an exited pidfd)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: future.done() or future.set_result(None))
    try:
        await future
    finally:
        loop.remove_reader(fd)


class Channel:
    """Frames from a socket whose peer is untrusted: size-capped, EOF-aware."""

    def __init__(self, sock: socket.socket, max_frame: int) -> None:
        self._sock = sock
        self._decoder = FrameDecoder(max_frame)
        self._frames: collections.deque[dict[str, Any]] = collections.deque()
        self._eof = False

    async def next(self) -> dict[str, Any] | None:
        """The next frame, or None once the peer has closed its end."""
        while not self._frames:
            if self._eof:
                return None
            data = await self._receive()
            if not data:
                self._eof = True
                continue
            self._frames.extend(self._decoder.feed(data))
        return self._frames.popleft()

    async def _receive(self) -> bytes:
        try:
            return await asyncio.get_running_loop().sock_recv(self._sock, 1 << 16)
        except OSError:
            return b""
