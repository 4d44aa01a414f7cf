"""When the progress database fails: answers are refused with a clear 503, pages still read.

Real SQLite files, real failures: another process holding the write lock past the
busy timeout, and a file whose header was destroyed. Nothing saved before is lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.chapter_page import PROGRESS_UNAVAILABLE
from tests.conftest import make_settings
from tests.html_tree import parse_html

HX = {"HX-Request": "true"}
FORM_URL = "/chapters/fine-tuning/exercises/full-ft-memory"
API_URL = "/api/exercises/full-ft-memory/check"
NOT_SAVED = (
    "Your answer could not be saved: the progress database is not available right now, and nothing was recorded."
)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture()
def client(data_dir: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(data_dir, database_busy_timeout_s=0.2))
    with TestClient(app) as test_client:
        yield test_client


def attempts_in(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "textbook.sqlite3") as db:
        return int(db.execute("select count(*) from attempts").fetchone()[0])


def test_a_write_lock_held_elsewhere_refuses_the_answer_in_place(client: TestClient, data_dir: Path) -> None:
    assert client.post(API_URL, json={"answer": "112 GB"}).status_code == 200
    other = sqlite3.connect(data_dir / "textbook.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. an operator's tool in the middle of a long write
    try:
        refused = client.post(API_URL, json={"answer": "112 GB"})
        assert refused.status_code == 503
        assert refused.json()["detail"].startswith(NOT_SAVED)
        fragment = client.post(FORM_URL, data={"answer": "112 GB"}, headers=HX)
        assert fragment.status_code == 503
        assert NOT_SAVED in parse_html(fragment.text).find(cls="inline-error").text
        no_js = client.post(FORM_URL, data={"answer": "112 GB"})
        assert no_js.status_code == 503
        exercise = parse_html(no_js.text).find(id="ex-full-ft-memory")
        assert NOT_SAVED in exercise.text  # the whole chapter, the message at the exercise
        page = client.get("/chapters/fine-tuning")  # readers are not blocked by a writer (WAL)
        assert page.status_code == 200 and PROGRESS_UNAVAILABLE not in page.text
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.post(API_URL, json={"answer": "112 GB"}).status_code == 200
    assert attempts_in(data_dir) == 2  # the first and the last; the refused ones left nothing behind


def test_an_unreadable_database_keeps_the_book_readable(client: TestClient, data_dir: Path) -> None:
    assert client.post(API_URL, json={"answer": "112 GB"}).status_code == 200
    database = data_dir / "textbook.sqlite3"
    client.app.state.textbook.store.engine.dispose()  # type: ignore[attr-defined]
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the main file
    header = database.read_bytes()[:100]
    with database.open("r+b") as file:
        file.write(b"\0" * 100)  # the header is gone: "file is not a database"
    try:
        page = client.get("/chapters/fine-tuning")
        assert page.status_code == 200
        tree = parse_html(page.text)
        assert PROGRESS_UNAVAILABLE in tree.find(cls="banner-warning").text
        assert not tree.find_all(cls="progress"), "no made-up '0 of 5 solved'"
        index = client.get("/")
        assert index.status_code == 200 and PROGRESS_UNAVAILABLE in index.text
        answer = client.post(API_URL, json={"answer": "112 GB"})
        assert answer.status_code == 503 and answer.json()["detail"].startswith(NOT_SAVED)
        assert client.get("/healthz").status_code == 503
    finally:
        with database.open("r+b") as file:
            file.write(header)
    # Repaired: what was saved before the failure is all still there.
    page = parse_html(client.get("/chapters/fine-tuning").text)
    assert not page.find_all(cls="banner-warning")
    assert "1 of 5 solved" in page.find(cls="progress").text
    assert client.get("/healthz").status_code == 200
