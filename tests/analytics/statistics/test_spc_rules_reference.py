"""Making Data Count XmR charts and rules against NHSRplotthedots 0.2.2 (anchors/methods/spc/nhsrplotthedots).

Every case in the manifest, the vignette example and the internal rule-function vectors run here; none is left
out. Limits are compared at rtol 1e-9, labels and flags exactly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from medgov.analytics.statistics.spc import MakingDataCountChart, making_data_count_chart
from medgov.analytics.statistics.spc_rules import (
    near_limit_window_flags,
    part_of_pattern,
    run_end_flags,
    trend_end_flags,
)
from tests.analytics.statistics.reference_csv import Row, assert_close, flags, numbers, read_rows
from tests.anchors import ANCHORS

PLOTTHEDOTS = ANCHORS / "methods" / "spc" / "nhsrplotthedots"
RTOL = 1e-9
TARGET = 55.0


def _manifest_cases() -> list[Any]:
    manifest = json.loads((PLOTTHEDOTS / "manifest.json").read_text())
    return [pytest.param(case, spec, id=case) for case, spec in manifest.items()]


def _options(case: str, spec: dict[str, str], periods: list[str]) -> dict[str, Any]:
    call = spec["call"]
    options: dict[str, Any] = {"screen_outliers": "screen_outliers=FALSE" not in call}
    if "improvement_direction='decrease'" in call:
        options["improvement_direction"] = "decrease"
    if "ptd_target(55)" in call:
        options["target"] = TARGET
    if "rebase=as.Date('2024-09-01')" in call:
        options["rebase_at"] = [periods.index("2024-09-01")]
    if "fix_after_n_points=20" in call:
        options["fix_after_n_points"] = 20
    return options


def _compare(chart: MakingDataCountChart, expected: list[Row], label: str) -> None:
    assert len(chart.values) == len(expected), label
    assert_close(chart.mean, numbers(expected, "mean_col"), rtol=RTOL, label=f"{label}: mean")
    assert_close(chart.lower_process_limit, numbers(expected, "lpl"), rtol=RTOL, label=f"{label}: lpl")
    assert_close(chart.upper_process_limit, numbers(expected, "upl"), rtol=RTOL, label=f"{label}: upl")
    assert list(chart.outside_limits) == flags(expected, "outside_limits"), label
    assert list(chart.special_cause_type) == [row["special_cause_type"] for row in expected], label
    assert [str(t) for t in chart.point_type] == [row["point_type"] for row in expected], label
    if "relative_to_mean" in expected[0]:
        assert list(chart.relative_to_mean) == [int(row["relative_to_mean"]) for row in expected], label
    if "close_to_limits" in expected[0]:
        assert list(chart.close_to_limits) == flags(expected, "close_to_limits"), label
    if "special_cause_flag" in expected[0]:
        assert list(chart.special_cause_flag) == flags(expected, "special_cause_flag"), label
    if "rebase_group" in expected[0]:
        assert list(chart.rebase_group) == [int(row["rebase_group"]) for row in expected], label


@pytest.mark.parametrize(("case", "spec"), _manifest_cases())
def test_plotthedots_points(case: str, spec: dict[str, str]) -> None:
    rows = read_rows(PLOTTHEDOTS / spec["input"])
    chart = making_data_count_chart(numbers(rows, "value"), **_options(case, spec, [r["period"] for r in rows]))
    _compare(chart, read_rows(PLOTTHEDOTS / spec["expected"]), case)


def _summary_cases() -> list[Any]:
    manifest = json.loads((PLOTTHEDOTS / "manifest.json").read_text())
    return [pytest.param(case, spec, id=case) for case, spec in manifest.items() if "summary" in spec]


@pytest.mark.parametrize(("case", "spec"), _summary_cases())
def test_plotthedots_summary(case: str, spec: dict[str, str]) -> None:
    rows = read_rows(PLOTTHEDOTS / spec["input"])
    chart = making_data_count_chart(numbers(rows, "value"), **_options(case, spec, [r["period"] for r in rows]))
    (expected,) = read_rows(PLOTTHEDOTS / spec["summary"])
    (group,) = chart.groups
    assert_close(
        [group.mean, group.lower_process_limit, group.upper_process_limit],
        [float(expected["mean_col"]), float(expected["lpl"]), float(expected["upl"])],
        rtol=RTOL,
        label=case,
    )
    assert group.n == int(expected["n"])
    assert group.common_cause == int(expected["common_cause"])
    assert group.special_cause_improvement == int(expected["special_cause_improvement"])
    assert group.special_cause_concern == int(expected["special_cause_concern"])
    assert str(group.variation_type) == expected["variation_type"]
    assert str(chart.assurance) == expected["assurance_type"]


@pytest.mark.parametrize(
    ("expected_file", "screen", "upper", "mean", "lower"),
    [
        pytest.param(
            "vignette_deviations_screen_true_expected.csv", True, 4.604444, 1.944444, -0.7155556, id="screened"
        ),
        pytest.param(
            "vignette_deviations_screen_false_expected.csv", False, 6.951503, 1.944444, -3.062614, id="unscreened"
        ),
    ],
)
def test_plotthedots_vignette_deviations(
    expected_file: str, screen: bool, upper: float, mean: float, lower: float
) -> None:
    rows = read_rows(PLOTTHEDOTS / "vignette_deviations_input.csv")
    chart = making_data_count_chart(numbers(rows, "data"), screen_outliers=screen)
    _compare(chart, read_rows(PLOTTHEDOTS / expected_file), expected_file)
    assert round(chart.upper_process_limit[0], 6) == upper
    assert round(chart.mean[0], 6) == mean
    assert round(chart.lower_process_limit[0], 7 if screen else 6) == lower


def _vectors(rule: str) -> list[Any]:
    vectors = json.loads((PLOTTHEDOTS / "rule_function_vectors.json").read_text())[rule]
    return [pytest.param(vector, id=f"{rule}-{number}") for number, vector in enumerate(vectors, start=1)]


@pytest.mark.parametrize("vector", _vectors("seven_point_one_side_mean"))
def test_rule_seven_points_one_side_of_mean(vector: dict[str, list[int]]) -> None:
    assert run_end_flags(vector["input"], 7) == vector["output"]


@pytest.mark.parametrize("vector", _vectors("part_of_seven_trend"))
def test_rule_part_of_seven(vector: dict[str, list[int]]) -> None:
    assert part_of_pattern(vector["input"], 7) == vector["output"]


@pytest.mark.parametrize("vector", _vectors("seven_point_trend"))
def test_rule_seven_point_trend(vector: dict[str, list[float]]) -> None:
    assert trend_end_flags(vector["input"], 7) == vector["output"]


@pytest.mark.parametrize("vector", _vectors("two_in_three"))
def test_rule_two_in_three(vector: dict[str, list[int]]) -> None:
    close = [bool(c) for c in vector["close_to_limits"]]
    assert near_limit_window_flags(close, vector["relative_to_mean"], 2, 3) == vector["output"]
