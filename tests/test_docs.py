"""The docs are kept true by tests, in Datasette's manner: every setting is in README's
configuration table and every module under app/ in ARCHITECTURE.md's module table (and
neither table names something that does not exist)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def section(markdown: str, heading: str) -> str:
    """The text under `## heading` up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]  # past header and rule


def documented_variables() -> set[str]:
    """`TEXTBOOK_X` names in the first column of README's configuration table."""
    rows = table_rows(section(README, "Configuration"))
    return {name for row in rows for name in re.findall(r"`(TEXTBOOK_\w+)`", row[0])}


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme_configuration_table(field: str) -> None:
    assert f"TEXTBOOK_{field.upper()}" in documented_variables()


def test_the_configuration_table_names_only_real_settings() -> None:
    real = {f"TEXTBOOK_{field.upper()}" for field in Settings.model_fields}
    assert documented_variables() - real == set()


def test_every_variable_the_container_image_sets_is_a_documented_setting() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert set(re.findall(r"\b(TEXTBOOK_\w+)=", dockerfile)) - documented_variables() == set()


def documented_modules() -> set[str]:
    """Paths in ARCHITECTURE.md's module table. A row's first column names modules
    (`app/runner/sandbox.py`, `linux.py`: the second in the first one's folder); a row for a
    whole folder (`app/web/routes/`) names its modules in the second column (`pages.py`)."""
    found: set[str] = set()
    for row in table_rows(section(ARCHITECTURE, "Modules")):
        if row[0].startswith("**"):  # a package's heading row
            continue
        folder = ""
        for name in re.findall(r"`([^`]+)`", row[0]):
            if name.startswith("app/"):
                folder = name if name.endswith("/") else name.rpartition("/")[0] + "/"
            path = name if name.startswith("app/") else folder + name
            if path.endswith("/"):
                found.update(path + module for module in re.findall(r"`(\w+\.py)`", row[1]))
            else:
                found.add(path)
    return found


# Alembic's revisions, one per schema change: Alembic lists them (`textbook db current`).
REVISIONS = ROOT / "app" / "migrations" / "versions"


def modules_under_app() -> list[str]:
    """Every module under app/, and a package's `__init__.py` when it holds more than a docstring."""
    paths = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        if (path.name == "__init__.py" and not holds_code(path)) or path.parent == REVISIONS:
            continue
        paths.append(path.relative_to(ROOT).as_posix())
    return paths


def holds_code(path: Path) -> bool:
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


@pytest.mark.parametrize("module", modules_under_app())
def test_every_module_is_in_the_architecture_module_table(module: str) -> None:
    assert module in documented_modules()


def test_the_module_table_names_only_modules_that_exist() -> None:
    assert {path for path in documented_modules() if not (ROOT / path).is_file()} == set()
