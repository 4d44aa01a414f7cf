"""The built wheel is the whole site: installed from it, outside the checkout and without the
checkout's npm step, `textbook serve` has its chapters, templates and front-end assets.

The wheel is built the way a user builds it (`pip wheel`, with build isolation) from a copy
of the checkout (its files plus static/vendor/, which `./dev` fetched), so the build races
with no other build in the checkout's build/ directory. It is then installed into a directory
of its own and served from a working directory outside the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.web.static_files import REQUIRED_ASSETS
from bench.server import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT_OF_THE_COPY = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "var", "artifacts", "*.egg-info", "__pycache__", ".*_cache"
)
SCRIPT = re.compile(r'<script src="(/static/[^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="(/static/[^"]+)"')


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "static" / "vendor" / "htmx.min.js").is_file():
        pytest.fail("static/vendor/ is missing: ./dev fetches it before the tests run")
    source = tmp_path_factory.mktemp("checkout") / "textbook"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT_OF_THE_COPY)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("textbook-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=120,
    )
    return target


def installed_environment(installed: Path) -> dict[str, str]:
    """This interpreter's dependencies, but the app from the installed wheel and no TEXTBOOK_ paths."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("TEXTBOOK_")}
    environment["PYTHONPATH"] = str(installed)
    return environment


@pytest.fixture(scope="module")
def server(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    workdir = tmp_path_factory.mktemp("elsewhere")
    port = free_port()
    environment = {**installed_environment(installed), "TEXTBOOK_PORT": str(port), "TEXTBOOK_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"], cwd=workdir, env=environment, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "the installed server exited"
            assert time.monotonic() < deadline, "the installed server did not answer within 90 s"
            time.sleep(0.2)
        yield base, workdir
    finally:
        stop_process(process)


def test_the_wheel_carries_the_site_and_the_vendored_assets(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for asset in REQUIRED_ASSETS:
        assert f"app/site/static/{asset}" in names, asset
    for directory in ("content", "templates", "static"):
        for path in (ROOT / directory).rglob("*"):
            relative = path.relative_to(ROOT)
            if path.is_file() and "__pycache__" not in relative.parts and path.name != ".installed":
                assert f"app/site/{relative.as_posix()}" in names, relative
    assert not any("__pycache__" in name or name.endswith(".installed") for name in names)
    vendored = zipfile.ZipFile(wheel).read("app/site/static/vendor/htmx.min.js")
    assert vendored == (ROOT / "static" / "vendor" / "htmx.min.js").read_bytes()


def test_the_installed_app_is_the_wheel_not_the_checkout(installed: Path) -> None:
    probe = "import app, app.config as c; print(app.__file__); print(c.SITE_ROOT); print(c.DEFAULT_DATA_DIR)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=installed.parent,
        env=installed_environment(installed),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    module, site_root, data_dir = done.stdout.splitlines()
    assert Path(module).is_relative_to(installed)
    assert Path(site_root) == installed / "app" / "site"
    assert Path(data_dir) == installed.parent / "var"


def test_an_installed_server_reports_no_missing_assets_and_serves_them(server: tuple[str, Path]) -> None:
    base, workdir = server
    health = httpx.get(f"{base}/healthz").json()
    assert health["parts"]["assets"] == {"ok": True, "missing": []}
    assert health["parts"]["content"]["ok"] and health["parts"]["content"]["chapters"] >= 1
    assert (workdir / "var" / "textbook.sqlite3").is_file()  # its data in the working directory

    chapter = httpx.get(f"{base}/chapters/fine-tuning")
    assert chapter.status_code == 200
    scripts = SCRIPT.findall(chapter.text)
    assert any("/static/vendor/htmx.min." in url for url in scripts), scripts
    for url in scripts + STYLESHEET.findall(chapter.text):
        assert httpx.get(base + url).status_code == 200, url
    htmx = next(url for url in scripts if "/static/vendor/htmx.min." in url)
    assert httpx.get(base + htmx).content == (ROOT / "static" / "vendor" / "htmx.min.js").read_bytes()

    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200
    swagger = SCRIPT.findall(docs.text) + STYLESHEET.findall(docs.text)
    assert any("/static/vendor/swagger-ui/swagger-ui-bundle." in url for url in swagger), swagger
    assert any("/static/vendor/swagger-ui/swagger-ui." in url and url.endswith(".css") for url in swagger), swagger
    for url in swagger:
        assert httpx.get(base + url).status_code == 200, url
