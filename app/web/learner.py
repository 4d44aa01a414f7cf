"""The anonymous learner: a random id in a signed, HttpOnly, SameSite=Lax cookie."""

from __future__ import annotations

import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "learner"
MAX_AGE_S = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days


class LearnerCookie:
    def __init__(self, secret_key: str, secure: bool) -> None:
        self._signer = URLSafeSerializer(secret_key, salt="learner-id")
        self._secure = secure

    def read(self, request: Request) -> str | None:
        """The learner id from a valid cookie; a tampered or foreign cookie counts as none."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            value = self._signer.loads(raw)
        except BadSignature:
            return None
        return value if isinstance(value, str) and 8 <= len(value) <= 64 else None

    def ensure(self, request: Request) -> tuple[str, bool]:
        """(learner id, whether it is new and the response must set the cookie)."""
        learner = self.read(request)
        if learner is not None:
            return learner, False
        return secrets.token_urlsafe(16), True

    def attach(self, response: Response, learner_id: str) -> None:
        response.set_cookie(
            COOKIE,
            self._signer.dumps(learner_id),
            max_age=MAX_AGE_S,
            httponly=True,
            samesite="lax",
            secure=self._secure,
            path="/",
        )
