"""Wilson, exact Poisson, Byar's and O/E intervals against PHEindicatormethods' Excel reference workbooks.

Anchor folder: methods/risk_adjustment/phe_byars_isr (README there; tolerance rtol 1e-9, the folder default).

Cases left out, with their reason:
* Rows with a missing numerator or denominator (Proportion/Rate sheets, Area09-Area11): the package returns NA
  for missing input; our functions take numbers, and a zero denominator is covered by
  ``test_zero_denominator_gives_a_reason``.
* testdata_DSR_ISR__testresults_DSR.csv: directly standardised rates (Dobson method) are not part of this module.
* testdata_DSR_ISR__testdata_err1/err3/err4/nonindepe.csv: inputs for the package's own argument-error tests
  and its DSR non-independence variance; they carry no expected interval values.
* methods/funnel/phe_indicatormethods: funnel-limit vectors belong with the funnel-plot module.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from scipy.stats import binom, poisson

from medgov.analytics.statistics import intervals
from medgov.analytics.statistics.intervals import (
    Interval,
    byars_interval,
    exact_binomial_interval,
    exact_poisson_interval,
    observed_expected_ratio,
    rate_interval,
    wilson_interval,
)
from medgov.analytics.statistics.risk import expected_from_reference_rates
from tests.anchors import ANCHORS

FOLDER = ANCHORS / "methods" / "risk_adjustment" / "phe_byars_isr"
RTOL = 1e-9
CONFIDENCES = {"95%": 0.95, "99.8%": 0.998, "95_0": 0.95, "99_8": 0.998}


def _rows(name: str) -> list[dict[str, str]]:
    with Path(FOLDER / name).open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _optional(text: str) -> float | None:
    return float(text) if text.strip() else None


def _assert_limits(result: Interval, lower: float | None, upper: float | None) -> None:
    if lower is None:
        assert result.lower is None
    else:
        assert result.lower == pytest.approx(lower, rel=RTOL, abs=0)
    assert result.upper == pytest.approx(upper, rel=RTOL, abs=0)


# --- testdata_Byars_Wilson: the limit functions on their own -------------------------------------------------

BYARS_WILSON = [
    pytest.param(row, id=f"{row['method']}-x{row['x']}-n{row['n'] or 'none'}-{row['confidence']}")
    for row in _rows("testdata_Byars_Wilson__testdata_B_W.csv")
]


@pytest.mark.parametrize("row", BYARS_WILSON)
def test_byars_and_wilson_limits_match_the_reference_workbook(row: dict[str, str]) -> None:
    confidence = CONFIDENCES[row["confidence"]]
    if row["method"] == "Byars":
        result = byars_interval(int(row["x"]), confidence=confidence)
    else:
        result = wilson_interval(float(row["x"]), float(row["n"]), confidence=confidence)
    _assert_limits(result, _optional(row["lowercl"]), float(row["uppercl"]))


# --- phe_proportion / phe_rate sheets ---------------------------------------------------------------------


def _complete(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in rows if row["Numerator"].strip() and row["Denominator"].strip()]


def _wide_cases(sheet: str) -> list[object]:
    cases = []
    for row in _complete(_rows(sheet)):
        for level in ("95_0", "99_8"):
            label = f"{row['Area']}-{row['Numerator']}of{row['Denominator']}-x{row['multiplier']}-{level}"
            cases.append(pytest.param(row, level, id=label))
    return cases


def _long_cases(sheet: str) -> list[object]:
    return [
        pytest.param(row, id=f"{row['Area']}-{row['Numerator']}of{row['Denominator']}-{row['confidence']}")
        for row in _complete(_rows(sheet))
    ]


@pytest.mark.parametrize(("row", "level"), _wide_cases("testdata_Proportion__testdata_Prop.csv"))
def test_wilson_proportion_matches_phe_proportion(row: dict[str, str], level: str) -> None:
    result = wilson_interval(
        float(row["Numerator"]),
        float(row["Denominator"]),
        confidence=CONFIDENCES[level],
        multiplier=float(row["multiplier"]),
    )
    assert result.estimate == pytest.approx(float(row["value"]), rel=RTOL)
    _assert_limits(result, float(row[f"lower{level}cl"]), float(row[f"upper{level}cl"]))


@pytest.mark.parametrize("row", _long_cases("testdata_Proportion__testdata_Prop_g.csv"))
def test_wilson_proportion_matches_phe_proportion_grouped(row: dict[str, str]) -> None:
    result = wilson_interval(
        float(row["Numerator"]),
        float(row["Denominator"]),
        confidence=CONFIDENCES[row["confidence"]],
        multiplier=float(row["multiplier"]),
    )
    assert result.estimate == pytest.approx(float(row["value"]), rel=RTOL)
    _assert_limits(result, float(row["lowercl"]), float(row["uppercl"]))


def _check_rate(row: dict[str, str], confidence: float, lower: str, upper: str) -> None:
    result = rate_interval(
        float(row["Numerator"]),
        float(row["Denominator"]),
        confidence=confidence,
        multiplier=float(row["multiplier"]),
    )
    assert result.method == {"Exact": "exact-poisson", "Byars": "byars"}[row["method"]]
    assert result.estimate == pytest.approx(float(row["value"]), rel=RTOL)
    _assert_limits(result, float(lower), float(upper))


@pytest.mark.parametrize(("row", "level"), _wide_cases("testdata_Rate__testdata_Rate.csv"))
def test_rate_matches_phe_rate(row: dict[str, str], level: str) -> None:
    _check_rate(row, CONFIDENCES[level], row[f"lower{level}cl"], row[f"upper{level}cl"])


@pytest.mark.parametrize("row", _long_cases("testdata_Rate__testdata_Rate_g.csv"))
def test_rate_matches_phe_rate_grouped(row: dict[str, str]) -> None:
    _check_rate(row, CONFIDENCES[row["confidence"]], row["lowercl"], row["uppercl"])


# --- indirectly standardised ratios and rates --------------------------------------------------------------


def _isr_inputs() -> dict[str, tuple[float, float, float]]:
    """Observed, expected and reference rate (per 1) per area, from the workbook's input sheets."""
    strata: dict[str, list[tuple[float, float, float, float]]] = {}
    for row in _rows("testdata_DSR_ISR__testdata_multiarea_isr.csv"):
        # One stratum (testdata_tiny, 10-14) is blank cells in the workbook: Excel reads them as zero.
        count, pop, ref_count, ref_pop = (float(row[k] or 0) for k in ("count", "pop", "refcount", "refpop"))
        strata.setdefault(row["area"], []).append((count, pop, ref_count, ref_pop))
    reference = [(float(r["refcount"]), float(r["refpop"])) for r in _rows("testdata_DSR_ISR__refdata.csv")]
    for row_number, row in enumerate(_rows("testdata_DSR_ISR__testdata_err2.csv")):
        ref_count, ref_pop = reference[row_number % len(reference)]
        strata.setdefault(row["area"], []).append((float(row["count"]), float(row["pop"]), ref_count, ref_pop))
    inputs = {}
    for area, rows in strata.items():
        expected = expected_from_reference_rates([r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
        reference_rate = sum(r[2] for r in rows) / sum(r[3] for r in rows)
        inputs[area] = (sum(r[0] for r in rows), expected, reference_rate)
    return inputs


ISR_INPUTS = _isr_inputs()
ISR_CASES = [
    pytest.param(row, id=f"{row['area']}-{row['statistic'].replace('indirectly standardised ', '')}")
    for row in _rows("testdata_DSR_ISR__testresults_ISR.csv")
]


@pytest.mark.parametrize("row", ISR_CASES)
def test_indirectly_standardised_ratio_and_rate_match_phe_isr(row: dict[str, str]) -> None:
    observed, expected, reference_rate = ISR_INPUTS[row["area"]]
    statistic = row["statistic"]
    multiplier = float(statistic.rsplit(" ", 1)[-1])
    rate = reference_rate if "rate" in statistic else None
    assert observed == float(row["observed"])
    assert expected == pytest.approx(float(row["expected"]), rel=RTOL)
    for level in ("95_0", "99_8"):
        if not row[f"lower{level}cl"]:
            continue
        result = observed_expected_ratio(
            observed, expected, confidence=CONFIDENCES[level], multiplier=multiplier, reference_rate=rate
        )
        assert result.method == {"Exact": "exact-poisson", "Byars": "byars"}[row["method"]]
        assert result.estimate == pytest.approx(float(row["value"]), rel=RTOL)
        _assert_limits(result, float(row[f"lower{level}cl"]), float(row[f"upper{level}cl"]))


# --- degenerate and invalid input --------------------------------------------------------------------------


def test_zero_denominator_gives_a_reason() -> None:
    assert wilson_interval(0, 0) == Interval(None, None, None, 0.95, "wilson", "denominator is zero")
    assert rate_interval(3, 0).reason == "denominator is zero"
    assert observed_expected_ratio(3, 0).reason == "expected count is zero"


def test_zero_count_has_a_zero_lower_limit() -> None:
    assert exact_poisson_interval(0).lower == 0.0
    assert exact_poisson_interval(0).upper == pytest.approx(3.6888794541139363, rel=RTOL)
    assert exact_binomial_interval(0, 10).lower == 0.0
    assert exact_binomial_interval(10, 10).upper == 1.0


def test_clopper_pearson_limits_are_where_the_binomial_tails_equal_alpha_over_two() -> None:
    result = exact_binomial_interval(7, 20)
    assert result.lower is not None
    assert result.upper is not None
    assert binom.sf(6, 20, result.lower) == pytest.approx(0.025, rel=1e-9)
    assert binom.cdf(7, 20, result.upper) == pytest.approx(0.025, rel=1e-9)


def test_exact_poisson_limits_are_where_the_poisson_tails_equal_alpha_over_two() -> None:
    result = exact_poisson_interval(7)
    assert result.lower is not None
    assert result.upper is not None
    assert poisson.sf(6, result.lower) == pytest.approx(0.025, rel=1e-9)
    assert poisson.cdf(7, result.upper) == pytest.approx(0.025, rel=1e-9)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        pytest.param(lambda: wilson_interval(-1, 10), "numerator", id="wilson-negative-numerator"),
        pytest.param(lambda: rate_interval(1, -10), "denominator", id="rate-negative-denominator"),
        pytest.param(lambda: observed_expected_ratio(-2, 3.0), "observed", id="oe-negative-observed"),
        pytest.param(lambda: byars_interval(-1), "count", id="byars-negative-count"),
        pytest.param(lambda: wilson_interval(11, 10), "numerator", id="wilson-numerator-above-denominator"),
        pytest.param(lambda: wilson_interval(1, 10, confidence=95), "confidence", id="confidence-as-percent"),
    ],
)
def test_invalid_input_raises_naming_the_argument(call: object, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        call()  # type: ignore[operator]


ARRAY_COUNTS = [0, 1, 2, 5, 9, 10, 11, 37, 250, 1_000]


@pytest.mark.parametrize("confidence", [0.95, 0.998], ids=["95", "99.8"])
def test_array_wilson_limits_equal_the_scalar_interval(confidence: float) -> None:
    denominators = [count + 7 for count in ARRAY_COUNTS] + [0]
    lower, upper = intervals.wilson_limits_array([*ARRAY_COUNTS, 0], denominators, confidence=confidence)
    for index, count in enumerate(ARRAY_COUNTS):
        expected = intervals.wilson_interval(count, denominators[index], confidence=confidence)
        assert (lower[index], upper[index]) == pytest.approx((expected.lower, expected.upper), rel=1e-12)
    assert math.isnan(lower[-1]) and math.isnan(upper[-1])


@pytest.mark.parametrize("confidence", [0.95, 0.998], ids=["95", "99.8"])
def test_array_poisson_limits_equal_the_scalar_rate_interval(confidence: float) -> None:
    lower, upper = intervals.poisson_count_limits_array(ARRAY_COUNTS, confidence=confidence)
    methods = intervals.poisson_method_array(ARRAY_COUNTS)
    for index, count in enumerate(ARRAY_COUNTS):
        expected = intervals.rate_interval(count, 1.0, confidence=confidence, multiplier=1.0)
        assert methods[index] == expected.method
        assert upper[index] == pytest.approx(expected.upper, rel=1e-12)
        if expected.lower is None:
            assert math.isnan(lower[index])
        else:
            assert lower[index] == pytest.approx(expected.lower, rel=1e-12, abs=1e-300)
