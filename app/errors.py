"""Domain errors that carry their HTTP status and a message a student can act on.

One handler (`app.web.errors`) turns them into HTML, an HTMX fragment or JSON.
"""

from __future__ import annotations


class TextbookError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def student_message(self) -> str:
        """The sentence the student is shown (an error may add its field, as instruments do)."""
        return self.message


class NotFound(TextbookError):
    status = 404


class BadInput(TextbookError):
    status = 422


class PayloadTooLarge(TextbookError):
    status = 413


class Busy(TextbookError):
    status = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(TextbookError):
    status = 503
