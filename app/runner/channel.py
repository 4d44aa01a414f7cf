"""asyncio readers for a run's two sockets.

`Channel` reads the data socket, whose peer is the snippet's own process and so
untrusted: frames are size-capped and EOF is an answer, not an error.
`SupervisorChannel` reads the status socket from the run's supervising fork,
which also passes the snippet process's pidfd (SCM_RIGHTS) when it starts it.
"""

from __future__ import annotations

import array
import asyncio
import collections
import os
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


class SupervisorChannel(Channel):
    """A Channel that also collects file descriptors passed alongside the frames."""

    def __init__(self, sock: socket.socket, max_frame: int = 1 << 16) -> None:
        super().__init__(sock, max_frame)
        self.fds: list[int] = []

    async def _receive(self) -> bytes:
        fd_space = socket.CMSG_SPACE(4 * array.array("i").itemsize)
        while True:
            try:
                data, ancillary, _, _ = self._sock.recvmsg(1 << 16, fd_space, socket.MSG_CMSG_CLOEXEC)
            except BlockingIOError:
                await wait_readable(self._sock.fileno())
                continue
            except OSError:
                return b""
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                    self.fds.extend(fds)
            return data

    def close(self) -> None:
        while self.fds:
            try:
                os.close(self.fds.pop())
            except OSError:
                pass
