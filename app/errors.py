"""The one error family: every error a student may see carries its HTTP status and a
message they can act on.

    raise BadInput("That answer is 300 characters long; answers are at most 200.", field="answer")

Every layer raises a subclass of `TextbookError` (pure code too: nothing here imports
the web stack), always with its text first and everything else by keyword:
`(message, *, field=None)` plus the subclass's own keywords (the runner's errors take a
`reason` they word for the student; `tests/test_error_signatures.py` checks every subclass).
One handler (`app.web.errors`) turns any of them into an HTML page, an HTMX fragment
shown in place, or JSON, from `status`, `student_message`, `field` and `headers()` alone.
"""

from __future__ import annotations


class TextbookError(Exception):
    """A refusal with a `status` (class attribute, or per instance) and a student-facing
    `message`; `field` names the input at fault, when there is one."""

    status: int = 400

    def __init__(self, message: str, *, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def headers(self) -> dict[str, str]:
        """HTTP headers the response needs besides the status (e.g. `Retry-After`)."""
        return {}

    @property
    def student_message(self) -> str:
        """The sentence the student is shown (an error may add its field, as instruments do)."""
        return self.message


class NotAuthorized(TextbookError):
    """A view that needs a token the request did not present (the instructor's)."""

    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="instructor"'}


class NotFound(TextbookError):
    status = 404


class BadInput(TextbookError):
    status = 422


class PayloadTooLarge(TextbookError):
    status = 413


class Busy(TextbookError):
    status = 429

    def __init__(self, message: str, *, retry_after_s: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class Unavailable(TextbookError):
    status = 503
