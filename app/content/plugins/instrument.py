"""The `instrument` directive: places a live, server-computed instrument in the text.

    ```instrument
    name: lora-counter
    title: LoRA parameter counter
    short_title: LoRA rank
    subtitle: One d×d projection · EQ 6.1
    params: {d_in: 8192, d_out: 8192, r: 16}
    caption: At d = 8,192 ...
    ```

`name` must be a registered instrument; `params` are its initial state, checked by
that instrument's own validator. Instruments are numbered "INSTRUMENT 6.1", ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from app.content.model import InstrumentRef
from app.content.plugins.directive import (
    DocumentEnv,
    absolute_line,
    claim_fences,
    document_env,
    mark_directive,
    parse_yaml_body,
    register_directive,
    render_nested,
    report,
    require_text,
    unknown_fields,
)

# name -> a function that raises ValueError(message) when initial params are invalid
InstrumentCatalog = Mapping[str, Callable[[Mapping[str, Any]], None]]

FIELDS = {"id", "name", "title", "short_title", "subtitle", "caption", "params"}


def _collector(catalog: InstrumentCatalog) -> Callable[[StateCore], None]:
    def collect_instruments(state: StateCore) -> None:
        env = document_env(state)
        for token, _ in list(claim_fences(state, "instrument")):
            data = parse_yaml_body(token, env, "instrument")
            instrument = _build(state.md, catalog, data, token, env) if data is not None else None
            mark_directive(token, "instrument", instrument.id if instrument else "")
            if instrument is not None:
                env.setdefault("instruments", []).append(instrument)

    return collect_instruments


def _build(
    md: MarkdownIt, catalog: InstrumentCatalog, data: dict[str, Any], token: Token, env: DocumentEnv
) -> InstrumentRef | None:
    line = absolute_line(token, env)
    name = data.get("name")
    if not isinstance(name, str) or name not in catalog:
        known = ", ".join(sorted(catalog))
        report(env, line, f"instrument: unknown name {name!r} (known: {known})")
        return None
    instrument_id = str(data.get("id") or name)
    ids = env.setdefault("ids", {})
    if instrument_id in ids:
        report(env, line, f"duplicate id '{instrument_id}' (first used on line {ids[instrument_id]})")
        return None
    ids[instrument_id] = line
    what = f"instrument '{instrument_id}'"
    unknown_fields(data, FIELDS, token, env, what)
    title = require_text(data, "title", token, env, what)
    params = data.get("params", {})
    if not isinstance(params, dict):
        report(env, line, f"{what}: 'params' must be a mapping")
        return None
    try:
        catalog[name](params)
    except ValueError as exc:
        report(env, line, f"{what}: {exc}")
        return None
    if title is None:
        return None
    chapter = env.get("chapter_number", 0)
    number = f"{chapter}.{len(env.get('instruments', [])) + 1}"
    caption = data.get("caption") or ""
    return InstrumentRef(
        id=instrument_id,
        name=name,
        number=number,
        title=title,
        short_title=str(data.get("short_title") or title),
        subtitle=str(data.get("subtitle") or ""),
        caption_html=render_nested(md, caption, env, line) if caption else "",
        params=dict(params),
        line=line,
    )


def instrument_plugin(md: MarkdownIt, catalog: InstrumentCatalog) -> None:
    register_directive(md, "instrument", _collector(catalog))
