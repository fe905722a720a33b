"""SII/RII against PHEindicatormethods' testdata_SII workbook; stratified rates and index of disparity by hand.

Anchor folder: methods/equity/phe_sii. SII, RII and intercept point estimates at rtol 1e-9; simulated
confidence limits at the README's tolerance 0.05 (our own seeded simulation, not R's random stream).

Cases left out, with their reason:
* The ten "log transform"/"logit transform" test groups (20 area vectors): they run ``phe_sii(transform = TRUE)``, which fits the
  regression on the log/logit scale; this module implements the untransformed regression only.
* The seven "error handling"/"warning handling" groups: they carry no expected values (the package's argument
  checks); our own invalid-input tests are below.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from medgov.analytics.statistics.equity import (
    index_of_disparity,
    relative_rank_midpoints,
    slope_index_of_inequality,
    stratified_rates,
)
from medgov.analytics.statistics.intervals import rate_interval, wilson_interval
from tests.anchors import ANCHORS

FOLDER = ANCHORS / "methods" / "equity" / "phe_sii"
RTOL = 1e-9
CI_RTOL = 0.05
VALUE_TYPES = {"0": "normal", "1": "rate", "2": "proportion"}


def _groups() -> dict[tuple[str, str], list[dict[str, str]]]:
    with Path(FOLDER / "testdata_SII__testdata_SII.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault((row["TestDescription"], row["Area"]), []).append(row)
    return groups


def _settings(description: str) -> tuple[float, list[float]]:
    multiplier = -100.0 if "x -100" in description else 100.0 if "x 100" in description else 1.0
    if "negative multiplier" in description:
        multiplier = -1.0
    if "multiple CIs" in description:
        return multiplier, [0.95, 0.99]
    if "99%" in description:
        return multiplier, [0.99]
    return multiplier, [0.95]


CASES = [
    pytest.param(description, sorted(rows, key=lambda r: int(r["Quantile"])), id=f"{description}-{area}")
    for (description, area), rows in _groups().items()
    if rows[0]["sii"] and "transform" not in description
]


@pytest.mark.parametrize(("description", "rows"), CASES)
def test_sii_and_rii_match_phe_sii(description: str, rows: list[dict[str, str]]) -> None:
    first = rows[0]
    multiplier, levels = _settings(description)
    for number, confidence in enumerate(levels, start=1):
        result = slope_index_of_inequality(
            [float(r["Value"]) for r in rows],
            [float(r["Population"]) for r in rows],
            lower_limits=[float(r["LowerCL"]) for r in rows],
            upper_limits=[float(r["UpperCL"]) for r in rows],
            value_type=VALUE_TYPES[first["ValueType"]],  # type: ignore[arg-type]
            multiplier=multiplier,
            confidence=confidence,
            repetitions=int(first["Repetitions"]),
            seed=5,
        )
        assert result.sii == pytest.approx(float(first["sii"]), rel=RTOL)
        if first["rii"]:
            assert result.rii == pytest.approx(float(first["rii"]), rel=RTOL)
        if first["Intercept"]:
            assert result.intercept == pytest.approx(float(first["Intercept"]), rel=RTOL)
        for ours, column in (
            (result.sii_lower, f"sii_lowercl_{number}"),
            (result.sii_upper, f"sii_uppercl_{number}"),
            (result.rii_lower, f"rii_lowercl_{number}"),
            (result.rii_upper, f"rii_uppercl_{number}"),
        ):
            if first[column]:
                assert ours == pytest.approx(float(first[column]), rel=CI_RTOL)


def test_relative_ranks_are_cumulative_midpoints() -> None:
    assert relative_rank_midpoints([12, 10, 78]).tolist() == pytest.approx([0.06, 0.17, 0.61], rel=1e-12)


def test_sii_of_a_straight_line_is_its_slope() -> None:
    populations = [100, 300, 200, 400]
    ranks = relative_rank_midpoints(populations)
    result = slope_index_of_inequality(list(10 + 4 * ranks), populations, repetitions=0)
    assert (result.sii, result.rii, result.intercept) == pytest.approx((4.0, 1.4, 10.0), rel=1e-12)
    assert result.sii_lower is None


def test_sii_with_an_empty_quantile_gives_a_reason() -> None:
    result = slope_index_of_inequality([1.0, 2.0, 3.0], [10, 0, 10], repetitions=0)
    assert result.sii is None
    assert result.reason == "needs at least two quantiles, each with a population and a value"


def test_sii_needs_errors_for_limits() -> None:
    with pytest.raises(ValueError, match="standard_errors"):
        slope_index_of_inequality([1.0, 2.0, 3.0], [10, 10, 10], repetitions=10)


def test_stratified_rates_differences_and_ratios_against_the_reference_group() -> None:
    frame = pd.DataFrame(
        {"group": ["a", "a", "b", "c"], "events": [3, 2, 20, 0], "patients": [50, 50, 100, 0]},
    )
    table = stratified_rates(
        frame, group_column="group", numerator_column="events", denominator_column="patients", reference_group="a"
    ).set_index("group")
    reference = wilson_interval(5, 100)
    other = wilson_interval(20, 100)
    assert table.loc["b", ["rate", "lower", "upper"]].tolist() == [other.estimate, other.lower, other.upper]
    assert table.loc["b", "difference"] == pytest.approx(0.15, rel=1e-12)
    assert table.loc["b", "ratio"] == pytest.approx(4.0, rel=1e-12)
    assert np.isnan(table.loc["c", "rate"])
    assert table.loc["c", "reason"] == "denominator is zero"
    assert reference.estimate == table.loc["a", "rate"]


def test_stratified_rates_as_poisson_rates() -> None:
    frame = pd.DataFrame({"ward": ["x", "y"], "falls": [4, 30], "bed_days": [1000, 3000]})
    table = stratified_rates(
        frame, group_column="ward", numerator_column="falls", denominator_column="bed_days",
        reference_group="x", kind="rate", multiplier=1000,
    )  # fmt: skip
    expected = rate_interval(30, 3000, multiplier=1000)
    assert table.loc[1, ["rate", "lower", "upper"]].tolist() == [expected.estimate, expected.lower, expected.upper]


def test_unknown_reference_group_raises_naming_it() -> None:
    frame = pd.DataFrame({"g": ["a"], "n": [1], "d": [2]})
    with pytest.raises(ValueError, match="reference_group"):
        stratified_rates(frame, group_column="g", numerator_column="n", denominator_column="d", reference_group="z")


@pytest.mark.parametrize(
    ("rates", "reference", "expected"),
    [
        pytest.param([12.0, 8.0, 10.0], 10.0, 13.333333333333334, id="pearcy-keppel-mean-absolute-deviation"),
        pytest.param([5.0], 0.0, None, id="zero-reference"),
        pytest.param([], 3.0, None, id="no-groups"),
    ],
)
def test_index_of_disparity(rates: list[float], reference: float, expected: Any) -> None:
    result = index_of_disparity(rates, reference)
    assert result == (pytest.approx(expected, rel=1e-12) if expected is not None else None)


def test_index_of_disparity_rejects_negative_rates() -> None:
    with pytest.raises(ValueError, match="rates"):
        index_of_disparity([-1.0], 2.0)
