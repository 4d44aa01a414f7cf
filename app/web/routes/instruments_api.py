"""The instruments' JSON API, derived from their specs: one GET route per `ApiRoute`.

Each route's query parameters are the spec's settings (their type, range, choices
and pattern become the OpenAPI schema and FastAPI's validation), its answer is the
instrument's result dataclass or a projection of it, and every call goes through
the catalog (`InstrumentSpec.run`), the same computation the page shows.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, create_model

from app.instruments.spec import REQUIRED, SPEC_DEFAULT, ApiParam, ApiRoute, InstrumentSpec, Params, Setting
from app.web.errors import api_errors

Endpoint = Callable[..., Coroutine[Any, Any, Any]]


def query_type(setting: Setting) -> Any:
    """The setting as a typed, documented query parameter."""
    extra: dict[str, Any] = {"description": setting.describe()}
    base: Any
    if setting.kind == "choice":
        # Documented as an enum; the instrument itself refuses anything else, in its own words.
        values = [choice.value for choice in setting.choices]
        base = int if all(isinstance(v, int) for v in values) else str
        extra["json_schema_extra"] = {"enum": values}
    elif setting.kind == "bool":
        base = bool
    elif setting.kind in ("int", "float"):
        base = int if setting.kind == "int" else float
        if setting.range is not None:
            extra.update(ge=setting.range[0], le=setting.range[1])
        if setting.kind == "float":
            extra["allow_inf_nan"] = False
    else:
        base = str
        if setting.api_pattern:
            extra["pattern"] = setting.api_pattern
    return base, extra


def query_parameter(spec: InstrumentSpec, param: ApiParam) -> inspect.Parameter:
    setting = spec.setting(param.name)
    if setting is None:
        raise ValueError(f"{spec.name}: API parameter {param.name!r} is not a setting")
    base, extra = query_type(setting)
    default = setting.default if param.default is SPEC_DEFAULT else param.default
    if default is None:
        base = base | None
    annotation = Annotated[base, Query(**extra)]  # type: ignore[valid-type]  # a type chosen at run time, for FastAPI
    if default is REQUIRED:
        return inspect.Parameter(param.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
    return inspect.Parameter(param.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


_models: dict[tuple[type, tuple[str, ...] | None, tuple[tuple[str, str], ...]], type[BaseModel]] = {}


def response_model(cls: type, fields: tuple[str, ...] | None, rename: Mapping[str, str]) -> type[BaseModel]:
    """A pydantic model of the dataclass `cls`: all its fields, or `fields` (renamed by `rename`)."""
    key = (cls, fields, tuple(sorted(rename.items())))
    if key not in _models:
        hints = typing.get_type_hints(cls)
        names = fields if fields is not None else tuple(f.name for f in dataclasses.fields(cls))
        definitions: dict[str, Any] = {rename.get(name, name): (hints[name], ...) for name in names}
        suffix = "" if fields is None and not rename else "Summary"
        _models[key] = create_model(f"{cls.__name__}{suffix}", **definitions)
    return _models[key]


def project(value: Any, route: ApiRoute, model: type[BaseModel]) -> BaseModel:
    names = route.fields if route.fields is not None else tuple(f.name for f in dataclasses.fields(value))
    return model.model_validate({route.rename.get(name, name): getattr(value, name) for name in names})


def endpoint_for(spec: InstrumentSpec, route: ApiRoute) -> tuple[Endpoint, Any]:
    model = response_model(route.response, route.fields, route.rename)

    async def endpoint(**query: Any) -> Any:
        result = None
        if route.computes:
            settings: Params = (
                route.prepare(query) if route.prepare else {k: v for k, v in query.items() if v is not None}
            )
            _, result = spec.run(settings)
        answer = route.output(result)
        if route.many:
            return [project(item, route, model) for item in answer]
        return project(answer, route, model)

    endpoint.__signature__ = inspect.Signature([query_parameter(spec, p) for p in route.params])  # type: ignore[attr-defined]
    words = [part for part in route.path.split("/") if part not in ("", "api", "instruments")]
    endpoint.__name__ = "api_" + "_".join(words).replace("-", "_")
    endpoint.__doc__ = route.summary
    return endpoint, (list[model] if route.many else model)  # type: ignore[valid-type]


def router_for(catalog: Mapping[str, InstrumentSpec]) -> APIRouter:
    """Every registered instrument's API routes."""
    router = APIRouter()
    for spec in catalog.values():
        for route in spec.api:
            endpoint, response = endpoint_for(spec, route)
            errors = api_errors(422) if route.params else None
            router.add_api_route(
                route.path, endpoint, methods=["GET"], response_model=response, tags=["instruments"], responses=errors
            )
    return router
