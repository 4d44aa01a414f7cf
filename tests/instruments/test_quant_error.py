"""Instrument 7.2: the error each scale layout leaves, deterministic for a seed, and its chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.instruments import InstrumentInputError
from app.instruments.chart_keys import quant_error_chart_key
from app.instruments.charts import quant_error_chart, render_chart
from app.instruments.quant_error import D_IN, SWEEP_BITS, _report, quant_error_report


def fresh(*args: object) -> object:
    _report.cache_clear()
    return quant_error_report(*args)  # type: ignore[arg-type]


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others() -> None:
    first = fresh(7, 4, 128, 1.0, 20.0)
    again = fresh(7, 4, 128, 1.0, 20.0)
    assert first == again
    assert fresh(8, 4, 128, 1.0, 20.0) != first


def test_with_outlier_channels_smaller_groups_leave_less_error() -> None:
    report = quant_error_report(0, 4, 128, 1.0, 20.0)
    errors = {m.method: m.output_error for m in report.methods}
    assert report.outlier_channels == round(0.01 * D_IN)
    assert errors["per-group"] < errors["per-channel"] < errors["per-tensor"]
    assert errors["nf4"] < errors["per-group"]  # NF4's Gaussian grid at the same groups
    bits = {m.method: m.bits_per_weight for m in report.methods}
    assert bits["per-group"] == 4 + 16 / 128 and bits["nf4"] == 4 + 32 / 128 and bits["per-channel"] == 4 + 16 / D_IN


def test_outliers_raise_every_error_and_smaller_groups_contain_them() -> None:
    clean = quant_error_report(0, 4, 128, 0.0, 20.0)
    dirty = quant_error_report(0, 4, 128, 1.0, 20.0)
    assert all(dirty.method(m.method).output_error > m.output_error for m in clean.methods)
    by_group = [quant_error_report(0, 4, g, 1.0, 20.0).method("per-group").output_error for g in (32, 64, 128, 256)]
    assert by_group == sorted(by_group)  # fewer weights per scale, fewer caught by an outlier's scale


def test_each_extra_bit_lowers_the_error() -> None:
    report = quant_error_report(3, 4, 64, 1.0, 20.0)
    for method, bits_per_weight, errors in report.sweep:
        assert len(errors) == len(SWEEP_BITS) == len(bits_per_weight)
        assert list(errors) == sorted(errors, reverse=True), method


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, 1, 128, 1.0, 20.0), "bits"),
        ((0, 4, 100, 1.0, 20.0), "group_size"),
        ((0, 4, 128, 50.0, 20.0), "outlier_percent"),
        ((-1, 4, 128, 1.0, 20.0), "seed"),
    ],
)
def test_bad_settings_name_their_field(args: tuple[object, ...], field: str) -> None:
    with pytest.raises(InstrumentInputError) as caught:
        quant_error_report(*args)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_chart_is_deterministic_accessible_and_marks_each_curve() -> None:
    report = quant_error_report(0, 4, 128, 1.0, 20.0)
    svg = quant_error_chart(report)
    assert svg == render_chart(quant_error_chart_key(report))
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    ids = [el.get("id", "") for el in root.iter()]
    for method in ("per-tensor", "per-channel", "per-group"):
        assert any(i.endswith(f"curve-{method}") for i in ids) and any(i.endswith(f"current-{method}") for i in ids)
    assert any(i.endswith("point-nf4") for i in ids)
    assert "circled: 4 bits" in (root.find("{http://www.w3.org/2000/svg}desc").text or "")  # type: ignore[union-attr]
