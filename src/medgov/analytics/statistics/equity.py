"""Health-equity measures: stratified rates, differences from a reference group, index of disparity, SII/RII."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from medgov.analytics.statistics.intervals import Interval, rate_interval, two_sided_z, wilson_interval

FloatArray = npt.NDArray[np.float64]
ValueType = Literal["normal", "rate", "proportion"]


@dataclass(frozen=True)
class InequalityIndex:
    """Slope and relative index of inequality with simulated confidence limits.

    ``sii`` is the fitted difference between the most (x = 1) and least (x = 0) advantaged end of the ranked
    population, times ``multiplier``; ``rii`` the ratio of the fitted values at the two ends; ``intercept`` the
    fitted value at x = 0. Limits are ``None`` when no simulation was asked for; everything is ``None`` with a
    ``reason`` when the index cannot be computed.
    """

    sii: float | None
    sii_lower: float | None
    sii_upper: float | None
    rii: float | None
    rii_lower: float | None
    rii_upper: float | None
    intercept: float | None
    confidence: float
    reason: str | None = None


def stratified_rates(
    frame: pd.DataFrame,
    *,
    group_column: str,
    numerator_column: str,
    denominator_column: str,
    reference_group: object,
    kind: Literal["proportion", "rate"] = "proportion",
    multiplier: float = 1.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Rate per group with its interval and its absolute and relative difference from a reference group.

    Proportions use the Wilson interval, rates the exact/Byar's Poisson interval
    (:mod:`~medgov.analytics.statistics.intervals`). ``difference = r_g - r_ref`` and ``ratio = r_g / r_ref``
    (Keppel et al., Healthy People 2010 Statistical Notes 2005;(20); Harper & Lynch, NCI 2005). Columns:
    ``group_column``, ``numerator``, ``denominator``, ``rate``, ``lower``, ``upper``, ``difference``, ``ratio``,
    ``reason``. A zero denominator gives NaN rate and a reason; a reference rate of zero gives NaN ratios.
    """
    for column in (group_column, numerator_column, denominator_column):
        if column not in frame.columns:
            raise ValueError(f"frame has no column {column!r}")
    grouped = frame.groupby(group_column, sort=True)[[numerator_column, denominator_column]].sum()
    if reference_group not in grouped.index:
        raise ValueError(f"reference_group {reference_group!r} is not among the groups {list(grouped.index)}")
    intervals: dict[object, Interval] = {}
    counts: dict[object, tuple[float, float]] = {}
    for group, row in grouped.iterrows():
        numerator, denominator = float(row[numerator_column]), float(row[denominator_column])
        counts[group] = (numerator, denominator)
        if kind == "proportion":
            intervals[group] = wilson_interval(numerator, denominator, confidence=confidence, multiplier=multiplier)
        else:
            intervals[group] = rate_interval(numerator, denominator, confidence=confidence, multiplier=multiplier)
    reference = intervals[reference_group].estimate
    records = []
    for group, interval in intervals.items():
        rate = interval.estimate
        difference = rate - reference if rate is not None and reference is not None else math.nan
        ratio = rate / reference if rate is not None and reference else math.nan
        records.append(
            (group, *counts[group], _nan(rate), _nan(interval.lower), _nan(interval.upper), difference, ratio, interval.reason)
        )  # fmt: skip
    columns = [group_column, "numerator", "denominator", "rate", "lower", "upper", "difference", "ratio", "reason"]
    return pd.DataFrame.from_records(records, columns=columns)


def index_of_disparity(rates: Sequence[float], reference_rate: float) -> float | None:
    """Index of disparity: ``ID = (sum_g |r_g - r_ref| / n) / r_ref * 100`` over the ``n`` groups compared with
    the reference (Pearcy & Keppel, Public Health Rep 2002;117:273-80). ``None`` when ``r_ref`` is 0 or there
    are no groups."""
    values = np.asarray(rates, dtype=np.float64)
    if np.isnan(values).any() or (values < 0).any() or math.isnan(reference_rate) or reference_rate < 0:
        raise ValueError("rates and reference_rate must be non-negative numbers")
    if reference_rate == 0 or len(values) == 0:
        return None
    return float(np.mean(np.abs(values - reference_rate)) / reference_rate * 100.0)


def relative_rank_midpoints(populations: Sequence[float] | npt.ArrayLike) -> FloatArray:
    """Relative rank of each ordered quantile: the midpoint of its share of the cumulative population,
    ``x_i = sum_{j<i} a_j + a_i / 2`` with ``a_i = n_i / sum n`` (Low & Low, J Public Health 2004;26:388-95)."""
    shares = np.asarray(populations, dtype=np.float64)
    shares = shares / shares.sum()
    return np.cumsum(shares) - shares / 2.0


def slope_index_of_inequality(
    values: Sequence[float],
    populations: Sequence[float],
    *,
    lower_limits: Sequence[float] | None = None,
    upper_limits: Sequence[float] | None = None,
    standard_errors: Sequence[float] | None = None,
    value_type: ValueType = "normal",
    multiplier: float = 1.0,
    confidence: float = 0.95,
    repetitions: int = 100_000,
    seed: int | None = 0,
) -> InequalityIndex:
    """Slope index of inequality (SII) and relative index of inequality (RII) over ordered quantiles.

    Quantiles are given from most to least deprived. The weighted regression ``y_i sqrt(a_i) = b0 sqrt(a_i) +
    b1 x_i sqrt(a_i)`` (``a_i`` = population share, ``x_i`` = :func:`relative_rank_midpoints`) gives
    ``SII = b1`` and ``RII = (b0 + b1) / b0`` (Low & Low 2004; PHEindicatormethods ``phe_sii``). A negative
    ``multiplier`` flips the sign of the SII and inverts the RII. Confidence limits come from ``repetitions``
    simulations: each value is drawn from a normal distribution with its standard error (on the log scale for
    rates, the logit scale for proportions; from the 95% limits as ``(U - L) / (2 * 1.96)`` when no standard
    error is given), back-transformed, and the SII/RII recomputed; the limits are the simulated quantiles.
    ``repetitions = 0`` skips the simulation.
    """
    y = np.asarray(values, dtype=np.float64)
    n = np.asarray(populations, dtype=np.float64)
    if y.shape != n.shape or y.ndim != 1:
        raise ValueError("values and populations must be one-dimensional and of the same length")
    if np.isnan(n).any() or (n < 0).any():
        raise ValueError("populations must be non-negative numbers")
    if repetitions < 0:
        raise ValueError(f"repetitions must not be negative, not {repetitions}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    if value_type == "proportion" and ((y < 0) | (y > 1)).any():
        raise ValueError("values must lie between 0 and 1 for proportions")
    if len(y) < 2 or (n == 0).any() or np.isnan(y).any():
        return _no_index(confidence, "needs at least two quantiles, each with a population and a value")
    shares = n / n.sum()
    ranks = relative_rank_midpoints(n)
    b0, b1 = _weighted_fit(y[None, :], shares, ranks)
    if b0[0] == 0:
        return _no_index(confidence, "the fitted value at the least advantaged end is zero, so RII is undefined")
    sii, rii, intercept = float(b1[0]), float((b0[0] + b1[0]) / b0[0]), float(b0[0])
    limits: tuple[float | None, ...] = (None, None, None, None)
    if repetitions > 0:
        se = _standard_errors(y, lower_limits, upper_limits, standard_errors, value_type)
        generator = np.random.default_rng(seed)
        transformed = _transform(y, value_type)
        draws = _back_transform(
            transformed[None, :] + generator.standard_normal((repetitions, len(y))) * se, value_type
        )
        sim_b0, sim_b1 = _weighted_fit(draws, shares, ranks)
        with np.errstate(divide="ignore", invalid="ignore"):
            sim_rii = (sim_b0 + sim_b1) / sim_b0
        tail = (1.0 - confidence) / 2.0
        sii_low, sii_high = np.quantile(sim_b1, [tail, 1.0 - tail])
        rii_low, rii_high = np.nanquantile(sim_rii, [tail, 1.0 - tail])
        limits = (float(sii_low), float(sii_high), float(rii_low), float(rii_high))
    sii_lower, sii_upper, rii_lower, rii_upper = limits
    if multiplier < 0:
        sii_lower, sii_upper = sii_upper, sii_lower
        rii_lower, rii_upper = (
            (None if rii_upper is None else 1 / rii_upper),
            (None if rii_lower is None else 1 / rii_lower),
        )
        rii = 1.0 / rii
    return InequalityIndex(
        sii=sii * multiplier,
        sii_lower=None if sii_lower is None else sii_lower * multiplier,
        sii_upper=None if sii_upper is None else sii_upper * multiplier,
        rii=rii,
        rii_lower=rii_lower,
        rii_upper=rii_upper,
        intercept=intercept * abs(multiplier),
        confidence=confidence,
    )


def _weighted_fit(y: FloatArray, shares: FloatArray, ranks: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Weighted least squares of each row of ``y`` on ``[1, x]`` with weights ``a``: returns (b0, b1) arrays."""
    root = np.sqrt(shares)
    design = np.column_stack([root, ranks * root])
    coefficients = np.linalg.lstsq(design, (y * root[None, :]).T, rcond=None)[0]
    return coefficients[0], coefficients[1]


def _transform(y: FloatArray, value_type: ValueType) -> FloatArray:
    with np.errstate(divide="ignore"):
        if value_type == "rate":
            return np.log(y)
        if value_type == "proportion":
            return np.log(y / (1.0 - y))
    return y


def _back_transform(y: FloatArray, value_type: ValueType) -> FloatArray:
    if value_type == "rate":
        return np.exp(y)
    if value_type == "proportion":
        return 1.0 / (1.0 + np.exp(-y))
    return y


def _standard_errors(
    y: FloatArray,
    lower: Sequence[float] | None,
    upper: Sequence[float] | None,
    standard_errors: Sequence[float] | None,
    value_type: ValueType,
) -> FloatArray:
    if standard_errors is not None:
        se = np.asarray(standard_errors, dtype=np.float64)
    elif lower is not None and upper is not None:
        low = _transform(np.asarray(lower, dtype=np.float64), value_type)
        high = _transform(np.asarray(upper, dtype=np.float64), value_type)
        se = (high - low) / two_sided_z(0.95) / 2.0
    else:
        raise ValueError("standard_errors, or lower_limits and upper_limits, are needed for confidence limits")
    if se.shape != y.shape or np.isnan(se).any() or (se < 0).any():
        raise ValueError("standard errors must be non-negative, one per value")
    return se


def _no_index(confidence: float, reason: str) -> InequalityIndex:
    return InequalityIndex(None, None, None, None, None, None, None, confidence, reason)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value
