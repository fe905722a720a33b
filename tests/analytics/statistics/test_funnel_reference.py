"""Funnel plots against FunnelPlotR 0.6.0 (rtol 1e-9) and PHEindicatormethods 2.1.0 (printed precision).

The PHE files carry 6 to 10 decimals, so each value is compared within half a unit of its last printed decimal.

Cases left out, with the reason:
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from medgov.analytics.statistics.funnel import (
    PheFunnelTable,
    exact_poisson_ratio_limits,
    funnel_plot,
    outside_limits,
    phe_proportion_funnel,
    phe_proportion_significance,
    phe_ratio_funnel,
    phe_ratio_significance,
)
from tests.analytics.statistics.reference_csv import Row, assert_close, decimals, number, numbers, read_rows
from tests.anchors import ANCHORS

FUNNELPLOTR = ANCHORS / "methods" / "funnel" / "funnelplotr"
PHE = ANCHORS / "methods" / "funnel" / "phe_indicatormethods"
RTOL = 1e-9

#: Reference files this module does not check, and why.
LEFT_OUT = {
    "testdata_funnel_rate_outputs.csv": "PHE rate funnels (dsr/crude per 100,000 over several years) are not implemented",
    "testdata_funnel_rate_outputs_2.csv": "PHE rate funnels are not implemented",
    "testdata_funnel_rate_outputs_3.csv": "PHE rate funnels are not implemented",
    "testdata_funnel_rate_dsr_inputs.csv": "PHE rate significance bands are not implemented",
    "testdata_funnel_rate_input_funnels.csv": "PHE rate point conversion is not implemented",
}
__doc__ = (__doc__ or "") + "\n".join(f"* {case}: {reason}" for case, reason in LEFT_OUT.items())

_INPUTS = {
    "sr6": ("sr6_input.csv", "num", "denom"),
    "pr20": ("pr20_input.csv", "deaths", "admissions"),
    "rc20": ("rc20_input.csv", "events", "exposure"),
}


def _options(call: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if match := re.search(r'data_type = "(\w+)"', call):
        options["data_type"] = match.group(1)
    if match := re.search(r'sr_method = "(\w+)"', call):
        options["sr_method"] = match.group(1)
    if match := re.search(r"trim_by = ([\d.]+)", call):
        options["trim_by"] = float(match.group(1))
    if match := re.search(r"limit = (\d+)", call):
        options["limit"] = 95 if match.group(1) == "95" else 99.8
    if "draw_adjusted = FALSE" in call:
        options["overdispersion"] = "none"
    return options


def _funnelplotr_cases() -> list[Any]:
    manifest = json.loads((FUNNELPLOTR / "manifest.json").read_text())
    return [pytest.param(case, spec, id=case) for case, spec in manifest.items() if case != "test_suite"]


@pytest.mark.parametrize(("case", "spec"), _funnelplotr_cases())
def test_funnelplotr_source_data(case: str, spec: dict[str, Any]) -> None:
    input_file, numerator, denominator = _INPUTS[case.split("_")[0]]
    rows = read_rows(FUNNELPLOTR / input_file)
    plot = funnel_plot(
        numbers(rows, numerator), numbers(rows, denominator), [r["group"] for r in rows], **_options(spec["call"])
    )
    expected = read_rows(FUNNELPLOTR / spec["source_data"])
    assert list(plot.groups) == [r["group"] for r in expected]
    assert_close([plot.phi, plot.tau2], [spec["phi"], spec["tau2"]], rtol=RTOL, label=f"{case}: phi, tau2")
    pairs = {
        "numerator": plot.numerators,
        "denominator": plot.denominators,
        "rr": plot.ratios,
        "Y": plot.transformed,
        "Uzscore": plot.z_scores,
        "Wuzscore": plot.winsorised_z_scores,
        "OD95LCL": plot.adjusted_limits.lower_95,
        "OD95UCL": plot.adjusted_limits.upper_95,
        "OD99LCL": plot.adjusted_limits.lower_998,
        "OD99UCL": plot.adjusted_limits.upper_998,
        "LCL95": plot.limits.lower_95,
        "UCL95": plot.limits.upper_95,
        "LCL99": plot.limits.lower_998,
        "UCL99": plot.limits.upper_998,
    }
    for column, actual in pairs.items():
        assert_close(actual, numbers(expected, column), rtol=RTOL, label=f"{case}: {column}")
    assert_close(
        [plot.target_transformed] * len(expected), numbers(expected, "target_transformed"), rtol=RTOL, label=case
    )
    trimmed_column = "truncated" if "truncated" in expected[0] else "winsorised"
    assert [int(t) for t in plot.trimmed] == [int(r[trimmed_column]) for r in expected]
    assert [int(o) for o in plot.outlier] == [int(r["outlier"]) for r in expected]


@pytest.mark.parametrize(
    "expected_file",
    [
        pytest.param("test_poisson_limits_expected.csv", id="test-suite-15-20-30"),
        pytest.param("sr_exact_poisson_limits_expected.csv", id="generated-grid"),
    ],
)
def test_funnelplotr_exact_poisson_limits(expected_file: str) -> None:
    rows = read_rows(FUNNELPLOTR / expected_file)
    expected_events = numbers(rows, "number_seq")
    lower_95, upper_95 = exact_poisson_ratio_limits(expected_events, 0.95)
    lower_998, upper_998 = exact_poisson_ratio_limits(expected_events, 0.998)
    assert_close(lower_95, numbers(rows, "ll95"), rtol=RTOL, label="ll95")
    assert_close(upper_95, numbers(rows, "ul95"), rtol=RTOL, label="ul95")
    assert_close(lower_998, numbers(rows, "ll998"), rtol=RTOL, label="ll998")
    assert_close(upper_998, numbers(rows, "ul998"), rtol=RTOL, label="ul998")


def _test_suite() -> dict[str, Any]:
    return dict(json.loads((FUNNELPLOTR / "manifest.json").read_text())["test_suite"])


def test_funnelplotr_asserted_poisson_limits() -> None:
    asserted = _test_suite()["poisson_limits"]["asserted"]
    lower_95, upper_95 = exact_poisson_ratio_limits([15, 20, 30], 0.95)
    lower_998, upper_998 = exact_poisson_ratio_limits([15, 20, 30], 0.998)
    for actual, key in ((lower_95, "ll95"), (upper_95, "ul95"), (lower_998, "ll99"), (upper_998, "ul99")):
        np.testing.assert_allclose(actual, asserted[key], rtol=0, atol=5e-7, err_msg=key)


def test_funnelplotr_asserted_phi() -> None:
    rows = read_rows(FUNNELPLOTR / "sr6_input.csv")
    plot = funnel_plot(numbers(rows, "num"), numbers(rows, "denom"), [r["group"] for r in rows])
    assert round(plot.phi, 6) == _test_suite()["phi_sr6"]["asserted_phi_rounded6"]


def test_funnelplotr_aggregates_by_group() -> None:
    spec = _test_suite()["aggregate"]
    plot = funnel_plot(spec["input"]["numerator"], spec["input"]["denominator"], spec["input"]["group"])
    assert plot.groups == ("a", "b", "c")
    assert [round(r, 6) for r in plot.ratios] == spec["asserted_rr_rounded6"]


@pytest.mark.parametrize("variant", ["unadj95", "adj95", "unadj99", "adj99"])
def test_funnelplotr_outlier_flags(variant: str) -> None:
    spec = _test_suite()["outliers"]
    limits = spec["limits"]
    prefix = "OD" if variant.startswith("adj") else ""
    level = "95" if variant.endswith("95") else "99"
    lower = limits[f"{prefix}{level}LCL"] if prefix else limits[f"LCL{level}"]
    upper = limits[f"{prefix}{level}UCL"] if prefix else limits[f"UCL{level}"]
    flags = outside_limits(spec["rr"], [lower] * len(spec["rr"]), [upper] * len(spec["rr"]))
    assert [int(f) for f in flags] == spec["expected"][variant]


def _assert_printed(actual: tuple[float, ...], rows: list[Row], column: str) -> None:
    assert len(actual) == len(rows), column
    for index, (value, row) in enumerate(zip(actual, rows, strict=True)):
        text = row[column]
        tolerance = 0.5 * 10 ** -decimals(text) + 1e-12 * abs(number(text))
        assert abs(value - number(text)) <= tolerance, f"{column} row {index + 1}: {value!r} vs {text}"


def _compare_phe_table(table: PheFunnelTable, rows: list[Row], columns: dict[str, tuple[float, ...]]) -> None:
    for column, actual in columns.items():
        _assert_printed(actual, rows, column)
    assert len(table.axis) == 100


@pytest.mark.parametrize(
    ("expected_file", "maximum_denominator"),
    [
        pytest.param("testdata_funnel_prop_outputs.csv", None, id="proportions"),
        pytest.param("testdata_funnel_prop_outputs_with_axis_variation.csv", 31000, id="proportions-axis-variation"),
    ],
)
def test_phe_proportion_funnel(expected_file: str, maximum_denominator: float | None) -> None:
    rows = read_rows(PHE / "testdata_funnel_prop_inputs.csv")
    if maximum_denominator is not None:
        rows = [r for r in rows if float(r["denominator"]) < maximum_denominator]
    table = phe_proportion_funnel(numbers(rows, "numerator"), numbers(rows, "denominator"), multiplier=100)
    expected = read_rows(PHE / expected_file)
    _compare_phe_table(
        table,
        expected,
        {
            "Population": table.axis,
            "Lower2s0025limit": table.lower_2s,
            "Upper2s0025limit": table.upper_2s,
            "Lower3s0001limit": table.lower_3s,
            "Upper3s0001limit": table.upper_3s,
            "Baseline": (table.baseline or 0.0,) * 100,
        },
    )


def test_phe_proportion_significance() -> None:
    rows = read_rows(PHE / "testdata_funnel_prop_inputs.csv")
    labels = phe_proportion_significance(numbers(rows, "numerator"), numbers(rows, "denominator"))
    assert list(labels) == [r["significance"] for r in rows]


@pytest.mark.parametrize("ratio_type", ["count", "isr"])
def test_phe_ratio_funnel(ratio_type: str) -> None:
    rows = read_rows(PHE / "testdata_funnel_ratio_inputs.csv")
    table = phe_ratio_funnel(numbers(rows, "obs"), numbers(rows, "expected"), ratio_type=ratio_type)
    expected = read_rows(PHE / "testdata_funnel_ratio_outputs.csv")
    _compare_phe_table(
        table,
        expected,
        {
            "Observed_events": table.axis,
            "lower_2s_exp_events": table.lower_2s_expected,
            "upper_2s_exp_events": table.upper_2s_expected,
            "lower_3s_exp_events": table.lower_3s_expected,
            "upper_3s_exp_events": table.upper_3s_expected,
            f"lower_2s_{ratio_type}": table.lower_2s,
            f"upper_2s_{ratio_type}": table.upper_2s,
            f"lower_3s_{ratio_type}": table.lower_3s,
            f"upper_3s_{ratio_type}": table.upper_3s,
        },
    )


def test_phe_ratio_significance() -> None:
    rows = read_rows(PHE / "testdata_funnel_ratio_inputs.csv")
    labels = phe_ratio_significance(numbers(rows, "obs"), numbers(rows, "expected"))
    assert list(labels) == [r["significance"] for r in rows]
