"""Front matter: split it from the body and validate its fields, with line numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class FrontMatter:
    title: str
    volume: int
    number: int
    slug: str
    chapters_in_volume: int
    kicker: str
    lede: str
    builds_on: tuple[int, ...]
    next: dict[str, Any] | None


@dataclass
class FieldProblem:
    line: int
    message: str


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Return (front matter YAML or None, Markdown body, lines before the body)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "".join(lines[1:i]), "".join(lines[i + 1 :]), i + 1
    return None, text, 0


def _key_lines(source: str) -> dict[str, int]:
    try:
        node = yaml.compose(source)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: key.start_mark.line + 2 for key, _ in node.value if isinstance(key, yaml.ScalarNode)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_front_matter(source: str | None) -> tuple[FrontMatter | None, list[FieldProblem]]:
    if source is None:
        return None, [FieldProblem(1, "missing front matter (a YAML block between '---' lines at the top)")]
    try:
        data = yaml.safe_load(source) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [
            FieldProblem(mark.line + 2 if mark else 1, f"front matter: invalid YAML: {getattr(exc, 'problem', exc)}")
        ]
    if not isinstance(data, dict):
        return None, [FieldProblem(2, "front matter must be a mapping of fields")]
    lines = _key_lines(source)
    problems: list[FieldProblem] = []

    def need(key: str, check: Any, what: str) -> Any:
        if key not in data:
            problems.append(FieldProblem(1, f"front matter: missing '{key}' ({what})"))
            return None
        if not check(data[key]):
            problems.append(FieldProblem(lines.get(key, 1), f"front matter: '{key}' must be {what}"))
            return None
        return data[key]

    title = need("title", lambda v: isinstance(v, str) and v.strip(), "a non-empty string")
    volume = need("volume", lambda v: _is_int(v) and v > 0, "a positive whole number")
    number = need("number", lambda v: _is_int(v) and v > 0, "a positive whole number")
    slug = need("slug", lambda v: isinstance(v, str) and _SLUG.match(v), "lower-case words joined by '-'")
    total = need("chapters_in_volume", lambda v: _is_int(v) and v > 0, "a positive whole number")
    lede = need("lede", lambda v: isinstance(v, str) and v.strip(), "a non-empty paragraph")
    builds_on = data.get("builds_on", [])
    if not isinstance(builds_on, list) or not all(_is_int(n) and n > 0 for n in builds_on):
        problems.append(
            FieldProblem(lines.get("builds_on", 1), "front matter: 'builds_on' must be a list of chapter numbers")
        )
        builds_on = []
    nxt = data.get("next")
    if nxt is not None and not (
        isinstance(nxt, dict) and _is_int(nxt.get("number")) and isinstance(nxt.get("title"), str)
    ):
        problems.append(
            FieldProblem(
                lines.get("next", 1), "front matter: 'next' must have a number and a title (and optionally a slug)"
            )
        )
        nxt = None
    known = {"title", "volume", "number", "slug", "chapters_in_volume", "kicker", "lede", "builds_on", "next"}
    for key in sorted(set(data) - known, key=str):
        problems.append(FieldProblem(lines.get(str(key), 1), f"front matter: unknown field '{key}'"))
    if number is not None and total is not None and number > total:
        problems.append(
            FieldProblem(lines.get("number", 1), f"front matter: chapter {number} is beyond chapters_in_volume {total}")
        )
    if None in (title, volume, number, slug, total, lede):
        return None, problems
    return (
        FrontMatter(
            title=title.strip(),
            volume=volume,
            number=number,
            slug=slug,
            chapters_in_volume=total,
            kicker=str(data.get("kicker") or title).strip(),
            lede=lede.strip(),
            builds_on=tuple(builds_on),
            next=nxt,
        ),
        problems,
    )
