"""One error family, one way to raise it: every `TextbookError` in the app takes its text first
(the student's `message`, or a `reason` the class turns into one) and everything else by
keyword (`field=`, `retry_after_s=`, ...), so no call site can swap a field for a message."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import app
from app.errors import TextbookError
from app.instruments.errors import InstrumentInputError, parse_int
from app.runner.protocol import InvalidRequest, RunnerBusy

# Alembic's scripts run only inside Alembic; everything else is imported to find every subclass.
for module in pkgutil.walk_packages(app.__path__, "app."):
    if not module.name.startswith("app.migrations"):
        importlib.import_module(module.name)


def family(cls: type[TextbookError]) -> list[type[TextbookError]]:
    return [cls, *(member for sub in cls.__subclasses__() for member in family(sub))]


ERRORS = sorted(set(family(TextbookError)), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def test_the_family_is_found() -> None:
    names = {cls.__name__ for cls in ERRORS}
    assert {"InstrumentInputError", "RunnerBusy", "InvalidRequest", "AnswerSpecError", "StoreUnavailable"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_text_first_everything_else_by_keyword(cls: type[TextbookError]) -> None:
    parameters = list(inspect.signature(cls).parameters.values())
    positional = [p for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert [p.name for p in positional] in (["message"], ["reason"], []), cls
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in positional), cls
    if "field" in inspect.signature(cls).parameters:
        assert inspect.signature(cls).parameters["field"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_same_attributes_whichever_layer_raised_it() -> None:
    errors: list[TextbookError] = [
        InstrumentInputError("must be between 1 and 256; got 999.", field="r"),
        InvalidRequest("device 'tpu' is not available here; use cpu", field="device"),
        RunnerBusy(retry_after_s=2.4),
    ]
    with pytest.raises(InstrumentInputError) as caught:
        parse_int("r", "999", low=1, high=256)
    errors.append(caught.value)
    for error in errors:
        assert isinstance(error.status, int) and error.message and error.student_message
    assert (errors[0].field, errors[0].message) == ("r", "must be between 1 and 256; got 999.")
    assert errors[0].student_message == "r: must be between 1 and 256; got 999."
    assert (errors[3].field, errors[3].message) == (errors[0].field, errors[0].message)
    assert errors[1].field == "device" and errors[1].status == 422
    assert errors[2].retry_after_s == 2 and errors[2].headers() == {"Retry-After": "2"}
