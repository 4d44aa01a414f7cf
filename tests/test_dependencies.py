"""Dependencies point one way: pure logic never reaches the web stack, not even through
another module, and the layers below the web never import the app's wiring."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
WEB_STACK = ("fastapi", "starlette", "jinja2", "uvicorn")
# The HTTP glue and the wiring: everything else under app/ is pure logic.
# app.fleet.service is the runner service's HTTP glue (app/fleet's other modules are pure).
GLUE = ("app.web", "app.main", "app.cli", "app.fleet.service")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def is_glue(name: str) -> bool:
    return any(name == glue or name.startswith(glue + ".") for glue in GLUE)


PURE = sorted(name for name in MODULES if not is_glue(name))
# Alembic's scripts run only inside Alembic (env.py reads its `context` when imported).
IMPORTABLE = [name for name in PURE if not name.startswith("app.migrations")]


def imported_names(name: str) -> set[str]:
    """Every module `name` imports, anywhere in the file (a lazy import inside a function
    counts: it runs sooner or later); relative imports resolved."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def app_edges(name: str) -> set[str]:
    """The app modules that importing `name` executes (a module's packages run first)."""
    edges: set[str] = set()
    for imported in imported_names(name):
        parts = imported.split(".")
        for end in range(1, len(parts) + 1):
            candidate = ".".join(parts[:end])
            if candidate in MODULES and candidate != name:
                edges.add(candidate)
    return edges


def first_path_to_forbidden(start: str) -> list[str] | None:
    """Breadth-first through the app's imports: the shortest chain from `start` to the web
    stack or the glue, or None."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        external = {n for n in imported_names(current) if n.split(".")[0] in WEB_STACK}
        hit = sorted(external) or ([current] if is_glue(current) else [])
        if hit:
            chain = [hit[0]] if hit[0] != current else []
            node: str | None = current
            while node is not None:
                chain.append(node)
                node = came_from[node]
            return chain[::-1]
        for edge in sorted(app_edges(current)):
            if edge not in came_from:
                came_from[edge] = current
                queue.append(edge)
    return None


def test_pure_logic_never_reaches_the_web_stack() -> None:
    """Not directly, not through another app module, not through a lazy import."""
    offenders = {name: chain for name in PURE if (chain := first_path_to_forbidden(name))}
    assert offenders == {}, "\n".join(" -> ".join(chain) for chain in offenders.values())


def test_pure_logic_pulls_in_no_web_framework_at_run_time() -> None:
    """What the static walk cannot see: a third-party package that imports the web stack."""
    script = (
        "import importlib, sys\n"
        f"for name in {IMPORTABLE!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WEB_STACK!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_walk_sees_indirect_and_lazy_imports(tmp_path: Path) -> None:
    """The check above can fail: a chain through another module and a function-level import."""
    assert first_path_to_forbidden("app.web.state") is not None  # glue itself is caught
    assert "app.main" in app_edges("app.cli")  # `from app.main import create_app` inside serve()
    assert "app.config" in app_edges("app.content.check")


def test_route_modules_share_lookups_through_a_dependency_module_not_each_other() -> None:
    routes = [name for name in MODULES if name.startswith("app.web.routes.")]
    crossing = {name: sorted(edge for edge in app_edges(name) if edge in routes) for name in routes}
    assert {name: edges for name, edges in crossing.items() if edges} == {}


def package_of(name: str) -> str:
    """`app.content.plugins.math` -> `app.content`; a top-level module is its own package."""
    return ".".join(name.split(".")[:2])


def package_cycle() -> list[str] | None:
    """A cycle among the packages of pure logic (app.content -> app.exercises -> app.content), or None."""
    graph: dict[str, set[str]] = {}
    for name in PURE:
        for edge in app_edges(name):
            if not is_glue(edge) and package_of(edge) not in (package_of(name), "app"):
                graph.setdefault(package_of(name), set()).add(package_of(edge))
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(package: str, path: list[str]) -> list[str] | None:
        state[package] = "open"
        for edge in sorted(graph.get(package, ())):
            if state.get(edge) == "open":
                return [*path[path.index(edge) :], edge] if edge in path else [*path, edge]
            if edge not in state and (cycle := visit(edge, [*path, edge])):
                return cycle
        state[package] = "done"
        return None

    for package in sorted(graph):
        if package not in state and (cycle := visit(package, [package])):
            return cycle
    return None


def test_the_packages_of_pure_logic_import_one_way() -> None:
    """The content uses the exercises' answer keys, never the other way round; no package of
    pure logic reaches back into one that imports it."""
    cycle = package_cycle()
    assert cycle is None, " -> ".join(cycle or [])


def reaches(start: str, target: str) -> bool:
    seen, queue = {start}, deque([start])
    while queue:
        for edge in app_edges(queue.popleft()):
            if edge == target or edge.startswith(target + "."):
                return True
            if edge not in seen:
                seen.add(edge)
                queue.append(edge)
    return False


@pytest.mark.parametrize("layer", ["app.content", "app.exercises", "app.instruments", "app.runner"])
def test_the_book_and_the_domain_never_read_learners_progress(layer: str) -> None:
    """Progress is read by the web layer's view models (app/web/exercise_progress.py), not by
    the content or the pure domain: none of their modules reaches the progress store."""
    readers = [name for name in PURE if package_of(name) == layer and reaches(name, "app.storage")]
    assert readers == []


def test_the_one_way_check_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lazy `import app.content` inside app.exercises would close a cycle; the check sees it."""
    original = app_edges

    def with_back_edge(name: str) -> set[str]:
        return original(name) | ({"app.content.model"} if name == "app.exercises.grading" else set())

    monkeypatch.setitem(globals(), "app_edges", with_back_edge)
    cycle = package_cycle()
    assert cycle is not None and set(cycle) == {"app.content", "app.exercises"}
