"""Who is the instructor: whoever presents `TEXTBOOK_INSTRUCTOR_TOKEN`.

The sign-in form trades the token for a signed, HttpOnly cookie (12 hours); the API
takes `Authorization: Bearer <token>`. The cookie is bound to the token (a digest
of it is what is signed), so changing the token signs every instructor out.
Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from app.errors import NotAuthorized

COOKIE = "instructor"
MAX_AGE_S = 12 * 3600
REFUSED = "The instructor view needs the instructor token."


class InstructorAuth:
    def __init__(self, token: str, secret_key: str, secure: bool) -> None:
        self._token = token.encode()
        self._signer = TimestampSigner(secret_key, salt="instructor")
        self._payload = hashlib.sha256(b"instructor\0" + self._token).hexdigest()[:32]
        self._secure = secure

    def token_matches(self, presented: str) -> bool:
        return hmac.compare_digest(presented.strip().encode(), self._token)

    def is_instructor(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() == "bearer" and presented:
            return self.token_matches(presented)
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return False
        try:
            value = self._signer.unsign(cookie, max_age=MAX_AGE_S).decode()
        except (BadSignature, SignatureExpired):
            return False
        return hmac.compare_digest(value, self._payload)

    def require(self, request: Request) -> None:
        if not self.is_instructor(request):
            raise NotAuthorized(REFUSED)

    def sign_in(self, response: Response) -> None:
        value = self._signer.sign(self._payload).decode()
        response.set_cookie(
            COOKIE, value, max_age=MAX_AGE_S, httponly=True, samesite="strict", secure=self._secure, path="/instructor"
        )

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/instructor")
