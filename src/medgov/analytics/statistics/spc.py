"""Statistical process control charts: run, I, MR, C, U, P, Laney P' and U', T and G charts.

Two entry points:

* :func:`control_chart` computes centre line, 3-sigma control limits and 2-sigma warning limits the way
  qicharts2 0.8.1 (Anhoej) does, with a baseline (the first ``baseline_points`` points, "freeze"), excluded
  points, and recalculation from given change points ("parts"), plus the Anhoej runs analysis per segment.
* :func:`making_data_count_chart` is the NHS England "Making Data Count" XmR chart as NHSRplotthedots 0.2.2
  computes it (limits mean +/- 2.66 x mean moving range after screening moving ranges above 3.267 x their
  mean), with the Making Data Count rules, improvement/concern classification and target assurance.

Degenerate input never raises: a segment whose limits cannot be estimated (too few points, zero denominators,
all-zero counts, a constant series, only missing periods) gets NaN limits and a ``reason``. Invalid input
(negative counts, numerators above denominators for a P chart, non-positive times for a T chart, indices out of
range) raises ``ValueError`` naming the argument.

Formulas (sigma is the within-subgroup standard deviation of the plotted statistic):

* I chart: ``sigma = mean moving range / 1.128`` (Montgomery, *Introduction to SQC*, 6th ed., eq. 6.33); moving
  ranges of the baseline above ``3.267 x`` their mean are dropped first when ``screen_moving_ranges`` (Nelson
  1982, qicharts2's default).
* MR chart: centre ``mean MR``, upper limit ``3.267 x mean MR`` (D4 for n = 2), lower limit 0.
* C chart: ``sigma = sqrt(c_bar)`` (Montgomery eq. 7.17); U chart: ``sigma_i = sqrt(u_bar / n_i)`` (eq. 7.19);
  P chart: ``sigma_i = sqrt(p_bar (1 - p_bar) / n_i)`` (eq. 7.8), ``p_bar = sum(y) / sum(n)`` over the baseline.
* Laney P' and U' (Laney 2002, "Improved control charts for attributes", Qual. Eng. 14(4)): ``sigma_i`` as in the
  P/U chart times ``sigma_z``, the I-chart sigma (mean moving range / 1.128) of ``z_i = (y_i - centre) / sigma_i``.
* T chart (time between events; Provost & Murray 2011, *The Health Care Data Guide*, ch. 7): I chart of
  ``y^(1/3.6)``, centre and limits transformed back with ``^3.6``.
* G chart (number of opportunities between events; Provost & Murray 2011; Montgomery p. 319): limits
  ``g_bar +/- 3 sqrt(g_bar (g_bar + 1))`` from the mean, centre line at the median.
* Run chart: centre line at the median, no limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from medgov.analytics.statistics.spc_rules import (
    Assurance,
    ImprovementDirection,
    MakingDataCountRules,
    PointType,
    RunsAnalysis,
    anhoej_runs_analysis,
    point_types,
    special_cause_types,
    target_assurance,
)

__all__ = [
    "ChartSegment",
    "ChartType",
    "ControlChart",
    "MakingDataCountChart",
    "MakingDataCountGroup",
    "control_chart",
    "making_data_count_chart",
]

FloatArray = NDArray[np.float64]

#: d2 for moving ranges of two points, as qicharts2 rounds it.
D2_MOVING_RANGE = 1.128
#: D4 for moving ranges of two points: the upper limit of a moving range, in units of the mean moving range.
D4_MOVING_RANGE = 3.267
#: Making Data Count's XmR limit factor, 3 / 1.128 rounded as NHS England publishes it.
MAKING_DATA_COUNT_LIMIT = 2.66
#: T-chart transformation exponent (Nelson 1994; Provost & Murray 2011).
T_CHART_EXPONENT = 3.6


class ChartType(StrEnum):
    RUN = "run"
    I = "i"  # noqa: E741 - the chart's own name
    MR = "mr"
    C = "c"
    U = "u"
    P = "p"
    P_PRIME = "pp"
    U_PRIME = "up"
    T = "t"
    G = "g"


_NEEDS_DENOMINATORS = frozenset({ChartType.P, ChartType.U, ChartType.P_PRIME, ChartType.U_PRIME})
_COUNT_CHARTS = frozenset({ChartType.C, ChartType.U, ChartType.P, ChartType.P_PRIME, ChartType.U_PRIME, ChartType.G})


@dataclass(frozen=True)
class ChartSegment:
    """One stretch of the chart with its own centre line and limits (a "part" in qicharts2)."""

    start: int
    stop: int
    centre: float
    runs: RunsAnalysis
    reason: str | None


@dataclass(frozen=True)
class ControlChart:
    """A control chart: per-point values, centre, limits and signals, and per-segment runs analysis.

    Per-point tuples all have one entry per input point. Missing limits are ``nan``; ``reason`` explains every
    segment without limits (``None`` when all segments have them, and always for run charts, which have none by
    design).
    """

    chart: ChartType
    values: tuple[float, ...]
    centre: tuple[float, ...]
    lower_limit: tuple[float, ...]
    upper_limit: tuple[float, ...]
    lower_warning_limit: tuple[float, ...]
    upper_warning_limit: tuple[float, ...]
    baseline: tuple[bool, ...]
    included: tuple[bool, ...]
    segment: tuple[int, ...]
    sigma_signal: tuple[bool, ...]
    segments: tuple[ChartSegment, ...]
    multiplier: float
    reason: str | None

    @property
    def runs_signal(self) -> bool:
        """True when any segment's Anhoej runs analysis signals (never for MR charts, as in qicharts2)."""
        return self.chart is not ChartType.MR and any(s.runs.signal for s in self.segments)

    @property
    def special_cause(self) -> bool:
        return self.runs_signal or any(self.sigma_signal)


@dataclass(frozen=True)
class _Limits:
    values: FloatArray
    centre: float
    lower: FloatArray
    upper: FloatArray
    lower_warning: FloatArray
    upper_warning: FloatArray
    reason: str | None


def _as_float_array(name: str, data: Sequence[float] | FloatArray) -> FloatArray:
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a sequence of numbers") from error
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if np.isinf(array).any():
        raise ValueError(f"{name} must not contain infinite values")
    return array


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan)


def _no_limits(values: FloatArray, centre: float, reason: str) -> _Limits:
    n = values.size
    return _Limits(values, centre, _nan(n), _nan(n), _nan(n), _nan(n), reason)


def _mean_moving_range(values: FloatArray, screen: bool) -> float:
    """Mean of |x_i - x_(i-1)| over consecutive present values, optionally dropping MRs >= 3.267 x the mean."""
    with np.errstate(invalid="ignore"):
        moving_ranges = np.abs(np.diff(values))
    moving_ranges = moving_ranges[np.isfinite(moving_ranges)]
    if moving_ranges.size == 0:
        return math.nan
    average = float(np.mean(moving_ranges))
    if screen:
        kept = moving_ranges[moving_ranges < D4_MOVING_RANGE * average]
        average = float(np.mean(kept)) if kept.size else math.nan
    return average


def _symmetric(values: FloatArray, centre: float, sigma: FloatArray | float) -> _Limits:
    sigma_array = np.broadcast_to(np.asarray(sigma, dtype=float), values.shape)
    return _Limits(
        values,
        centre,
        centre - 3 * sigma_array,
        centre + 3 * sigma_array,
        centre - 2 * sigma_array,
        centre + 2 * sigma_array,
        None,
    )


def _individuals(values: FloatArray, base: NDArray[np.bool_], screen: bool, chart: str) -> _Limits:
    base_values = values[base & np.isfinite(values)]
    if base_values.size < 2:
        return _no_limits(
            values,
            float(np.mean(base_values)) if base_values.size else math.nan,
            f"an {chart} chart needs at least two baseline values to estimate a moving range; "
            f"this segment has {base_values.size}",
        )
    centre = float(np.mean(base_values))
    average_moving_range = _mean_moving_range(values[base], screen)
    if not math.isfinite(average_moving_range):
        return _no_limits(values, centre, "no two consecutive baseline values are present, so no moving range exists")
    if average_moving_range == 0:
        return _no_limits(
            values, centre, "the baseline is constant: every moving range is zero, so there is no variation to bound"
        )
    return _symmetric(values, centre, average_moving_range / D2_MOVING_RANGE)


def _moving_range_chart(values: FloatArray, base: NDArray[np.bool_]) -> _Limits:
    with np.errstate(invalid="ignore"):
        moving_ranges = np.concatenate(([np.nan], np.abs(np.diff(values))))
    base_ranges = moving_ranges[base & np.isfinite(moving_ranges)]
    n = values.size
    if base_ranges.size == 0:
        return _no_limits(
            moving_ranges, math.nan, "no two consecutive baseline values are present, so no moving range exists"
        )
    centre = float(np.mean(base_ranges))
    if centre == 0:
        return _no_limits(moving_ranges, centre, "the baseline is constant: every moving range is zero")
    return _Limits(
        moving_ranges,
        centre,
        np.zeros(n),
        np.full(n, D4_MOVING_RANGE * centre),
        np.zeros(n),
        np.full(n, D4_MOVING_RANGE / 3 * 2 * centre),
        None,
    )


def _attribute(
    chart: ChartType,
    counts: FloatArray,
    denominators: FloatArray,
    base: NDArray[np.bool_],
    screen: bool,
) -> _Limits:
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(denominators > 0, counts / denominators, np.nan)
    usable = base & np.isfinite(counts) & np.isfinite(denominators)
    total = float(np.sum(denominators[usable]))
    if not usable.any():
        return _no_limits(values, math.nan, "no baseline period has both a count and a denominator")
    if total == 0:
        return _no_limits(values, math.nan, "every baseline denominator is zero, so no rate can be estimated")
    centre = float(np.sum(counts[usable])) / total
    proportion = chart in (ChartType.P, ChartType.P_PRIME)
    if centre == 0:
        return _no_limits(
            values, centre, "every baseline count is zero: a zero rate has no sampling variation to bound"
        )
    if proportion and centre == 1:
        return _no_limits(
            values, centre, "every baseline case has the event: a proportion of one has no binomial variation"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = centre * (1 - centre) if proportion else centre
        sigma = np.sqrt(variance / denominators)
        sigma[~np.isfinite(sigma)] = np.nan
    if chart in (ChartType.P_PRIME, ChartType.U_PRIME):
        with np.errstate(invalid="ignore", divide="ignore"):
            z_scores = (values[base] - centre) / sigma[base]
        present = z_scores[np.isfinite(z_scores)]
        if present.size < 2:
            return _no_limits(
                values, centre, f"a Laney chart needs at least two baseline z-scores; this segment has {present.size}"
            )
        sigma_z = _mean_moving_range(z_scores, screen) / D2_MOVING_RANGE
        if not math.isfinite(sigma_z) or sigma_z == 0:
            return _no_limits(values, centre, "the baseline z-scores do not vary, so Laney's sigma_z is zero")
        sigma = sigma * sigma_z
    limits = _symmetric(values, centre, sigma)
    lower = np.where(limits.lower < 0, 0.0, limits.lower)
    lower_warning = np.where(limits.lower_warning < 0, 0.0, limits.lower_warning)
    upper, upper_warning = limits.upper, limits.upper_warning
    if proportion:
        upper = np.where(upper > 1, 1.0, upper)
        upper_warning = np.where(upper_warning > 1, 1.0, upper_warning)
    return _Limits(values, centre, lower, upper, lower_warning, upper_warning, None)


def _count(counts: FloatArray, base: NDArray[np.bool_]) -> _Limits:
    base_counts = counts[base & np.isfinite(counts)]
    if base_counts.size == 0:
        return _no_limits(counts, math.nan, "no baseline count is present")
    centre = float(np.mean(base_counts))
    if centre == 0:
        return _no_limits(
            counts, centre, "every baseline count is zero: a zero rate has no sampling variation to bound"
        )
    limits = _symmetric(counts, centre, math.sqrt(centre))
    return _Limits(
        counts,
        centre,
        np.maximum(limits.lower, 0.0),
        limits.upper,
        np.maximum(limits.lower_warning, 0.0),
        limits.upper_warning,
        None,
    )


def _time_between(values: FloatArray, base: NDArray[np.bool_], screen: bool) -> _Limits:
    transformed = _individuals(values ** (1 / T_CHART_EXPONENT), base, screen, "T")
    if transformed.reason is not None:
        centre = transformed.centre**T_CHART_EXPONENT if math.isfinite(transformed.centre) else math.nan
        return _no_limits(values, centre, transformed.reason)

    def back(limit: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore"):
            result = np.where(limit > 0, np.abs(limit) ** T_CHART_EXPONENT, 0.0)
        return result

    return _Limits(
        values,
        transformed.centre**T_CHART_EXPONENT,
        back(transformed.lower),
        back(transformed.upper),
        back(transformed.lower_warning),
        back(transformed.upper_warning),
        None,
    )


def _geometric(values: FloatArray, base: NDArray[np.bool_]) -> _Limits:
    base_values = values[base & np.isfinite(values)]
    if base_values.size == 0:
        return _no_limits(values, math.nan, "no baseline value is present")
    mean = float(np.mean(base_values))
    median = float(np.median(base_values))
    if mean == 0:
        return _no_limits(
            values, median, "every baseline value is zero: events on every opportunity leave no variation"
        )
    limits = _symmetric(values, mean, math.sqrt(mean * (mean + 1)))
    return _Limits(
        values,
        median,
        np.maximum(limits.lower, 0.0),
        limits.upper,
        np.maximum(limits.lower_warning, 0.0),
        limits.upper_warning,
        None,
    )


def _run(values: FloatArray, base: NDArray[np.bool_]) -> _Limits:
    base_values = values[base & np.isfinite(values)]
    centre = float(np.median(base_values)) if base_values.size else math.nan
    n = values.size
    reason = None if base_values.size else "no baseline value is present, so there is no median"
    return _Limits(values, centre, _nan(n), _nan(n), _nan(n), _nan(n), reason)


def _validate_indices(name: str, indices: Sequence[int], n: int, *, lowest: int = 0) -> tuple[int, ...]:
    result = tuple(int(i) for i in indices)
    for index in result:
        if not lowest <= index < n:
            raise ValueError(f"{name} must hold positions between {lowest} and {n - 1}; got {index}")
    return result


def control_chart(
    chart: ChartType | str,
    values: Sequence[float] | FloatArray,
    denominators: Sequence[float] | FloatArray | None = None,
    *,
    baseline_points: int | None = None,
    exclude: Sequence[int] = (),
    recalculate_at: Sequence[int] = (),
    multiplier: float = 1.0,
    screen_moving_ranges: bool = True,
) -> ControlChart:
    """Compute a control or run chart of ``values`` (counts for C/U/P charts, measurements otherwise).

    ``denominators`` are required for P, U, P' and U' charts; for run, I, MR, T and G charts they turn the values
    into ratios ``values / denominators``. ``baseline_points`` limits the points used for the centre and limits
    to the first ``baseline_points`` (qicharts2 ``freeze``); ``exclude`` lists 0-based positions left out of
    the calculations and the runs analysis (``exclude``); ``recalculate_at`` lists 0-based positions where a new
    segment with its own centre and limits starts (``part``, which counts the points before each break).
    ``multiplier`` scales values, centre and limits (per 1,000 etc.). Formulas: see the module docstring.
    """
    try:
        chart_type = ChartType(chart)
    except ValueError as error:
        raise ValueError(f"chart must be one of {', '.join(c.value for c in ChartType)}; got {chart!r}") from error
    y = _as_float_array("values", values)
    n_points = y.size
    n: FloatArray | None = None
    if denominators is not None:
        if chart_type is ChartType.C:
            raise ValueError("denominators are not used by a C chart; use a U chart for counts per unit")
        n = _as_float_array("denominators", denominators)
        if n.size != n_points:
            raise ValueError(f"denominators must have one entry per value ({n_points}); got {n.size}")
        if (n[np.isfinite(n)] < 0).any():
            raise ValueError("denominators must not be negative")
    elif chart_type in _NEEDS_DENOMINATORS:
        raise ValueError(f"denominators are required for a {chart_type.value.upper()} chart")
    present = y[np.isfinite(y)]
    if chart_type in _COUNT_CHARTS and (present < 0).any():
        raise ValueError("values must not be negative counts")
    if chart_type in (ChartType.P, ChartType.P_PRIME) and n is not None:
        with np.errstate(invalid="ignore"):
            if (y > n).any():
                raise ValueError("values must not exceed denominators for a P chart (numerator > denominator)")
    if chart_type is ChartType.T and (present <= 0).any():
        raise ValueError("values must be greater than zero for a T chart (time between events)")
    if multiplier <= 0 or not math.isfinite(multiplier):
        raise ValueError("multiplier must be a positive number")
    if baseline_points is not None and baseline_points < 1:
        raise ValueError("baseline_points must be at least 1")
    excluded = _validate_indices("exclude", exclude, n_points)
    breaks = sorted(set(_validate_indices("recalculate_at", recalculate_at, n_points, lowest=1)))

    if n is not None and chart_type not in _NEEDS_DENOMINATORS:
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(n > 0, y / n, np.nan)
        n = None

    included = np.ones(n_points, dtype=bool)
    included[list(excluded)] = False
    baseline = np.arange(n_points) < (baseline_points if baseline_points is not None else n_points)
    starts = [0, *breaks]
    stops = [*breaks, n_points]

    out_values = np.empty(n_points)
    centre = np.empty(n_points)
    lower, upper, lower_warning, upper_warning = (np.empty(n_points) for _ in range(4))
    segment_ids = np.empty(n_points, dtype=int)
    segments: list[ChartSegment] = []
    reasons: list[str] = []
    if n_points == 0:
        reasons.append("the series is empty")
    for number, (start, stop) in enumerate(zip(starts, stops, strict=True), start=1):
        part = slice(start, stop)
        base = baseline[part] & included[part]
        if chart_type is ChartType.RUN:
            limits = _run(y[part], base)
        elif chart_type is ChartType.I:
            limits = _individuals(y[part], base, screen_moving_ranges, "I")
        elif chart_type is ChartType.MR:
            limits = _moving_range_chart(y[part], base)
        elif chart_type is ChartType.C:
            limits = _count(y[part], base)
        elif chart_type is ChartType.T:
            limits = _time_between(y[part], base, screen_moving_ranges)
        elif chart_type is ChartType.G:
            limits = _geometric(y[part], base)
        else:
            assert n is not None
            limits = _attribute(chart_type, y[part], n[part], base, screen_moving_ranges)
        if not base.any():
            limits = _no_limits(limits.values, math.nan, "the segment has no baseline point that is not excluded")
        size = stop - start
        out_values[part] = limits.values * multiplier
        centre[part] = limits.centre * multiplier
        for target, source in (
            (lower, limits.lower),
            (upper, limits.upper),
            (lower_warning, limits.lower_warning),
            (upper_warning, limits.upper_warning),
        ):
            scaled = np.asarray(source, dtype=float) * multiplier
            target[part] = np.where(np.isfinite(scaled), scaled, np.nan)
        segment_ids[part] = number
        runs = anhoej_runs_analysis(out_values[part], centre[part], included[part])
        if chart_type is ChartType.MR:
            runs = RunsAnalysis(
                runs.n_obs,
                runs.n_useful,
                runs.longest_run,
                runs.longest_run_max,
                runs.n_crossings,
                runs.n_crossings_min,
                False,
                "runs analysis does not apply to moving ranges",
            )
        segments.append(ChartSegment(start, stop, limits.centre * multiplier, runs, limits.reason))
        if limits.reason is not None and chart_type is not ChartType.RUN:
            label = f"points {start + 1}-{stop}" if len(starts) > 1 else f"all {size} points"
            reasons.append(f"{label}: {limits.reason}")
        elif limits.reason is not None:
            reasons.append(limits.reason)

    with np.errstate(invalid="ignore"):
        sigma_signal = (out_values > upper) | (out_values < lower)
    return ControlChart(
        chart=chart_type,
        values=tuple(float(v) for v in out_values),
        centre=tuple(float(v) for v in centre),
        lower_limit=tuple(float(v) for v in lower),
        upper_limit=tuple(float(v) for v in upper),
        lower_warning_limit=tuple(float(v) for v in lower_warning),
        upper_warning_limit=tuple(float(v) for v in upper_warning),
        baseline=tuple(bool(v) for v in baseline),
        included=tuple(bool(v) for v in included),
        segment=tuple(int(v) for v in segment_ids),
        sigma_signal=tuple(bool(v) for v in sigma_signal),
        segments=tuple(segments),
        multiplier=multiplier,
        reason="; ".join(reasons) if reasons else None,
    )


@dataclass(frozen=True)
class MakingDataCountGroup:
    """Summary of one rebase group, as NHSRplotthedots ``summary()`` reports it."""

    start: int
    stop: int
    mean: float
    lower_process_limit: float
    upper_process_limit: float
    n: int
    common_cause: int
    special_cause_improvement: int
    special_cause_concern: int
    variation_type: PointType
    assurance: Assurance | None
    reason: str | None


@dataclass(frozen=True)
class MakingDataCountChart:
    """An XmR chart with NHS Making Data Count signals; per-point tuples have one entry per input value."""

    values: tuple[float, ...]
    rebase_group: tuple[int, ...]
    mean: tuple[float, ...]
    lower_process_limit: tuple[float, ...]
    upper_process_limit: tuple[float, ...]
    outside_limits: tuple[bool, ...]
    relative_to_mean: tuple[int, ...]
    close_to_limits: tuple[bool, ...]
    special_cause_type: tuple[str, ...]
    special_cause_flag: tuple[bool, ...]
    point_type: tuple[PointType, ...]
    improvement_direction: ImprovementDirection
    target: float | None
    groups: tuple[MakingDataCountGroup, ...]
    reason: str | None

    @property
    def assurance(self) -> Assurance | None:
        """Target assurance from the latest group's limits (``None`` without a target or limits)."""
        return self.groups[-1].assurance if self.groups else None

    @property
    def variation_type(self) -> PointType | None:
        """The latest point's classification, which Making Data Count's variation icon shows."""
        return self.point_type[-1] if self.point_type else None


def making_data_count_chart(
    values: Sequence[float] | FloatArray,
    *,
    improvement_direction: ImprovementDirection | str = ImprovementDirection.INCREASE,
    target: float | None = None,
    rebase_at: Sequence[int] = (),
    fix_after_n_points: int | None = None,
    screen_outliers: bool = True,
    rules: MakingDataCountRules | None = None,
) -> MakingDataCountChart:
    """XmR chart with NHS England Making Data Count rules (NHSRplotthedots 0.2.2 ``ptd_spc``).

    Per rebase group (0-based positions in ``rebase_at`` start a new group): mean ``m`` of the first
    ``fix_after_n_points`` values (all when ``None``), moving ranges of those values, screened by dropping any
    ``MR >= 3.267 x mean MR`` when ``screen_outliers``; process limits ``m +/- 2.66 x mean MR`` and the 2-sigma
    lines ``m +/- (2/3) x 2.66 x mean MR``. Rules and classification: :mod:`spc_rules`. Assurance compares
    ``target`` with the latest group's limits (NHS England, *Making Data Count*, 2019).
    """
    rules = rules or MakingDataCountRules()
    direction = ImprovementDirection(improvement_direction)
    y = _as_float_array("values", values)
    n_points = y.size
    if fix_after_n_points is not None and fix_after_n_points < 1:
        raise ValueError("fix_after_n_points must be at least 1")
    if target is not None and not math.isfinite(target):
        raise ValueError("target must be a finite number")
    breaks = sorted(set(_validate_indices("rebase_at", rebase_at, n_points, lowest=1)))
    starts = [0, *breaks]
    stops = [*breaks, n_points]
    close_factor = 2 * (MAKING_DATA_COUNT_LIMIT / 3)

    group_ids: list[int] = []
    means: list[float] = []
    lowers: list[float] = []
    uppers: list[float] = []
    outside: list[bool] = []
    relative: list[int] = []
    close: list[bool] = []
    labels: list[str] = []
    kinds: list[PointType] = []
    groups: list[MakingDataCountGroup] = []
    reasons: list[str] = [] if n_points else ["the series is empty"]
    for number, (start, stop) in enumerate(zip(starts, stops, strict=True)):
        group = y[start:stop]
        fixed = group[: fix_after_n_points or group.size]
        present = fixed[np.isfinite(fixed)]
        reason: str | None = None
        mean = float(np.mean(present)) if present.size else math.nan
        average_moving_range = _mean_moving_range(fixed, screen_outliers)
        if present.size < 2:
            reason = f"an XmR chart needs at least two values to estimate a moving range; this group has {present.size}"
        elif not math.isfinite(average_moving_range):
            reason = "no two consecutive values are present, so no moving range exists"
        elif average_moving_range == 0:
            reason = "the series is constant: every moving range is zero, so there is no variation to bound"
        if reason is None:
            lower = mean - MAKING_DATA_COUNT_LIMIT * average_moving_range
            upper = mean + MAKING_DATA_COUNT_LIMIT * average_moving_range
            near_lower = mean - close_factor * average_moving_range
            near_upper = mean + close_factor * average_moving_range
        else:
            lower = upper = near_lower = near_upper = math.nan
            reasons.append(f"points {start + 1}-{stop}: {reason}" if len(starts) > 1 else reason)
        group_outside = [bool(v > upper or v < lower) for v in group]
        group_relative = [int(np.sign(v - mean)) if math.isfinite(v - mean) else 0 for v in group]
        group_close = [
            (not o) and bool(v < near_lower or v > near_upper) for v, o in zip(group, group_outside, strict=True)
        ]
        group_labels = special_cause_types(group.tolist(), group_relative, group_close, group_outside, rules)
        group_kinds = point_types(group_labels, direction)
        group_ids.extend([number] * group.size)
        means.extend([mean] * group.size)
        lowers.extend([lower] * group.size)
        uppers.extend([upper] * group.size)
        outside.extend(group_outside)
        relative.extend(group_relative)
        close.extend(group_close)
        labels.extend(group_labels)
        kinds.extend(group_kinds)
        flags = [label != "Common Cause" for label in group_labels]
        is_last = stop == n_points
        groups.append(
            MakingDataCountGroup(
                start=start,
                stop=stop,
                mean=mean,
                lower_process_limit=lower,
                upper_process_limit=upper,
                n=int(group.size),
                common_cause=flags.count(False),
                special_cause_improvement=group_kinds.count(PointType.SPECIAL_CAUSE_IMPROVEMENT),
                special_cause_concern=group_kinds.count(PointType.SPECIAL_CAUSE_CONCERN),
                variation_type=group_kinds[-1] if group_kinds else PointType.COMMON_CAUSE,
                assurance=target_assurance(target, lower, upper, direction)
                if (target is not None and is_last)
                else None,
                reason=reason,
            )
        )
    return MakingDataCountChart(
        values=tuple(float(v) for v in y),
        rebase_group=tuple(group_ids),
        mean=tuple(means),
        lower_process_limit=tuple(lowers),
        upper_process_limit=tuple(uppers),
        outside_limits=tuple(outside),
        relative_to_mean=tuple(relative),
        close_to_limits=tuple(close),
        special_cause_type=tuple(labels),
        special_cause_flag=tuple(label != "Common Cause" for label in labels),
        point_type=tuple(kinds),
        improvement_direction=direction,
        target=target,
        groups=tuple(groups),
        reason="; ".join(reasons) if reasons else None,
    )
