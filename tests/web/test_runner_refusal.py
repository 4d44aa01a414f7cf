"""A host that cannot isolate code: the server refuses to run it and says why in the page,
unless the operator opts into the unsafe single-user mode, which the page then flags."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from bench.server import server_process
from tests.html_tree import parse_html

# Runs the server with unshare and namespace-creating clone refused, like a container runtime's profile.
NO_NAMESPACES = [sys.executable, str(Path(__file__).resolve().parents[1] / "runner" / "deny_namespaces.py")]


def test_without_isolation_code_is_refused_and_the_page_says_why(tmp_path: Path) -> None:
    with server_process(tmp_path, NO_NAMESPACES, TEXTBOOK_SECRET_KEY="k", TEXTBOOK_RUNNER_WORKERS="1") as (_, base):
        health = httpx.get(f"{base}/healthz").json()
        assert health["parts"]["runner"]["level"] == "none"
        page = parse_html(httpx.get(f"{base}/chapters/fine-tuning").text)
        assert "Running code is switched off on this server" in page.find(cls="banner").text
        refused = httpx.post(f"{base}/api/run", json={"code": "print(1)"})
        assert refused.status_code == 503
        assert "switched off" in refused.json()["detail"]
        fragment = httpx.post(
            f"{base}/chapters/fine-tuning/snippets/lora-algebra",
            data={"code": "print(1)"},
            headers={"HX-Request": "true"},
        )
        assert fragment.status_code == 503 and "switched off" in fragment.text


def test_the_unsafe_opt_in_runs_code_under_a_banner(tmp_path: Path) -> None:
    env = {"TEXTBOOK_SECRET_KEY": "k", "TEXTBOOK_RUNNER_WORKERS": "1", "TEXTBOOK_RUNNER_ALLOW_UNSAFE": "true"}
    with server_process(tmp_path, NO_NAMESPACES, **env) as (_, base):
        assert httpx.get(f"{base}/healthz").json()["parts"]["runner"]["level"] == "unsafe"
        page = parse_html(httpx.get(f"{base}/chapters/fine-tuning").text)
        assert "without isolation" in page.find(cls="banner").text
        ran = httpx.post(f"{base}/api/run", json={"code": "print(6 * 7)"}).json()
        assert ran["status"] == "ok" and ran["stdout"] == "42\n"
