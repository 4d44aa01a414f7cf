"""Who may use a runner service: a bearer token, compared in constant time.

Pure: the service (service.py) and the CLI call these.
"""

from __future__ import annotations

import hmac
import ipaddress

MIN_TOKEN_CHARS = 16


class AccessConfigError(ValueError):
    """The service would be reachable by others without a token (or with a weak one)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_service_access(host: str, token: str | None) -> None:
    """Refuse to serve on anything but loopback without a token; refuse a token too short to be secret."""
    if token is None or token == "":
        if not is_loopback(host):
            raise AccessConfigError(
                f"refusing to listen on {host} without a token: "
                "set TEXTBOOK_RUNNER_TOKEN (the same value on the web app), "
                "or bind to 127.0.0.1"
            )
        return
    if len(token) < MIN_TOKEN_CHARS:
        raise AccessConfigError(
            f"TEXTBOOK_RUNNER_TOKEN is {len(token)} characters long; use at least {MIN_TOKEN_CHARS} random ones"
        )


def bearer_matches(authorization: str | None, token: str | None) -> bool:
    """Whether an `Authorization` header carries the token (always true when no token is set)."""
    if not token:
        return True
    scheme, _, offered = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        offered = ""
    return hmac.compare_digest(offered.strip().encode("utf-8"), token.encode("utf-8"))
