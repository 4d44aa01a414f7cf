"""Build step (pyproject.toml's cmdclass): the wheel carries the site's files under app/site/.

content/, templates/ and static/ (static/vendor/ included: `./dev` fetched it from npm, so it
is git-ignored but present) are copied next to the package's modules; app/config.py serves
them from there when the app is installed rather than run from a checkout.
"""

from __future__ import annotations

from pathlib import Path

from setuptools.command.build_py import build_py

SITE_DIRECTORIES = ("content", "templates", "static")
LEFT_OUT = {"__pycache__", ".installed"}  # bytecode, and ./dev's stamp in static/vendor/


class BuildPyWithSite(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        root = Path(__file__).resolve().parent
        for name in SITE_DIRECTORIES:
            for source in sorted((root / name).rglob("*")):
                relative = source.relative_to(root)
                if source.is_file() and not LEFT_OUT & set(relative.parts) and source.suffix != ".pyc":
                    target = Path(self.build_lib, "app", "site", relative)
                    self.mkpath(str(target.parent))
                    self.copy_file(str(source), str(target))
