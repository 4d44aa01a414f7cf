"""The instruments package stays pure: no web framework, no pyplot, typed API."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import app.instruments

PACKAGE = Path(app.instruments.__file__).parent
MODULES = sorted(p for p in PACKAGE.glob("*.py"))
FORBIDDEN = ("fastapi", "starlette", "jinja2", "matplotlib.pyplot", "pylab")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_web_framework_or_pyplot(path: Path) -> None:
    for name in _imports(path):
        assert not any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN), (path.name, name)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_public_functions_are_fully_annotated(path: Path) -> None:
    module = importlib.import_module(f"app.instruments.{path.stem}")
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if not inspect.isfunction(obj):
            continue
        signature = inspect.signature(obj)
        assert signature.return_annotation is not inspect.Signature.empty, f"{path.stem}.{name}"
        for parameter in signature.parameters.values():
            assert parameter.annotation is not inspect.Parameter.empty, f"{path.stem}.{name}({parameter.name})"


def test_every_module_exports_what_it_lists() -> None:
    for path in MODULES:
        module = importlib.import_module(f"app.instruments.{path.stem}")
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"{path.stem}.{name}"
