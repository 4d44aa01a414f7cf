"""What every directive plugin shares: claiming fenced blocks, YAML bodies, problems, ids.

A directive is a fenced block whose info string starts with the directive's name:

    ```exercise
    id: lora-params
    ...
    ```

The fence is the one syntax for all directives (see content/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any, TypedDict, cast

import yaml
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

SENTINEL = "\x00"


class DocumentEnv(TypedDict, total=False):
    """Per-document state that plugins read and fill while a chapter renders."""

    chapter_number: int
    line_offset: int  # lines before the Markdown body (front matter), for `path:line`
    nested: bool  # Markdown inside a directive or the lede: no numbered sections of its own
    problems: list[tuple[int, str]]  # (absolute line, message)
    ids: dict[str, int]  # every directive id -> line, for uniqueness
    sections: list[Any]
    equations: list[Any]
    exercises: list[Any]
    snippets: list[Any]
    instruments: list[Any]
    claims: list[Any]  # numbers in the prose a snippet or instrument computes (checked by the loader)


def document_env(state: StateCore) -> DocumentEnv:
    """markdown-it's `env` (a plain mapping to it) as the typed dict the plugins share."""
    return cast(DocumentEnv, state.env)


def render_document(md: MarkdownIt, text: str, env: DocumentEnv) -> str:
    """Render `text`, the plugins filling `env` as they go."""
    return md.render(text, cast(MutableMapping[str, Any], env))


def absolute_line(token: Token, env: DocumentEnv) -> int:
    start = token.map[0] if token.map else 0
    return env.get("line_offset", 0) + start + 1


def report(env: DocumentEnv, line: int, message: str) -> None:
    env.setdefault("problems", []).append((line, message))


def claim_fences(state: StateCore, name: str) -> Iterator[tuple[Token, str]]:
    """Yield each top-level fence named `name` with the rest of its info string."""
    for token in state.tokens:
        if token.type != "fence":
            continue
        parts = token.info.strip().split(maxsplit=1)
        if parts and parts[0] == name:
            yield token, (parts[1] if len(parts) > 1 else "")


def mark_directive(token: Token, kind: str, directive_id: str) -> None:
    """Turn a claimed fence into a directive token whose render emits a placeholder."""
    token.type = kind
    token.meta = {"id": directive_id}


def placeholder(kind: str, directive_id: str) -> str:
    """The loader splits rendered HTML on these to interleave per-request templates."""
    return f"{SENTINEL}{kind}:{directive_id}{SENTINEL}"


def render_placeholder(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: DocumentEnv) -> str:
    """A directive token renders as its placeholder (its type is its kind; see `mark_directive`)."""
    token = tokens[idx]
    return placeholder(token.type, token.meta.get("id", ""))


def register_directive(md: MarkdownIt, kind: str, collect: Callable[[StateCore], None]) -> None:
    """A directive plugin's one rule and one render: `collect` claims the fences after block
    parsing and marks them as `kind` tokens, which render as placeholders."""
    md.core.ruler.after("block", f"collect_{kind}s", collect)
    md.add_render_rule(kind, render_placeholder)


def parse_yaml_body(token: Token, env: DocumentEnv, kind: str) -> dict[str, Any] | None:
    line = absolute_line(token, env)
    try:
        data = yaml.safe_load(token.content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = line + 1 + mark.line if mark is not None else line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        report(env, where, f"{kind}: invalid YAML: {problem}")
        return None
    if not isinstance(data, dict):
        report(env, line, f"{kind}: the body must be a YAML mapping of fields")
        return None
    return data


def require_id(data: dict[str, Any], token: Token, env: DocumentEnv, kind: str) -> str | None:
    line = absolute_line(token, env)
    directive_id = data.get("id")
    if not isinstance(directive_id, str) or not directive_id.strip():
        report(env, line, f"{kind}: missing 'id'")
        return None
    if not all(c.isalnum() or c in "-_" for c in directive_id):
        report(env, line, f"{kind} '{directive_id}': id may hold only letters, digits, '-' and '_'")
        return None
    ids = env.setdefault("ids", {})
    if directive_id in ids:
        report(env, line, f"duplicate id '{directive_id}' (first used on line {ids[directive_id]})")
        return None
    ids[directive_id] = line
    return directive_id


def require_text(data: dict[str, Any], field: str, token: Token, env: DocumentEnv, what: str) -> str | None:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        report(env, absolute_line(token, env), f"{what}: missing '{field}'")
        return None
    return value


def unknown_fields(data: dict[str, Any], allowed: set[str], token: Token, env: DocumentEnv, what: str) -> None:
    for key in sorted(set(data) - allowed):
        report(env, absolute_line(token, env), f"{what}: unknown field '{key}' (allowed: {', '.join(sorted(allowed))})")


def render_nested(md: MarkdownIt, text: str, env: DocumentEnv, line: int) -> str:
    """Render Markdown held inside a directive, reporting its problems at the directive's line."""
    inner: DocumentEnv = {
        "chapter_number": env.get("chapter_number", 0),
        "line_offset": line,
        "nested": True,
    }
    html = render_document(md, text, inner)
    for _, message in inner.get("problems", []):
        report(env, line, message)
    env.setdefault("claims", []).extend(inner.get("claims", []))
    return html
