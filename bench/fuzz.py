"""The long fuzz: schemathesis over every operation of /openapi.json (positive and
negative data), then hand-picked hostile strings against the JSON API *and* the HTML
routes the schema does not describe (HTMX fragments, no-JS form posts).

    .venv/bin/python bench/fuzz.py [--examples 300] [--run-examples 60] [--max-seconds 300] [--seed 0]

Same contract as tests/web/test_schema_fuzz.py (which is the short CI run): never a
5xx; a 2xx conforms to the schema; anything else is an expected refusal in the app's
error shape. The app runs in-process (schemathesis' ASGI transport, lifespan started,
so the sandboxed runner is live). Failures are tallied, not raised, so one run shows
all of them. Prints counts of cases, failures and status codes; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.python import asgi as schemathesis_asgi

from app.main import create_app
from tests.conftest import make_settings
from tests.web.test_schema_fuzz import RUN_PATH, check_response, with_hints

CHAPTER = "fine-tuning"
EXERCISES = ["full-ft-memory", "lora-adapter-params", "lora-trainable-percent", "nf4-levels-count", "qlora-70b-weights"]
# Inputs that have broken web apps before: encodings, numbers at the edges, markup, sizes.
HOSTILE = [
    "\ud800",  # a lone surrogate: valid in a JSON escape, not encodable as UTF-8
    "print('\udfff')",
    "\x00",
    "1\x00 GB",
    "\u202e112 GB",  # right-to-left override
    "１１２ GB",  # full-width digits
    "١١٢",  # Arabic-Indic digits
    "1e309",
    "-1e309",
    "NaN",
    "-0",
    "1_000",
    "0x10",
    " 112 GB ",
    "112 GB\r\n",
    "9" * 199,
    "9" * 400,
    "A" * 70_000,
    "<script>alert(1)</script>",
    "{{ 7 * 7 }}",
    "'; DROP TABLE attempts; --",
    "%s%s%n",
    "../../etc/passwd",
    "",
]
HX = {"HX-Request": "true"}


@dataclass
class Tally:
    cases: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    failures: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def fail(self, label: str, summary: str, reproduce: str) -> None:
        key = (label, summary[:200])
        self.failures[key] += 1
        self.examples.setdefault(key, reproduce[:400])


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, schemathesis.errors.FailureGroup):
        return "; ".join(sorted({getattr(f, "title", type(f).__name__) for f in exc.exceptions}))
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}"


def fuzz_operation(operation: Any, app: Any, examples: int, deadline: float, tally: Tally, run_seed: int) -> None:
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    strategies = []
    for mode in modes:
        try:
            strategies.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # noqa: BLE001  (an operation without parameters has no negative data)
            continue

    @seed(run_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are tallied, not raised
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def one_case(case: schemathesis.Case) -> None:
        if time.monotonic() > deadline:
            return
        label = operation.label
        tally.cases[label] += 1
        try:
            response = case.call(app=app)
        except Exception as exc:  # noqa: BLE001  (the app raised through the transport: a 500 in production)
            tally.statuses[(label, 0)] += 1
            tally.fail(label, describe_failure(exc), case.as_curl_command())
            return
        tally.statuses[(label, response.status_code)] += 1
        try:
            check_response(case, response)
        except (AssertionError, schemathesis.errors.FailureGroup) as exc:
            tally.fail(label, describe_failure(exc), case.as_curl_command())

    try:
        one_case()
    except Exception as exc:  # noqa: BLE001  (hypothesis itself gave up, e.g. could not generate)
        tally.fail(operation.label, f"generation: {describe_failure(exc)}", "")


def hostile_requests(value: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, method, request kwargs) for every place a student's text reaches the app."""
    body = lambda payload: {"data": json.dumps(payload).encode(), "headers": {"content-type": "application/json"}}  # noqa: E731
    # Forms carry UTF-8; a lone surrogate goes out as its (invalid) UTF-8 bytes.
    form = lambda payload, **extra: {  # noqa: E731
        "data": "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in payload.items()),
        "headers": {"content-type": "application/x-www-form-urlencoded", **extra},
    }
    query = quote(value.encode("utf-8", "surrogatepass"), safe="")
    exercise = EXERCISES[len(value) % len(EXERCISES)]
    return [
        (
            "POST /api/exercises/{id}/check",
            "POST",
            {"url": f"/api/exercises/{exercise}/check", **body({"answer": value})},
        ),
        (
            "POST /api/exercises/{id}/check (id)",
            "POST",
            {
                "url": f"/api/exercises/{quote(value.encode('utf-8', 'surrogatepass'), safe='')}/check",
                **body({"answer": "1"}),
            },
        ),
        ("POST /api/run", "POST", {"url": RUN_PATH, **body({"code": value})}),
        ("GET /api/chapters/{slug}", "GET", {"url": f"/api/chapters/{query}"}),
        (
            "GET /api/instruments/lora/matrix",
            "GET",
            {"url": f"/api/instruments/lora/matrix?d_in={query}&d_out=4096&r=8"},
        ),
        (
            "GET /api/instruments/lora/model",
            "GET",
            {"url": f"/api/instruments/lora/model?model=llama-2-7b&r=8&targets={query}"},
        ),
        ("GET /api/instruments/vram", "GET", {"url": f"/api/instruments/vram?params_billion={query}&seq_len={query}"}),
        ("GET /api/instruments/nf4", "GET", {"url": f"/api/instruments/nf4?block_size={query}"}),
        (
            "GET /chapters/{slug}?instrument",
            "GET",
            {"url": f"/chapters/{CHAPTER}?vram-fit.model={query}&lora-counter.r={query}"},
        ),
        (
            "GET fragment lora-counter",
            "GET",
            {"url": f"/chapters/{CHAPTER}/instruments/lora-counter?lora-counter.targets={query}", "headers": HX},
        ),
        (
            "GET fragment vram-fit",
            "GET",
            {"url": f"/chapters/{CHAPTER}/instruments/vram-fit?vram-fit.method={query}", "headers": HX},
        ),
        (
            "POST form answer (no JS)",
            "POST",
            {"url": f"/chapters/{CHAPTER}/exercises/{exercise}", **form({"answer": value})},
        ),
        (
            "POST form answer (HTMX)",
            "POST",
            {"url": f"/chapters/{CHAPTER}/exercises/{exercise}", **form({"answer": value}, **HX)},
        ),
        (
            "POST form snippet (HTMX)",
            "POST",
            {"url": f"/chapters/{CHAPTER}/snippets/lora-algebra", **form({"code": value}, **HX)},
        ),
        ("POST form reset next", "POST", {"url": "/progress/reset", **form({"next": value})}),
    ]


def probe_hostile(app: Any, tally: Tally) -> None:
    with schemathesis_asgi.get_client(app) as client:
        for value in HOSTILE:
            for label, method, kwargs in hostile_requests(value):
                label = f"hostile {label}"
                tally.cases[label] += 1
                url = kwargs.pop("url")
                try:
                    response = client.request(method, url, allow_redirects=False, **kwargs)
                except Exception as exc:  # noqa: BLE001  (raised through the transport: a 500 in production)
                    tally.statuses[(label, 0)] += 1
                    tally.fail(label, describe_failure(exc), f"{method} {url} {value[:60]!r}")
                    continue
                tally.statuses[(label, response.status_code)] += 1
                if response.status_code >= 500:
                    tally.fail(
                        label,
                        f"{response.status_code}: {response.text[:120]}",
                        f"{method} {url[:120]} value={value[:60]!r}",
                    )


def report(tally: Tally, elapsed: float) -> None:
    total = sum(tally.cases.values())
    print(
        f"{total} cases in {elapsed:.0f} s; {sum(tally.failures.values())} failing cases, "
        f"{len(tally.failures)} distinct failures\n"
    )
    by_label: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for (label, status), count in tally.statuses.items():
        by_label[label][status] += count
    print(f"{'operation':44s} {'cases':>6s}  statuses (0 = exception through the transport)")
    for label in sorted(tally.cases):
        codes = " ".join(f"{code}:{n}" for code, n in sorted(by_label[label].items()))
        print(f"{label:44s} {tally.cases[label]:6d}  {codes}")
    overall = collections.Counter()
    for (_, status), count in tally.statuses.items():
        overall[status] += count
    print(f"\nall status codes: {dict(sorted(overall.items()))}")
    if tally.failures:
        print("\nfailures (operation, what, count, one reproduction):")
        for (label, summary), count in tally.failures.most_common():
            print(f"- {label}: {summary} x{count}\n    {tally.examples[(label, summary)]}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=300, help="generated cases per operation (default 300)")
    parser.add_argument(
        "--run-examples", type=int, default=60, help="cases for POST /api/run, which runs each in the sandbox"
    )
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop sending after this long")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-hostile", action="store_true", help="skip the hand-picked hostile strings")
    args = parser.parse_args(argv)
    # The app logs a traceback for every unexpected error; they are tallied below instead.
    logging.getLogger("app.web.errors").setLevel(logging.CRITICAL)
    tally = Tally()
    started = time.monotonic()
    deadline = started + args.max_seconds
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(Path(tmp) / "data", runner_workers=2, runner_wall_s=2.0))
        schema = schemathesis.openapi.from_dict(with_hints(app.openapi()))
        try:
            for result in schema.get_all_operations():
                operation = result.ok()
                examples = args.run_examples if operation.path == RUN_PATH else args.examples
                fuzz_operation(operation, app, examples, deadline, tally, args.seed)
            if not args.no_hostile:
                probe_hostile(app, tally)
        finally:
            schemathesis_asgi.shutdown_lifespans()  # stops the runner pool
    elapsed = time.monotonic() - started
    report(tally, elapsed)
    return {
        "cases": sum(tally.cases.values()),
        "failures": dict(tally.failures),
        "statuses": dict(tally.statuses),
        "elapsed": elapsed,
    }


if __name__ == "__main__":
    outcome = main()
    sys.exit(1 if outcome["failures"] else 0)
