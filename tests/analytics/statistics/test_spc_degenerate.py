from __future__ import annotations

import math

import numpy as np
import pytest

from medgov.analytics.statistics.funnel import funnel_plot
from medgov.analytics.statistics.spc import control_chart, making_data_count_chart

NAN = math.nan


def _no_limits(limits: tuple[float, ...]) -> bool:
    return all(math.isnan(v) for v in limits)


@pytest.mark.parametrize(
    ("chart", "values", "denominators", "reason"),
    [
        pytest.param("i", [5.0], None, "at least two baseline values", id="i-one-point"),
        pytest.param("i", [4.0, 4.0, 4.0, 4.0], None, "constant", id="i-constant"),
        pytest.param("i", [NAN, NAN, NAN], None, "at least two baseline values", id="i-all-missing"),
        pytest.param("mr", [3.0, 3.0, 3.0], None, "constant", id="mr-constant"),
        pytest.param("c", [0.0, 0.0, 0.0, 0.0], None, "every baseline count is zero", id="c-all-zero"),
        pytest.param("u", [0.0, 0.0, 0.0], [10.0, 12.0, 9.0], "every baseline count is zero", id="u-all-zero"),
        pytest.param(
            "p", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], "every baseline denominator is zero", id="p-zero-denominators"
        ),
        pytest.param("p", [5.0, 6.0, 7.0], [5.0, 6.0, 7.0], "proportion of one", id="p-all-events"),
        pytest.param("pp", [3.0], [10.0], "at least two baseline z-scores", id="laney-one-point"),
        pytest.param("t", [12.0], None, "at least two baseline values", id="t-one-point"),
        pytest.param("g", [0.0, 0.0, 0.0], None, "every baseline value is zero", id="g-all-zero"),
        pytest.param("i", [], None, "the series is empty", id="i-empty"),
    ],
)
def test_degenerate_chart_has_no_limits_and_says_why(
    chart: str, values: list[float], denominators: list[float] | None, reason: str
) -> None:
    result = control_chart(chart, values, denominators)
    assert result.reason is not None
    assert reason in result.reason
    assert _no_limits(result.lower_limit)
    assert _no_limits(result.upper_limit)
    assert result.sigma_signal == (False,) * len(values)


def test_missing_period_is_skipped_not_signalled() -> None:
    result = control_chart("i", [10.0, 12.0, NAN, 11.0, 9.0, 10.0])
    assert result.reason is None
    assert math.isnan(result.values[2])
    assert result.sigma_signal[2] is False
    assert result.segments[0].runs.n_obs == 6
    assert result.segments[0].runs.n_useful == 5


def test_zero_denominator_period_has_no_value_or_limits() -> None:
    result = control_chart("u", [3.0, 0.0, 4.0], [100.0, 0.0, 120.0])
    assert math.isnan(result.values[1])
    assert math.isnan(result.upper_limit[1])
    assert result.sigma_signal == (False, False, False)


def test_run_chart_of_a_constant_series_explains_the_missing_runs_analysis() -> None:
    result = control_chart("run", [2.0, 2.0, 2.0, 2.0])
    runs = result.segments[0].runs
    assert (runs.n_useful, runs.longest_run, runs.signal) == (0, None, False)
    assert runs.reason == "no useful points: every point is missing or on the centre line"


def test_segment_without_baseline_points_says_so() -> None:
    result = control_chart("i", [1.0, 2.0, 3.0, 4.0], exclude=[2, 3], recalculate_at=[2])
    assert result.reason == "points 3-4: the segment has no baseline point that is not excluded"
    assert _no_limits(result.upper_limit[2:])


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        pytest.param([7.0], "at least two values", id="one-point"),
        pytest.param([5.0] * 12, "constant", id="constant"),
        pytest.param([NAN, NAN], "at least two values", id="all-missing"),
    ],
)
def test_making_data_count_degenerate(values: list[float], reason: str) -> None:
    result = making_data_count_chart(values, target=5.0)
    assert result.reason is not None
    assert reason in result.reason
    assert _no_limits(result.upper_process_limit)
    assert result.assurance is None
    assert result.special_cause_flag == (False,) * len(values)


def test_making_data_count_missing_period_breaks_runs() -> None:
    values = [60.0] * 3 + [NAN] + [60.0] * 3 + [40.0] * 10
    result = making_data_count_chart(values)
    assert result.special_cause_type[3] == "Common Cause"
    assert result.special_cause_type[:3] == ("Common Cause",) * 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"chart": "c", "values": [1.0, -2.0]}, "values must not be negative", id="negative-count"),
        pytest.param(
            {"chart": "p", "values": [3.0, 5.0], "denominators": [4.0, 4.0]}, "values must not exceed", id="p-over"
        ),
        pytest.param({"chart": "p", "values": [1.0, 2.0]}, "denominators are required", id="p-no-denominators"),
        pytest.param(
            {"chart": "u", "values": [1.0], "denominators": [-1.0]}, "denominators must not be negative", id="neg-den"
        ),
        pytest.param({"chart": "t", "values": [3.0, 0.0]}, "values must be greater than zero", id="t-zero"),
        pytest.param({"chart": "i", "values": [1.0, 2.0], "exclude": [5]}, "exclude", id="exclude-range"),
        pytest.param({"chart": "xbar", "values": [1.0]}, "chart must be one of", id="unknown-chart"),
    ],
)
def test_invalid_chart_input_raises_naming_the_argument(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        control_chart(**kwargs)  # type: ignore[arg-type]


def test_funnel_with_a_zero_denominator_places_the_rest() -> None:
    plot = funnel_plot([10.0, 12.0, 0.0], [10.0, 11.0, 0.0], ["a", "b", "c"])
    assert plot.reason is not None
    assert "zero denominator cannot be placed on the funnel: c" in plot.reason
    assert math.isnan(plot.limits.upper_998[2])
    assert plot.outlier[2] is False


def test_funnel_of_all_zero_proportions_says_there_is_no_variation() -> None:
    plot = funnel_plot([0.0, 0.0], [50.0, 60.0], data_type="PR")
    assert plot.reason is not None
    assert "overall proportion is 0" in plot.reason
    assert plot.outlier == (False, False)


def test_funnel_with_one_unit_cannot_estimate_between_unit_variance() -> None:
    plot = funnel_plot([30.0], [20.0], data_type="SR", sr_method="CQC", trim_by=0.0)
    assert plot.tau2 == 0.0
    assert plot.reason == "between-unit variance cannot be estimated from fewer than two units"


def test_funnel_with_zero_events_on_the_log_scale_is_explained() -> None:
    plot = funnel_plot([0.0, 10.0, 12.0, 9.0], [8.0, 10.0, 11.0, 9.5])
    assert plot.reason is not None
    assert "left out of phi" in plot.reason
    assert np.isneginf(plot.z_scores[0])


@pytest.mark.parametrize(
    ("numerators", "denominators", "data_type", "message"),
    [
        pytest.param([-1.0], [5.0], "SR", "numerators must not be negative", id="negative-numerator"),
        pytest.param([6.0], [5.0], "PR", "numerators must not exceed denominators", id="proportion-over"),
        pytest.param([1.0], [-5.0], "RC", "denominators must not be negative", id="negative-denominator"),
        pytest.param([1.0, 2.0], [5.0], "SR", "denominators must have one entry per numerator", id="lengths"),
    ],
)
def test_invalid_funnel_input_raises_naming_the_argument(
    numerators: list[float], denominators: list[float], data_type: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        funnel_plot(numerators, denominators, data_type=data_type)
