"""Control charts against the qicharts2 0.8.1 references (anchors/methods/spc/qicharts2), rtol 1e-9.

Cases left out, with the reason:
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medgov.analytics.statistics.spc import ControlChart, control_chart
from medgov.analytics.statistics.spc_rules import anhoej_crossings_minimum, anhoej_longest_run_maximum
from tests.analytics.statistics.reference_csv import Row, assert_close, flags, numbers, read_rows
from tests.anchors import ANCHORS

QICHARTS2 = ANCHORS / "methods" / "spc" / "qicharts2"
RTOL = 1e-9

#: Reference cases this module does not run, and why.
LEFT_OUT = {
    "ex_6.3_1": "X-bar chart of subgrouped measurements: outside the chart set (run, I, MR, C, U, P, P', U', T, G)",
    "ex_6.3_2": "S chart of subgrouped measurements: outside the chart set",
    "ex_6.4_1": "X-bar chart of subgrouped measurements: outside the chart set",
    "ex_6.4_2": "S chart of subgrouped measurements: outside the chart set",
}
__doc__ = (__doc__ or "") + "\n".join(f"* {case}: {reason}" for case, reason in LEFT_OUT.items())


def _split_arguments(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for character in text:
        if character == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += character == "("
        depth -= character == ")"
        current += character
    parts.append(current.strip())
    return parts


def _parse_qic_call(call: str) -> dict[str, Any]:
    """Read ``qic(x, y[, n], data = d, chart = "u", part = 24, ...)`` into the arguments the tests need."""
    inner = re.fullmatch(r"\s*qic\((.*)\)\s*", call, flags=re.S)
    assert inner is not None, call
    positional = ["x", "y", "n"]
    arguments: dict[str, Any] = {}
    for part in _split_arguments(inner.group(1)):
        if "=" in part and not part.startswith("c("):
            key, value = (s.strip() for s in part.split("=", 1))
            if key == "data":
                continue
            if value.startswith("c("):
                arguments[key] = [int(v) for v in value[2:-1].split(",")]
            elif value.startswith('"'):
                arguments[key] = value.strip('"')
            else:
                arguments[key] = float(value) if "." in value else int(value)
        else:
            arguments[positional.pop(0)] = part
    return arguments


def _chart_from(arguments: dict[str, Any], rows: list[Row]) -> ControlChart:
    denominators = numbers(rows, arguments["n"]) if "n" in arguments else None
    part = arguments.get("part")
    return control_chart(
        arguments.get("chart", "run"),
        numbers(rows, arguments["y"]),
        denominators,
        baseline_points=arguments.get("freeze"),
        exclude=[i - 1 for i in arguments.get("exclude", [])],
        recalculate_at=[part] if part else [],
        multiplier=float(arguments.get("multiply", 1)),
    )


def _point_cases() -> list[Any]:
    cases = []
    suite = json.loads((QICHARTS2 / "test_suite" / "manifest.json").read_text())
    for case, spec in suite.items():
        if case in LEFT_OUT or "args" not in spec:
            continue
        cases.append(pytest.param(QICHARTS2 / "test_suite", spec["input"], spec["expected"], spec["args"], id=case))
    generated = json.loads((QICHARTS2 / "generated" / "manifest.json").read_text())
    for case, spec in generated.items():
        arguments = _parse_qic_call(spec["qic_call"])
        cases.append(pytest.param(QICHARTS2 / "generated", spec["input"], spec["expected"], arguments, id=case))
    return cases


def _compare_points(chart: ControlChart, expected: list[Row], label: str) -> None:
    assert len(chart.values) == len(expected), label
    assert_close(chart.values, numbers(expected, "y"), rtol=RTOL, label=f"{label}: y")
    assert_close(chart.centre, numbers(expected, "cl"), rtol=RTOL, label=f"{label}: cl")
    assert_close(chart.lower_limit, numbers(expected, "lcl"), rtol=RTOL, label=f"{label}: lcl")
    assert_close(chart.upper_limit, numbers(expected, "ucl"), rtol=RTOL, label=f"{label}: ucl")
    if "lcl.95" in expected[0]:
        assert_close(chart.lower_warning_limit, numbers(expected, "lcl.95"), rtol=RTOL, label=f"{label}: lcl.95")
        assert_close(chart.upper_warning_limit, numbers(expected, "ucl.95"), rtol=RTOL, label=f"{label}: ucl.95")
    assert list(chart.segment) == [int(r["part"]) for r in expected]
    assert list(chart.baseline) == flags(expected, "baseline")
    assert list(chart.included) == flags(expected, "include")
    assert list(chart.sigma_signal) == flags(expected, "sigma.signal")
    runs = [chart.segments[part - 1].runs for part in chart.segment]
    assert [r.n_obs for r in runs] == [int(row["n.obs"]) for row in expected]
    assert [r.n_useful for r in runs] == [int(row["n.useful"]) for row in expected]
    assert [r.longest_run for r in runs] == [int(row["longest.run"]) for row in expected]
    assert [r.longest_run_max for r in runs] == [int(row["longest.run.max"]) for row in expected]
    assert [r.n_crossings for r in runs] == [int(row["n.crossings"]) for row in expected]
    assert [r.n_crossings_min for r in runs] == [int(row["n.crossings.min"]) for row in expected]
    runs_signal = [chart.runs_signal and chart.segments[part - 1].runs.signal for part in chart.segment]
    assert runs_signal == flags(expected, "runs.signal")


@pytest.mark.parametrize(("folder", "input_file", "expected_file", "arguments"), _point_cases())
def test_qicharts2_points(folder: Path, input_file: str, expected_file: str, arguments: dict[str, Any]) -> None:
    chart = _chart_from(arguments, read_rows(folder / input_file))
    _compare_points(chart, read_rows(folder / expected_file), expected_file)


def _summary(chart: ControlChart) -> list[dict[str, float]]:
    rows = []
    for number, segment in enumerate(chart.segments, start=1):
        points = [i for i, part in enumerate(chart.segment) if part == number]

        def average(values: tuple[float, ...], points: list[int] = points) -> float:
            present = [values[i] for i in points if math.isfinite(values[i])]
            return float(np.mean(present)) if present else math.nan

        rows.append(
            {
                "part": number,
                "n.obs": segment.runs.n_obs,
                "n.useful": segment.runs.n_useful,
                "longest.run": segment.runs.longest_run,
                "longest.run.max": segment.runs.longest_run_max,
                "n.crossings": segment.runs.n_crossings,
                "n.crossings.min": segment.runs.n_crossings_min,
                "runs.signal": int(chart.chart != "mr" and segment.runs.signal),
                "aLCL": average(chart.lower_limit),
                "aLCL.95": average(chart.lower_warning_limit),
                "CL": average(chart.centre),
                "aUCL.95": average(chart.upper_warning_limit),
                "aUCL": average(chart.upper_limit),
                "sigma.signal": sum(chart.sigma_signal[i] for i in points),
            }
        )
    return rows


def _compare_summary(actual: list[dict[str, float]], expected: list[Row], label: str) -> None:
    assert len(actual) == len(expected), label
    for got, want in zip(actual, expected, strict=True):
        for column, text in want.items():
            if column in ("facet1", "facet2"):
                continue
            value = float("nan") if text in ("NA", "") else float(text)
            if column.startswith(("aLCL", "aUCL", "CL")):
                assert_close([got[column]], [value], rtol=RTOL, label=f"{label}: {column}")
            else:
                assert got[column] == value, f"{label}: {column}"


def _generated_summaries() -> list[Any]:
    generated = json.loads((QICHARTS2 / "generated" / "manifest.json").read_text())
    return [
        pytest.param(spec["input"], spec["summary"], _parse_qic_call(spec["qic_call"]), id=case)
        for case, spec in generated.items()
    ]


@pytest.mark.parametrize(("input_file", "summary_file", "arguments"), _generated_summaries())
def test_qicharts2_generated_summaries(input_file: str, summary_file: str, arguments: dict[str, Any]) -> None:
    chart = _chart_from(arguments, read_rows(QICHARTS2 / "generated" / input_file))
    _compare_summary(_summary(chart), read_rows(QICHARTS2 / "generated" / summary_file), summary_file)


def _hospital_infections() -> list[Row]:
    return read_rows(QICHARTS2 / "test_suite" / "hospital_infections_input.csv")


def _aggregate(rows: list[Row], key: tuple[str, ...]) -> dict[tuple[str, ...], tuple[float, float]]:
    totals: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in rows:
        total = totals[tuple(row[k] for k in key)]
        total[0] += float(row["n"])
        total[1] += float(row["days"])
    return {k: (v[0], v[1]) for k, v in sorted(totals.items())}


def _facet_summaries(
    rows: list[Row], facets: tuple[str, ...], x: str, order: list[str] | None = None, multiplier: float = 1
) -> list[dict[str, float]]:
    totals = _aggregate(rows, (*facets, x))
    by_facet: dict[tuple[str, ...], list[tuple[str, float, float]]] = defaultdict(list)
    for key, (events, days) in totals.items():
        by_facet[key[:-1]].append((key[-1], events, days))
    summaries = []
    for facet in sorted(by_facet):
        points = by_facet[facet]
        if order is not None:
            points.sort(key=lambda point: order.index(point[0]))
        chart = control_chart("u", [p[1] for p in points], [p[2] for p in points], multiplier=multiplier)
        summaries.extend(_summary(chart))
    return summaries


def _reorder_by_mean_days(rows: list[Row]) -> list[str]:
    """R's ``reorder(hospital, days)``: levels sorted by the mean of days, ties by level name."""
    days: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        days[row["hospital"]].append(float(row["days"]))
    return sorted(days, key=lambda hospital: (float(np.mean(days[hospital])), hospital))


@pytest.mark.parametrize(
    ("case", "facets", "x", "subset_from", "ordered", "multiplier"),
    [
        pytest.param("hai_1", (), "month", None, False, 1.0, id="hai_1-all-months"),
        pytest.param("hai_2", ("infection",), "month", None, False, 1.0, id="hai_2-by-infection"),
        pytest.param("hai_3", ("hospital", "infection"), "month", None, False, 1.0, id="hai_3-hospital-by-infection"),
        pytest.param("hai_4", ("infection",), "hospital", "2016-07-01", True, 10000.0, id="hai_4-hospitals-x10000"),
    ],
)
def test_qicharts2_hospital_infection_summaries(
    case: str, facets: tuple[str, ...], x: str, subset_from: str | None, ordered: bool, multiplier: float
) -> None:
    rows = _hospital_infections()
    if subset_from is not None:
        rows = [row for row in rows if row["month"] >= subset_from]
    order = _reorder_by_mean_days(rows) if ordered else None
    actual = _facet_summaries(rows, facets, x, order, multiplier)
    _compare_summary(actual, read_rows(QICHARTS2 / "test_suite" / f"{case}_expected_summary.csv"), case)


def test_anhoej_critical_values_match_qicharts2() -> None:
    rows = read_rows(QICHARTS2 / "generated" / "anhoej_critical_values.csv")
    assert len(rows) == 91
    for row in rows:
        n_useful = int(row["n_useful"])
        assert anhoej_longest_run_maximum(n_useful) == int(row["longest_run_max"]), n_useful
        assert anhoej_crossings_minimum(n_useful) == int(row["n_crossings_min"]), n_useful


def test_montgomery_p_chart_worked_example() -> None:
    rows = read_rows(QICHARTS2 / "test_suite" / "tbl_07.04_input.csv")
    chart = control_chart("p", numbers(rows, "count"), numbers(rows, "size"))
    assert round(chart.centre[0], 7) == 0.0955102
    assert round(chart.upper_limit[0], 7) == 0.1836857
    assert round(chart.lower_limit[0], 7) == 0.0073347
