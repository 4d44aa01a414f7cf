"""Static files with content-hashed URLs: `/static/css/textbook.3f9c0a1b2c4d.css`.

A hashed URL names one version of a file forever, so it is served with a year of
`immutable` caching; a repeat visit asks for nothing. Templates get those URLs from
`static_url("css/textbook.css")`. A file's plain URL still works, with `no-cache`
(revalidated by its ETag). A hash that is not the file's current one is a 404: that
version is gone, and serving today's file under it would be cached as if it were.
Serving itself (ranges, ETag, 304, HEAD) is Starlette's `StaticFiles`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

# What the pages load from static/vendor/ (filled by ./dev from package.json's "vendor" map).
REQUIRED_ASSETS = (
    "vendor/htmx.min.js",
    "vendor/swagger-ui/swagger-ui-bundle.js",
    "vendor/swagger-ui/swagger-ui.css",
)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_LENGTH = 12
_HASHED_NAME = re.compile(rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<suffix>\.[A-Za-z0-9]+)$")


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]


def hashed_name(path: str, digest: str) -> str:
    """ "css/textbook.css" + digest -> "css/textbook.<digest>.css"."""
    stem, dot, suffix = path.rpartition(".")
    if not dot or "/" in suffix:
        return f"{path}.{digest}"
    return f"{stem}.{digest}.{suffix}"


class AssetDigests:
    """The current content digest of each static file, recomputed when a file changes."""

    def __init__(self, directory: Path, mount_path: str = "/static") -> None:
        self.directory = Path(directory)
        self.mount_path = mount_path.rstrip("/")
        self._cache: dict[str, tuple[int, int, str]] = {}

    def digest(self, path: str) -> str | None:
        full = self.directory / path
        try:
            found = os.stat(full)
        except OSError:
            return None
        cached = self._cache.get(path)
        if cached and cached[0] == found.st_mtime_ns and cached[1] == found.st_size:
            return cached[2]
        digest = content_digest(full.read_bytes())
        self._cache[path] = (found.st_mtime_ns, found.st_size, digest)
        return digest

    def url(self, path: str) -> str:
        """The hashed URL of a static file; its plain URL if the file is missing (a 404 anyway)."""
        digest = self.digest(path)
        name = hashed_name(path, digest) if digest else path
        return f"{self.mount_path}/{name}"

    def missing(self, paths: tuple[str, ...]) -> list[str]:
        return [path for path in paths if not (self.directory / path).is_file()]


class HashedStaticFiles(StaticFiles):
    def __init__(self, digests: AssetDigests) -> None:
        super().__init__(directory=digests.directory)
        self.digests = digests

    async def get_response(self, path: str, scope: Scope) -> Response:
        match = _HASHED_NAME.match(path)
        if match is None:
            response = await super().get_response(path, scope)
            response.headers.setdefault("cache-control", REVALIDATE)
            return response
        original = match["stem"] + match["suffix"]
        if self.digests.digest(original) != match["digest"]:
            raise HTTPException(status_code=404)
        response = await super().get_response(original, scope)
        response.headers["cache-control"] = IMMUTABLE
        return response
