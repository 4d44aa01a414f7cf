"""The chapter page against the same bytes served as a static file by the same server,
and the instruments (JSON and HTML fragment) against the app's cheapest endpoint.

    .venv/bin/python bench/bench_pages.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import ROOT, running_server
from bench.stats import interleaved, table


def main(argv: list[str] | None = None) -> dict[str, dict[str, list[float]]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        static = Path(tmp) / "static"
        shutil.copytree(ROOT / "static", static)
        with running_server(Path(tmp) / "data", TEXTBOOK_STATIC_DIR=str(static)) as base:
            client = httpx.Client(base_url=base, timeout=30)
            page = client.get("/chapters/fine-tuning").content
            (static / "chapter-snapshot.html").write_bytes(page)
            hx = {"HX-Request": "true"}
            pages = interleaved(
                {
                    "chapter page (GET /chapters/fine-tuning)": lambda: client.get("/chapters/fine-tuning"),
                    "same bytes as a static file": lambda: client.get("/static/chapter-snapshot.html"),
                },
                args.repeats,
            )
            instruments = interleaved(
                {
                    "trivial endpoint (GET /api/version)": lambda: client.get("/api/version"),
                    "LoRA matrix JSON": lambda: client.get(
                        "/api/instruments/lora/matrix", params={"d_in": 4096, "d_out": 4096, "r": 8}
                    ),
                    "LoRA model JSON": lambda: client.get(
                        "/api/instruments/lora/model", params={"model": "llama-3-70b", "r": 16, "targets": "all-linear"}
                    ),
                    "VRAM JSON": lambda: client.get(
                        "/api/instruments/vram", params={"model": "llama-2-70b", "method": "qlora"}
                    ),
                    "NF4 JSON": lambda: client.get("/api/instruments/nf4", params={"block_size": 64}),
                    "LoRA fragment (HTMX)": lambda: client.get(
                        "/chapters/fine-tuning/instruments/lora-counter", params={"lora-counter.r": 32}, headers=hx
                    ),
                    "VRAM fragment with chart (HTMX, cached)": lambda: client.get(
                        "/chapters/fine-tuning/instruments/vram-fit", params={"vram-fit.method": "lora"}, headers=hx
                    ),
                },
                args.repeats,
            )
    print(f"chapter page: {len(page):,} bytes, {args.repeats} interleaved requests each\n")
    print(table(list(pages.items()), "same bytes as a static file"))
    print()
    print(table(list(instruments.items()), "trivial endpoint (GET /api/version)"))
    return {"pages": pages, "instruments": instruments}


if __name__ == "__main__":
    main()
