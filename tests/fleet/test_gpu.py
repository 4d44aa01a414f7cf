"""The GPU path: detection here; the CUDA runs themselves only where a GPU is usable (skipped here otherwise).

`bench/gpu_check.sh` is the manual counterpart on a GPU machine: it installs CuPy, runs
both chapter snippets on the GPU and on the CPU, compares their conclusions and times them.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.fleet.gpu import find_cuda
from bench.server import runner_service_process
from tests.fleet.conftest import RUNNER_ENV, TOKEN, auth
from tests.html_tree import parse_html
from tests.runner.snippets import LORA_ALGEBRA, RANK_VS_CAPACITY

GPU = find_cuda()
needs_gpu = pytest.mark.skipif(not GPU.usable, reason=f"no usable GPU on this host ({GPU.describe()})")
without_gpu = pytest.mark.skipif(GPU.usable, reason="this host has a usable GPU")


def test_detection_finds_the_device_nodes_and_only_the_compute_driver_libraries(tmp_path: Path) -> None:
    dev, lib = tmp_path / "dev", tmp_path / "lib"
    (dev / "nvidia-caps").mkdir(parents=True)
    lib.mkdir()
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-caps/nvidia-cap1", "null"):
        (dev / name).touch()
    for name in (
        "libcuda.so.1",
        "libcuda.so.550.54",
        "libnvidia-ptxjitcompiler.so.1",
        "libnvidia-glcore.so.550.54",
        "libc.so.6",
    ):
        (lib / name).touch()
    host = find_cuda(str(dev), (str(lib),))
    assert [Path(node).name for node in host.device_nodes] == [
        "nvidia0",
        "nvidia1",
        "nvidiactl",
        "nvidia-uvm",
        "nvidia-cap1",
    ]
    assert [Path(path).name for path in host.driver_libraries] == [
        "libcuda.so.1",
        "libcuda.so.550.54",
        "libnvidia-ptxjitcompiler.so.1",
    ]
    assert host.missing == ([] if host.cupy else ["CuPy is not installed (pip install cupy-cuda12x)"])
    bare = find_cuda(str(tmp_path / "nothing"), (str(tmp_path / "nothing"),))
    assert not bare.usable and "no /dev/nvidiactl" in bare.describe() and "no libcuda.so" in bare.describe()


@without_gpu
def test_without_a_gpu_the_runner_says_why_and_the_toolbar_offers_only_the_cpu(client: TestClient) -> None:
    with runner_service_process(TOKEN, **RUNNER_ENV) as (_, base):
        health = httpx.get(f"{base}/v1/health", headers=auth()).json()
        assert health["devices"] == ["cpu"] and health["gpu"].startswith("no GPU")
    page = parse_html(client.get("/chapters/fine-tuning").text)
    assert page.find_all(tag="select", name="device") == []
    refused = client.post("/api/run", json={"code": "print(1)", "device": "cuda"})
    assert refused.status_code == 422 and "no GPU runner" in refused.json()["detail"]


@needs_gpu
def test_a_gpu_runner_runs_the_chapter_snippets_on_cuda() -> None:
    with runner_service_process(TOKEN, **RUNNER_ENV) as (_, base):
        health = httpx.get(f"{base}/v1/health", headers=auth()).json()
        assert health["devices"] == ["cpu", "cuda"] and health["device"] == "cuda", health
        assert health["cuda"]["level"] == "full"
        merge = httpx.post(
            f"{base}/v1/run", json={"code": LORA_ALGEBRA, "device": "cuda"}, headers=auth(), timeout=60
        ).json()
        assert merge["status"] == "ok" and merge["device"] == "cuda", merge
        assert "merged == two-path    : True" in merge["stdout"]
        rank = httpx.post(
            f"{base}/v1/run", json={"code": RANK_VS_CAPACITY, "device": "cuda"}, headers=auth(), timeout=60
        ).json()
        assert rank["status"] == "ok" and rank["device"] == "cuda", rank
        assert "rank  16: relative Frobenius error 0.0000" in rank["stdout"]
        assert len(rank["figures"]) == 1  # plot_xy of GPU values, drawn on the host
        cpu = httpx.post(f"{base}/v1/run", json={"code": LORA_ALGEBRA}, headers=auth(), timeout=60).json()
        assert cpu["device"] == "cpu" and "merged == two-path    : True" in cpu["stdout"]


@needs_gpu
def test_a_cuda_sandbox_holds_the_gpu_device_nodes_and_nothing_else_of_the_host() -> None:
    probe = (
        "import os\nprint(sorted(os.listdir('/dev')))\n"
        "print(os.path.exists('/etc'), os.path.exists('/home'), os.getuid())"
    )
    with runner_service_process(TOKEN, **RUNNER_ENV) as (_, base):
        ran = httpx.post(f"{base}/v1/run", json={"code": probe, "device": "cuda"}, headers=auth(), timeout=60).json()
    assert ran["status"] == "ok", ran
    listing, host = ran["stdout"].splitlines()
    allowed = {"null", "zero", "full", "random", "urandom", "nvidia-caps"} | {
        Path(node).name for node in GPU.device_nodes
    }
    assert set(eval(listing)) <= allowed
    assert host == "False False 65534"


@needs_gpu
def test_the_snippet_toolbar_offers_the_gpu_where_a_runner_has_one(tmp_path: Path) -> None:
    from bench.server import server_process

    with runner_service_process(TOKEN, **RUNNER_ENV) as (_, runner):
        env = {"TEXTBOOK_SECRET_KEY": "k", "TEXTBOOK_RUNNER_URLS": runner, "TEXTBOOK_RUNNER_TOKEN": TOKEN}
        with server_process(tmp_path, **env) as (_, web):
            page = parse_html(httpx.get(f"{web}/chapters/fine-tuning").text)
            assert len(page.find_all(tag="select", name="device")) == len(page.find_all(cls="snippet"))
            ran = httpx.post(f"{web}/api/run", json={"code": LORA_ALGEBRA, "device": "cuda"}, timeout=60).json()
            assert ran["device"] == "cuda" and "merged == two-path    : True" in ran["stdout"]
