"""Which of site-packages a run sees: NumPy, matplotlib and what they require, nothing else.

The server's own dependencies (FastAPI, SQLAlchemy, psycopg, ...) share
site-packages with NumPy, and a run needs none of them. The list is derived from
the installed distributions' metadata, not picked by hand: start from the
distributions that provide the modules in RUN_IMPORTS, follow each one's
`Requires-Dist` (markers evaluated for this interpreter, extras left out), and
keep every top-level entry of site-packages that their RECORD files name
(package directories, single modules, `*.dist-info`, vendored `*.libs`).
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

RUN_IMPORTS = ("numpy", "matplotlib")  # what a snippet is promised; their requirements come along


def needed_distributions(
    site_dir: Path, imports: tuple[str, ...] = RUN_IMPORTS
) -> list[importlib.metadata.Distribution]:
    """The distributions installed in `site_dir` that `imports` need, transitively (sorted by name)."""
    here = importlib.metadata.distributions(path=[str(site_dir)])
    installed: dict[str, importlib.metadata.Distribution] = {
        canonicalize_name(dist.metadata["Name"]): dist for dist in here
    }
    providers = importlib.metadata.packages_distributions()
    wanted: list[str] = [canonicalize_name(name) for module in imports for name in providers.get(module, [])]
    found: dict[str, importlib.metadata.Distribution] = {}
    while wanted:
        name = wanted.pop()
        if name in found or name not in installed:
            continue  # seen, or installed elsewhere (the interpreter's own site-packages, which is mounted whole)
        found[name] = installed[name]
        wanted += _requirements(found[name])
    return [found[name] for name in sorted(found)]


def _requirements(dist: importlib.metadata.Distribution) -> list[str]:
    names: list[str] = []
    for line in dist.requires or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(canonicalize_name(requirement.name))
    return names


def site_entries(site_dir: Path, imports: tuple[str, ...] = RUN_IMPORTS) -> list[Path] | None:
    """The entries of `site_dir` a run needs; None when a distribution lists no files (then mount it whole)."""
    entries: set[Path] = set()
    for dist in needed_distributions(site_dir, imports):
        if dist.files is None:
            return None
        for file in dist.files:
            relative = os.path.normpath(str(file))
            if relative.startswith("..") or os.path.isabs(relative):
                continue  # RECORD also names scripts outside site-packages (`../../../bin/f2py`)
            top = Path(relative).parts[0]
            # Single modules share site-packages' own __pycache__: only their files, not the directory.
            entry = site_dir / relative if top == "__pycache__" else site_dir / top
            if os.path.lexists(entry):
                entries.add(entry)
    return sorted(entries) if entries else None
