"""Instruments over HTTP: HTMX fragments with the URL to push, restorable pages, the JSON API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.html_tree import parse_html

HX = {"HX-Request": "true"}
FRAGMENT = "/chapters/fine-tuning/instruments/{}"


def test_slider_move_returns_results_and_the_url_to_push(client: TestClient) -> None:
    response = client.get(
        FRAGMENT.format("lora-counter"),
        params={"lora-counter.d_in": "4096", "lora-counter.d_out": "4096", "lora-counter.r": "8"},
        headers={**HX, "HX-Current-URL": "http://testserver/chapters/fine-tuning?nf4-levels.block_size=128"},
    )
    assert response.status_code == 200
    fragment = parse_html(response.text)
    assert not fragment.find_all("html")
    assert fragment.find(cls="live-sentence").text == "At d = 4,096, rank 8 trains 0.39% of the matrix."
    values = [dd.attrs.get("data-value") for dd in fragment.find_all("dd")][:2]
    assert values == ["16777216", "65536"]
    pushed = urlsplit(response.headers["HX-Push-Url"])
    assert pushed.path == "/chapters/fine-tuning"
    query = parse_qs(pushed.query)
    assert query["lora-counter.r"] == ["8"] and query["lora-counter.targets"] == ["all-linear"]
    assert query["nf4-levels.block_size"] == ["128"], "another instrument's state is kept"


def test_the_pushed_url_reopens_the_same_state(client: TestClient) -> None:
    page = parse_html(
        client.get(
            "/chapters/fine-tuning",
            params={"lora-counter.r": "64", "vram-fit.method": "full", "vram-fit.model": "llama-3-8b"},
        ).text
    )
    lora = page.find(id="lora-counter")
    assert lora.find("input", id="lora-counter-r").attrs["value"] == "64"
    assert "rank 64 trains 1.56% of the matrix" in lora.find(cls="live-sentence").text
    vram = page.find(id="vram-fit")
    assert vram.find("input", value="full").attrs.get("checked") is not None
    assert "Llama 3 8B" in vram.find("svg").text


def test_targets_from_checkboxes_count_only_those_modules(client: TestClient) -> None:
    response = client.get(
        FRAGMENT.format("lora-counter")
        + "?lora-counter.model=llama-2-7b&lora-counter.r=8"
        + "&lora-counter.targets=&lora-counter.targets=q_proj&lora-counter.targets=v_proj",
        headers=HX,
    )
    assert "trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622" in response.text


@pytest.mark.parametrize(
    ("instrument", "params", "message"),
    [
        ("lora-counter", {"lora-counter.r": "999"}, "r: must be between 1 and 256"),
        ("lora-counter", {"lora-counter.d_in": "big"}, "d_in: must be a whole number"),
        ("lora-counter", {"lora-counter.targets": ""}, "targets: choose at least one module"),
        ("vram-fit", {"vram-fit.model": "gpt-9"}, "model"),
        (
            "vram-fit",
            {"vram-fit.model": "custom", "vram-fit.params_billion": "1000"},
            "params_billion: must be between 1 and 405",
        ),
        ("vram-fit", {"vram-fit.method": "magic"}, "method"),
        ("nf4-levels", {"nf4-levels.block_size": "100"}, "block_size: must be a power of two"),
        ("nf4-levels", {"nf4-levels.colour": "red"}, "colour: is not a setting"),
    ],
)
def test_bad_input_is_shown_in_the_instrument_with_422(
    client: TestClient, instrument: str, params: dict[str, str], message: str
) -> None:
    fragment = client.get(FRAGMENT.format(instrument), params=params, headers=HX)
    assert fragment.status_code == 422
    assert message in parse_html(fragment.text).find(cls="inline-error").text
    assert "HX-Push-Url" not in fragment.headers
    page = client.get("/chapters/fine-tuning", params=params)
    assert page.status_code == 422
    assert message in parse_html(page.text).find(id=instrument).find(cls="inline-error").text


def test_unknown_instrument_is_404(client: TestClient) -> None:
    assert client.get(FRAGMENT.format("nope"), headers=HX).status_code == 404


def test_api_lora_matrix(client: TestClient) -> None:
    assert client.get("/api/instruments/lora/matrix", params={"d_in": 4096, "d_out": 4096, "r": 8}).json() == {
        "full_params": 16777216,
        "lora_params": 65536,
        "trainable_percent": 0.390625,
    }


def test_api_lora_model_matches_peft(client: TestClient) -> None:
    body = client.get(
        "/api/instruments/lora/model", params={"model": "llama-2-7b", "r": 8, "targets": "q_proj,v_proj"}
    ).json()
    assert body["trainable_params"] == 4194304
    assert body["base_params"] == 6738415616
    assert body["all_params"] == 6742609920
    assert body["adapter_bytes_bf16"] == 2 * 4194304


def test_api_lora_models_lists_presets(client: TestClient) -> None:
    ids = {m["id"] for m in client.get("/api/instruments/lora/models").json()}
    assert {"llama-2-7b", "llama-3-8b", "mistral-7b", "qwen2.5-7b", "llama-2-70b", "llama-3-70b"} <= ids


def test_api_vram_seed_statements(client: TestClient) -> None:
    full_7b = client.get("/api/instruments/vram", params={"params_billion": 7, "method": "full"}).json()
    states = sum(full_7b["parts"][k] for k in ("weights", "gradients", "optimizer_states"))
    assert abs(states - 112) < 0.01
    full_70b = client.get("/api/instruments/vram", params={"params_billion": 70, "method": "full"}).json()
    assert 990 <= full_70b["total_gb"] <= 1210
    qlora_70b = client.get("/api/instruments/vram", params={"model": "llama-2-70b", "method": "qlora"}).json()
    assert qlora_70b["total_gb"] < 48
    assert {f["memory_gb"]: f["fits"] for f in qlora_70b["fits"]} == {24: False, 48: True, 80: True, 141: True}
    assert qlora_70b["assumptions"]


def test_api_nf4(client: TestClient) -> None:
    body = client.get("/api/instruments/nf4", params={"block_size": 64}).json()
    assert len(body["levels_seed"]) == len(body["levels_nf4"]) == 16
    assert body["levels_nf4"][7] == 0.0
    assert body["bits_per_param"] == 4.5
    assert body["error_nf4"] < body["error_int4"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/instruments/lora/matrix", {"d_in": "abc", "d_out": 1, "r": 1}),
        ("/api/instruments/lora/matrix", {"d_in": 4096, "d_out": 4096, "r": 0}),
        ("/api/instruments/lora/matrix", {}),
        ("/api/instruments/lora/model", {"model": "nope"}),
        ("/api/instruments/lora/model", {"model": "llama-2-7b", "targets": "lm_head"}),
        ("/api/instruments/vram", {"model": "llama-2-7b", "method": "sgd"}),
        ("/api/instruments/vram", {"params_billion": "NaN"}),
        ("/api/instruments/vram", {"model": "llama-2-7b", "seq_len": "-1"}),
        ("/api/instruments/nf4", {"block_size": "3"}),
    ],
)
def test_api_bad_input_is_422_with_a_message(client: TestClient, path: str, params: dict[str, object]) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


# ---- an instrument from a spec alone ------------------------------------------------

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from app.instruments.catalog import register, unregister  # noqa: E402
from app.instruments.errors import parse_choice, parse_float  # noqa: E402
from app.instruments.spec import ApiParam, ApiRoute, Choice, InstrumentSpec, Readout, Setting, SettingGroup  # noqa: E402
from app.main import create_app  # noqa: E402
from tests.conftest import make_settings  # noqa: E402


@dataclass(frozen=True)
class WeightBytes:
    params_billion: float
    bits: int
    gigabytes: float


def weight_bytes(params: dict[str, object]) -> WeightBytes:
    """A pure function: weights of N billion parameters at b bits, in GB."""
    size = parse_float("params_billion", params["params_billion"], low=0.5, high=500)
    bits = int(parse_choice("bits", str(params["bits"]), ("4", "8", "16")))
    return WeightBytes(params_billion=size, bits=bits, gigabytes=size * bits / 8)


WEIGHT_BYTES = InstrumentSpec(
    name="weight-bytes",
    groups=(
        SettingGroup(
            "Model and precision",
            (
                Setting(
                    "params_billion", "Parameters (billions)", 7, kind="float", range=(0.5, 500), step=0.5, unit="B"
                ),
                Setting(
                    "bits",
                    "Bits per weight",
                    16,
                    kind="choice",
                    widget="radio",
                    choices=(Choice(4, "4-bit"), Choice(8, "8-bit"), Choice(16, "16-bit")),
                ),
            ),
        ),
    ),
    compute=weight_bytes,
    result_type=WeightBytes,
    readouts=(Readout("Weights", "gigabytes", "gb", accent=True), Readout("Bits", "bits", "thousands")),
    sentence=lambda r: f"{r.params_billion:g}B weights at {r.bits} bits take {r.gigabytes:g} GB.",
    api=(
        ApiRoute(
            "/api/instruments/weight-bytes",
            "Weight memory of a model at a precision.",
            WeightBytes,
            params=(ApiParam("params_billion"), ApiParam("bits")),
        ),
    ),
)

EXTRA_CHAPTER = """---
title: Extra
volume: 9
number: 1
chapters_in_volume: 1
slug: extra
lede: A chapter with one instrument that only a spec describes.
---

## Weights

How big are the weights?

```instrument
name: weight-bytes
title: Weight bytes
params: {params_billion: 13}
```
"""


@pytest.fixture
def extra_client(tmp_path: Path) -> Iterator[TestClient]:
    register(WEIGHT_BYTES)
    try:
        content = tmp_path / "content" / "vol9"
        content.mkdir(parents=True)
        (content / "01-extra.md").write_text(EXTRA_CHAPTER)
        app = create_app(make_settings(tmp_path / "data", content_dir=tmp_path / "content"))
        with TestClient(app) as client:
            yield client
    finally:
        unregister("weight-bytes")


def test_an_instrument_from_a_spec_alone_gets_controls_fragment_url_state_and_api(extra_client: TestClient) -> None:
    page = extra_client.get("/chapters/extra")
    assert page.status_code == 200, page.text
    section = parse_html(page.text).find(id="weight-bytes")
    # Controls, with the spec's range and choices.
    size = section.find("input", id="weight-bytes-params_billion")
    assert (size.attrs["min"], size.attrs["max"], size.attrs["step"], size.attrs["value"]) == (
        "0.5",
        "500",
        "0.5",
        "13",
    )
    radios = [node for node in section.find_all("input", type="radio") if node.attrs.get("name") == "weight-bytes.bits"]
    assert [r.attrs["value"] for r in radios] == ["4", "8", "16"]
    assert [r.attrs["value"] for r in radios if r.attrs.get("checked") is not None] == ["16"]
    # Results: the generic readouts and sentence.
    assert section.find(cls="live-sentence").text == "13B weights at 16 bits take 26 GB."
    # The fragment, and the URL that reopens its state.
    fragment = extra_client.get(
        "/chapters/extra/instruments/weight-bytes",
        params={"weight-bytes.params_billion": "70", "weight-bytes.bits": "4"},
        headers=HX,
    )
    assert fragment.status_code == 200
    assert parse_html(fragment.text).find(cls="live-sentence").text == "70B weights at 4 bits take 35 GB."
    pushed = urlsplit(fragment.headers["HX-Push-Url"])
    assert parse_qs(pushed.query) == {"weight-bytes.params_billion": ["70"], "weight-bytes.bits": ["4"]}
    reopened = parse_html(extra_client.get(f"{pushed.path}?{pushed.query}").text).find(id="weight-bytes")
    assert reopened.find("input", id="weight-bytes-params_billion").attrs["value"] == "70"
    assert "35 GB" in reopened.find(cls="live-sentence").text
    # Bad input: in place, 422.
    bad = extra_client.get("/chapters/extra/instruments/weight-bytes", params={"weight-bytes.bits": "3"}, headers=HX)
    assert bad.status_code == 422 and "bits: must be one of 4, 8, 16" in bad.text
    # The JSON API: the result dataclass, documented from the spec.
    assert extra_client.get("/api/instruments/weight-bytes", params={"params_billion": 70, "bits": 8}).json() == {
        "params_billion": 70.0,
        "bits": 8,
        "gigabytes": 70.0,
    }
    assert extra_client.get("/api/instruments/weight-bytes", params={"params_billion": 9000}).status_code == 422
    parameters = extra_client.get("/openapi.json").json()["paths"]["/api/instruments/weight-bytes"]["get"]["parameters"]
    assert {p["name"]: p["schema"].get("maximum", p["schema"].get("enum")) for p in parameters} == {
        "params_billion": 500,
        "bits": [4, 8, 16],
    }
