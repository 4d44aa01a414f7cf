"""ETag validators on HTML pages, so a repeat visit to an unchanged page costs a 304.

Pages are rendered per learner, so they cannot be cached as they are; but a browser
may keep one and ask again with `If-None-Match`. The tag is a digest of the body this
request produced (weak: the compression layer outside may re-encode the bytes), so a
304 is only ever sent when the browser already holds exactly this page.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KEPT_ON_304 = (b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary")


def html_etag(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison against a list of tags (or `*`)."""
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


class HtmlValidators:
    """Adds an ETag (and `Cache-Control: no-cache`) to 200 HTML answers to GET; answers 304 on a match."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                is_page = (
                    message["status"] == 200
                    and headers.get("content-type", "").startswith("text/html")
                    and "etag" not in headers
                )
                if not is_page:
                    await send(message)
                    return
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await send_page(start, b"".join(chunks))

        async def send_page(start: Message, body: bytes) -> None:
            etag = html_etag(body)
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            headers["etag"] = etag
            if "cache-control" not in headers:
                headers["cache-control"] = "no-cache"
            if if_none_match and matches(if_none_match, etag):
                kept = [(name, value) for name, value in headers.raw if name in KEPT_ON_304]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered_send)
