"""Both chapter snippets on the GPU and on the CPU, through the real sandboxed pools.

Run by bench/gpu_check.sh (which installs CuPy first). Prints, per snippet and device: the
status, whether the chapter's conclusion holds (LoRA merge: `merged == two-path : True`;
rank vs capacity: the rank-16 error prints as 0.0000), the first run (a CUDA run creates its
CUDA context and compiles its kernels in a fresh process every time) and the median of the
rest. Exit 0 only when every conclusion holds on both devices.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.fleet.gpu import find_cuda
from app.main import build_local_runner
from app.runner import RunRequest
from tests.runner.snippets import LORA_ALGEBRA, RANK_VS_CAPACITY

SNIPPETS = {
    "LoRA merge check": (LORA_ALGEBRA, "merged == two-path    : True"),
    "rank vs capacity": (RANK_VS_CAPACITY, "rank  16: relative Frobenius error 0.0000"),
}


async def check(samples: int) -> int:
    gpu = find_cuda()
    print(gpu.describe())
    if not gpu.usable:
        return 2
    runner = build_local_runner(
        Settings(runner_workers=1, runner_gpu="auto", runner_wall_s=60.0, runner_memory_mb=2048)
    )
    await runner.start()
    try:
        health = runner.health()
        print(f"CPU pool: {health['level']}; CUDA pool: {health.get('cuda')}")
        if "cuda" not in runner.devices:
            print("the CUDA pool did not come up; see its isolation report above")
            return 1
        failures = 0
        print(f"\n{'snippet':<20}{'device':<7}{'status':<8}{'conclusion':<12}{'first ms':>10}{'p50 ms':>10}{'n':>4}")
        for name, (code, conclusion) in SNIPPETS.items():
            for device in ("cpu", "cuda"):
                timings, holds, status, output = [], True, "ok", ""
                for _ in range(samples):
                    started = time.perf_counter()
                    result = await runner.run(RunRequest(code, device=device))
                    timings.append((time.perf_counter() - started) * 1000)
                    holds &= result.status == "ok" and conclusion in result.stdout and result.device == device
                    status, output = result.status, result.stdout + result.stderr
                rest = timings[1:] or timings
                print(
                    f"{name:<20}{device:<7}{status:<8}{'holds' if holds else 'DIFFERS':<12}"
                    f"{timings[0]:>10.1f}{statistics.median(rest):>10.1f}{len(timings):>4}"
                )
                if not holds:
                    failures += 1
                    print("  last output:\n    " + output.replace("\n", "\n    "))
        print(
            "\nconclusions agree on GPU and CPU"
            if not failures
            else f"\n{failures} snippet/device pair(s) did not reach the conclusion"
        )
        return 0 if not failures else 1
    finally:
        await runner.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    return asyncio.run(check(parser.parse_args().samples))


if __name__ == "__main__":
    raise SystemExit(main())
