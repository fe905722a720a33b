"""Confidence intervals for proportions, rates and observed/expected ratios.

Every function returns an :class:`Interval`. Input that cannot give an estimate (a zero denominator, a zero
expected count) yields an interval whose numbers are ``None`` and whose ``reason`` says why; input that is
wrong (a negative count, a confidence level outside (0, 1)) raises ``ValueError`` naming the argument.

Conventions follow the UK public-health methods (PHEindicatormethods, "Fingertips"): a two-sided interval at
``confidence`` uses ``z = Phi^-1(1 - (1 - confidence) / 2)``; rates use the exact Poisson interval below 10
events and Byar's approximation from 10 on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]

EXACT_BELOW_EVENTS = 10
"""Below this many events :func:`rate_interval` and :func:`observed_expected_ratio` use the exact method."""

RateMethod = Literal["auto", "exact", "byars"]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    ``estimate``, ``lower`` and ``upper`` are on the scale asked for (already multiplied by any multiplier);
    any of them is ``None`` when it cannot be computed, and ``reason`` then says why. ``method`` names the
    interval actually used (``"wilson"``, ``"clopper-pearson"``, ``"exact-poisson"``, ``"byars"``).
    """

    estimate: float | None
    lower: float | None
    upper: float | None
    confidence: float
    method: str
    reason: str | None = None


def two_sided_z(confidence: float) -> float:
    """Standard normal quantile for a two-sided interval: ``z = Phi^-1(1 - (1 - confidence) / 2)``."""
    _check_confidence(confidence)
    return float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def wilson_interval(
    numerator: float, denominator: float, *, confidence: float = 0.95, multiplier: float = 1.0
) -> Interval:
    """Wilson score interval for a proportion ``p = x / n``.

    ``(2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))`` (Wilson 1927; Newcombe 1998, method 3; the form
    used by PHEindicatormethods ``wilson_lower``/``wilson_upper``). Non-integer ``x`` is allowed (weighted data).
    """
    _check_non_negative(numerator=numerator, denominator=denominator)
    _check_confidence(confidence)
    if numerator > denominator:
        raise ValueError(f"numerator ({numerator}) must not exceed denominator ({denominator})")
    if denominator == 0:
        return _empty(confidence, "wilson", "denominator is zero")
    z = two_sided_z(confidence)
    x, n = float(numerator), float(denominator)
    centre = 2.0 * x + z * z
    spread = z * math.sqrt(z * z + 4.0 * x * (1.0 - x / n))
    scale = 2.0 * (n + z * z)
    return Interval(
        estimate=x / n * multiplier,
        lower=(centre - spread) / scale * multiplier,
        upper=(centre + spread) / scale * multiplier,
        confidence=confidence,
        method="wilson",
    )


def exact_binomial_interval(
    numerator: int, denominator: int, *, confidence: float = 0.95, multiplier: float = 1.0
) -> Interval:
    """Clopper-Pearson exact interval for a binomial proportion.

    ``lower = B^-1(alpha/2; x, n - x + 1)``, ``upper = B^-1(1 - alpha/2; x + 1, n - x)`` with ``B^-1`` the beta
    quantile, ``lower = 0`` when ``x = 0`` and ``upper = 1`` when ``x = n`` (Clopper & Pearson 1934).
    """
    _check_non_negative(numerator=numerator, denominator=denominator)
    _check_confidence(confidence)
    if numerator > denominator:
        raise ValueError(f"numerator ({numerator}) must not exceed denominator ({denominator})")
    if denominator == 0:
        return _empty(confidence, "clopper-pearson", "denominator is zero")
    alpha = 1.0 - confidence
    x, n = numerator, denominator
    lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2.0, x, n - x + 1))
    upper = 1.0 if x == n else float(stats.beta.ppf(1.0 - alpha / 2.0, x + 1, n - x))
    return Interval(
        estimate=x / n * multiplier,
        lower=lower * multiplier,
        upper=upper * multiplier,
        confidence=confidence,
        method="clopper-pearson",
    )


def exact_poisson_count_limits(count: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Garwood exact limits for a Poisson count ``x``.

    ``lower = chi2^-1(alpha/2; 2x) / 2`` (0 when ``x = 0``), ``upper = chi2^-1(1 - alpha/2; 2x + 2) / 2``
    (Garwood 1936; Breslow & Day 1987, vol. II, section 2.2).
    """
    _check_non_negative(count=count)
    _check_confidence(confidence)
    alpha = 1.0 - confidence
    lower = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2.0, 2.0 * count)) / 2.0
    upper = float(stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * count + 2.0)) / 2.0
    return lower, upper


def byars_count_limits(count: float, *, confidence: float = 0.95) -> tuple[float | None, float]:
    """Byar's approximation to the exact Poisson limits of a count ``x``.

    ``lower = x (1 - 1/(9x) - z/(3 sqrt(x)))^3``, ``upper = (x + 1)(1 - 1/(9(x + 1)) + z/(3 sqrt(x + 1)))^3``
    (Breslow & Day 1987, vol. II, eq. 2.12). The lower limit is ``None`` when the cube is negative (very small
    counts at high confidence) or ``x = 0``, as in PHEindicatormethods ``byars_lower``.
    """
    _check_non_negative(count=count)
    z = two_sided_z(confidence)
    x = float(count)
    lower: float | None = None
    if x > 0:
        base = 1.0 - 1.0 / (9.0 * x) - z / (3.0 * math.sqrt(x))
        lower = x * base**3 if base >= 0 else None
    x1 = x + 1.0
    upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * math.sqrt(x1))) ** 3
    return lower, upper


def exact_poisson_interval(count: int, *, confidence: float = 0.95) -> Interval:
    """Garwood exact interval for a Poisson mean, estimated by the count ``x`` itself.

    See :func:`exact_poisson_count_limits` for the formula.
    """
    lower, upper = exact_poisson_count_limits(count, confidence=confidence)
    return Interval(float(count), lower, upper, confidence, "exact-poisson")


def byars_interval(count: int, *, confidence: float = 0.95) -> Interval:
    """Byar's approximate interval for a Poisson mean (see :func:`byars_count_limits`)."""
    lower, upper = byars_count_limits(count, confidence=confidence)
    reason = None if lower is not None else "Byar's lower limit is undefined for so small a count"
    return Interval(float(count), lower, upper, confidence, "byars", reason)


def rate_interval(
    count: float,
    denominator: float,
    *,
    confidence: float = 0.95,
    multiplier: float = 100_000.0,
    method: RateMethod = "auto",
) -> Interval:
    """Crude rate ``x / n * multiplier`` with a Poisson interval on the count, scaled the same way.

    ``method="auto"`` uses the exact Garwood interval below 10 events and Byar's approximation from 10 on
    (PHEindicatormethods ``phe_rate``; Breslow & Day 1987). The denominator (person-time or population) is
    treated as fixed.
    """
    _check_non_negative(count=count, denominator=denominator)
    chosen = _choose_method(count, method)
    if denominator == 0:
        return _empty(confidence, chosen, "denominator is zero")
    lower, upper = _count_limits(count, confidence, chosen)
    scale = multiplier / denominator
    return Interval(
        estimate=count * scale,
        lower=None if lower is None else lower * scale,
        upper=upper * scale,
        confidence=confidence,
        method=chosen,
        reason=None if lower is not None else "Byar's lower limit is undefined for so small a count",
    )


def observed_expected_ratio(
    observed: float,
    expected: float,
    *,
    confidence: float = 0.95,
    multiplier: float = 1.0,
    reference_rate: float | None = None,
    method: RateMethod = "auto",
) -> Interval:
    """Observed/expected ratio (SMR, indirectly standardised ratio) with a Poisson interval on ``O``.

    ``O/E`` with limits ``L(O)/E`` and ``U(O)/E``, where ``L, U`` are the exact Garwood limits below 10
    observed events and Byar's approximation otherwise (``method="auto"``; Breslow & Day 1987, vol. II,
    section 2.3; PHEindicatormethods ``calculate_ISRatio``). ``E`` is treated as known without error.
    With ``reference_rate`` the result is the indirectly standardised rate ``O/E * reference_rate`` (and its
    limits scaled alike, ``calculate_ISRate``); ``multiplier`` scales the result (100 for a percentage).
    """
    _check_non_negative(observed=observed, expected=expected)
    if reference_rate is not None:
        _check_non_negative(reference_rate=reference_rate)
    chosen = _choose_method(observed, method)
    if expected == 0:
        return _empty(confidence, chosen, "expected count is zero")
    lower, upper = _count_limits(observed, confidence, chosen)
    scale = multiplier * (1.0 if reference_rate is None else reference_rate) / expected
    return Interval(
        estimate=observed * scale,
        lower=None if lower is None else lower * scale,
        upper=upper * scale,
        confidence=confidence,
        method=chosen,
        reason=None if lower is not None else "Byar's lower limit is undefined for so small a count",
    )


def _choose_method(count: float, method: RateMethod) -> str:
    if method == "auto":
        return "exact-poisson" if count < EXACT_BELOW_EVENTS else "byars"
    if method == "exact":
        return "exact-poisson"
    if method == "byars":
        return "byars"
    raise ValueError(f"method must be 'auto', 'exact' or 'byars', not {method!r}")


def _count_limits(count: float, confidence: float, method: str) -> tuple[float | None, float]:
    if method == "exact-poisson":
        return exact_poisson_count_limits(count, confidence=confidence)
    return byars_count_limits(count, confidence=confidence)


def _empty(confidence: float, method: str, reason: str) -> Interval:
    return Interval(None, None, None, confidence, method, reason)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if math.isnan(value) or value < 0:
            raise ValueError(f"{name} must be a non-negative number, not {value}")


# --- the same intervals over arrays (one element per stratum) ------------------------------------------------


def wilson_limits_array(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """:func:`wilson_interval`'s limits (as proportions) for arrays of counts; NaN where the denominator is 0."""
    _check_confidence(confidence)
    z = two_sided_z(confidence)
    x = np.asarray(numerator, dtype=np.float64)
    n = np.asarray(denominator, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = 2.0 * x + z * z
        spread = z * np.sqrt(z * z + 4.0 * x * (1.0 - x / n))
        scale = 2.0 * (n + z * z)
        lower = np.where(n > 0, (centre - spread) / scale, np.nan)
        upper = np.where(n > 0, (centre + spread) / scale, np.nan)
    return lower, upper


def poisson_count_limits_array(count: npt.ArrayLike, *, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Poisson limits of counts as :func:`rate_interval` and :func:`observed_expected_ratio` choose them
    (``method="auto"``): exact Garwood limits below :data:`EXACT_BELOW_EVENTS`, Byar's from there; the lower
    limit is NaN where Byar's is undefined (see :func:`byars_count_limits`)."""
    _check_confidence(confidence)
    x = np.asarray(count, dtype=np.float64)
    alpha = 1.0 - confidence
    z = two_sided_z(confidence)
    exact = x < EXACT_BELOW_EVENTS
    with np.errstate(divide="ignore", invalid="ignore"):
        exact_lower = np.where(x > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * x) / 2.0, 0.0)
        exact_upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * x + 2.0) / 2.0
        base = 1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))
        byars_lower = np.where((x > 0) & (base >= 0), x * base**3, np.nan)
        x1 = x + 1.0
        byars_upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3
    return np.where(exact, exact_lower, byars_lower), np.where(exact, exact_upper, byars_upper)


def poisson_method_array(count: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """The method :func:`poisson_count_limits_array` uses for each count: ``exact-poisson`` or ``byars``."""
    x = np.asarray(count, dtype=np.float64)
    return np.where(x < EXACT_BELOW_EVENTS, "exact-poisson", "byars").astype(object)
