"""Reading form posts safely: a body that is too large or not a form is a 4xx, never a 500."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from pydantic import AfterValidator

from app.errors import BadInput, PayloadTooLarge

MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The posted fields as strings (the last value wins); files are refused."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"That form is larger than {max_bytes // 1024} KB.")
    content_type = request.headers.get("content-type", "")
    if content_type and not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise BadInput("Send this form as application/x-www-form-urlencoded.")
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception as exc:  # starlette raises several parser errors
        raise BadInput(f"The form could not be read: {exc}") from exc
    fields: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise BadInput("This form does not take files.")
        try:
            fields[key] = refuse_broken_text(value)
        except ValueError as exc:
            raise BadInput(f"{key}: {exc}", field=key) from None
    return fields


def refuse_broken_text(value: str) -> str:
    """JSON can carry lone surrogates ("\\ud800"), which are not text and cannot be stored or echoed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not valid Unicode text (a lone surrogate)") from None
    return value


Text = Annotated[str, AfterValidator(refuse_broken_text)]
