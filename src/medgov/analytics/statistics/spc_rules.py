"""Special-cause rules for control charts and run charts.

Two rule sets live here, both as plain functions over per-point arrays so that any chart can use them:

* Anhoej run-chart rules (Anhoej & Olesen 2014, "Run charts revisited", PLoS ONE 9(11): e113825), as qicharts2
  applies them: a run chart signals non-random variation when the longest run of points on one side of the
  centre line is longer than ``round(log2(n)) + 3`` (Schilling 2012) or the line crosses the centre fewer than
  ``qbinom(0.05, n - 1, 0.5)`` times (Chen 2010), ``n`` being the number of useful points (not on the centre).
* NHS England "Making Data Count" (2019) rules, as NHSRplotthedots 0.2.2 applies them: a point outside the
  process limits; 7 consecutive points with 6 strictly monotone differences (a trend); 2 of 3 consecutive
  points beyond the 2-sigma lines, all 3 on the same side of the mean; 7 consecutive points strictly on one
  side of the mean (a shift). Precedence per point: outside limits > trend > 2 of 3 > shift. Each flagged point
  is then classed as improvement or concern from the improvement direction (Provost & Murray 2011, ch. 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import stats

__all__ = [
    "Assurance",
    "ImprovementDirection",
    "MakingDataCountRules",
    "PointType",
    "RunsAnalysis",
    "anhoej_crossings_minimum",
    "anhoej_longest_run_maximum",
    "anhoej_runs_analysis",
    "near_limit_window_flags",
    "part_of_pattern",
    "point_types",
    "run_end_flags",
    "special_cause_types",
    "target_assurance",
    "trend_end_flags",
]


class ImprovementDirection(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    NEUTRAL = "neutral"

    @property
    def sign(self) -> int:
        return {"increase": 1, "decrease": -1, "neutral": 0}[self.value]


class PointType(StrEnum):
    COMMON_CAUSE = "common_cause"
    SPECIAL_CAUSE_IMPROVEMENT = "special_cause_improvement"
    SPECIAL_CAUSE_CONCERN = "special_cause_concern"
    SPECIAL_CAUSE_NEUTRAL_HIGH = "special_cause_neutral_high"
    SPECIAL_CAUSE_NEUTRAL_LOW = "special_cause_neutral_low"


class Assurance(StrEnum):
    CONSISTENT_PASS = "consistent_pass"
    CONSISTENT_FAIL = "consistent_fail"
    INCONSISTENT = "inconsistent"


@dataclass(frozen=True)
class MakingDataCountRules:
    """Pattern lengths of the Making Data Count rule set (defaults are the NHS England ones)."""

    trend_points: int = 7
    shift_points: int = 7
    near_limit_points: int = 2
    near_limit_window: int = 3

    def __post_init__(self) -> None:
        for name in ("trend_points", "shift_points", "near_limit_points", "near_limit_window"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be at least 2")
        if self.near_limit_points > self.near_limit_window:
            raise ValueError("near_limit_points must not exceed near_limit_window")


@dataclass(frozen=True)
class RunsAnalysis:
    """Anhoej runs analysis of one chart segment.

    ``n_obs`` counts the included points (missing ones too, as qicharts2 does); ``n_useful`` those that are
    present and not on the centre line. With no useful point the run statistics are ``None`` and ``reason``
    says why.
    """

    n_obs: int
    n_useful: int
    longest_run: int | None
    longest_run_max: int | None
    n_crossings: int | None
    n_crossings_min: int | None
    signal: bool
    reason: str | None = None


def anhoej_longest_run_maximum(n_useful: int) -> int:
    """Upper limit of the longest run for ``n_useful`` points: ``round(log2(n)) + 3`` (Schilling 2012)."""
    if n_useful < 1:
        raise ValueError("n_useful must be at least 1")
    return round(math.log2(n_useful)) + 3


def anhoej_crossings_minimum(n_useful: int) -> int:
    """Lower limit of the number of crossings: the 5th percentile of Binomial(n - 1, 0.5) (Chen 2010)."""
    if n_useful < 1:
        raise ValueError("n_useful must be at least 1")
    if n_useful == 1:
        return 0
    return int(stats.binom.ppf(0.05, n_useful - 1, 0.5))


def anhoej_runs_analysis(
    values: Sequence[float] | np.ndarray, centre: Sequence[float] | np.ndarray, included: Sequence[bool] | np.ndarray
) -> RunsAnalysis:
    """Longest run and number of crossings of ``values`` about ``centre`` over the included points.

    Points on the centre line and missing points are not useful and are dropped before the runs are counted
    (Anhoej & Olesen 2014). The signal is ``longest_run > round(log2(n)) + 3`` or
    ``crossings < qbinom(0.05, n - 1, 0.5)``.
    """
    y = np.asarray(values, dtype=float)
    cl = np.asarray(centre, dtype=float)
    keep = np.asarray(included, dtype=bool)
    y, cl = y[keep], cl[keep]
    n_obs = int(y.size)
    with np.errstate(invalid="ignore"):
        side = np.sign(y - cl)
    useful = side[np.isfinite(side) & (side != 0)]
    n_useful = int(useful.size)
    if n_useful == 0:
        return RunsAnalysis(
            n_obs=n_obs,
            n_useful=0,
            longest_run=None,
            longest_run_max=None,
            n_crossings=None,
            n_crossings_min=None,
            signal=False,
            reason="no useful points: every point is missing or on the centre line",
        )
    changes = np.flatnonzero(np.diff(useful) != 0)
    boundaries = np.concatenate(([-1], changes, [n_useful - 1]))
    longest_run = int(np.max(np.diff(boundaries)))
    n_crossings = int(changes.size)
    longest_run_max = anhoej_longest_run_maximum(n_useful)
    n_crossings_min = anhoej_crossings_minimum(n_useful)
    return RunsAnalysis(
        n_obs=n_obs,
        n_useful=n_useful,
        longest_run=longest_run,
        longest_run_max=longest_run_max,
        n_crossings=n_crossings,
        n_crossings_min=n_crossings_min,
        signal=longest_run > longest_run_max or n_crossings < n_crossings_min,
    )


def run_end_flags(relative_to_mean: Sequence[int], length: int = 7) -> list[int]:
    """1 where a point closes ``length`` consecutive points on the same (non-zero) side of the mean.

    ``relative_to_mean`` is -1/0/1 per point; a point on the mean (0) breaks a run
    (NHSRplotthedots ``ptd_seven_point_one_side_mean``).
    """
    flags: list[int] = []
    for i, side in enumerate(relative_to_mean):
        window = relative_to_mean[i - length + 1 : i + 1] if i >= length - 1 else ()
        flags.append(int(side != 0 and len(window) == length and all(v == side for v in window)))
    return flags


def trend_end_flags(values: Sequence[float], length: int = 7) -> list[int]:
    """+1 / -1 where a point closes ``length`` points with ``length - 1`` strictly rising / falling steps.

    A tie or a missing value breaks the trend (NHSRplotthedots ``ptd_seven_point_trend``).
    """
    y = [float(v) for v in values]
    flags = [0] * len(y)
    for i in range(length - 1, len(y)):
        steps = [y[j] - y[j - 1] for j in range(i - length + 2, i + 1)]
        if all(s > 0 for s in steps):
            flags[i] = 1
        elif all(s < 0 for s in steps):
            flags[i] = -1
    return flags


def part_of_pattern(end_flags: Sequence[int], length: int = 7) -> list[int]:
    """1 for every point belonging to a pattern whose closing points are marked in ``end_flags``."""
    n = len(end_flags)
    return [int(any(end_flags[j] != 0 for j in range(i, min(i + length, n)))) for i in range(n)]


def near_limit_window_flags(
    close_to_limits: Sequence[bool], relative_to_mean: Sequence[int], points: int = 2, window: int = 3
) -> list[int]:
    """1 for points in a window of ``window`` points with at least ``points`` beyond the 2-sigma lines, all on one side.

    Every point of such a window is marked (NHSRplotthedots ``ptd_two_in_three``); the rule itself flags only
    the marked points that are near the limits (``ptd_part_of_two_in_three``, see :func:`special_cause_types`).
    """
    n = len(close_to_limits)
    flags: list[int] = []
    for i in range(n):
        hit = False
        for start in range(i - window + 1, i + 1):
            if start < 0 or start + window > n:
                continue
            sides = relative_to_mean[start : start + window]
            near = sum(bool(c) for c in close_to_limits[start : start + window])
            if near >= points and abs(sum(sides)) == window:
                hit = True
                break
        flags.append(int(hit))
    return flags


def special_cause_types(
    values: Sequence[float],
    relative_to_mean: Sequence[int],
    close_to_limits: Sequence[bool],
    outside_limits: Sequence[bool],
    rules: MakingDataCountRules | None = None,
) -> tuple[str, ...]:
    """Label each point with the first Making Data Count rule it breaks, or ``"Common Cause"``.

    Labels and precedence follow NHSRplotthedots ``ptd_special_cause_type``: "Above UCL"/"Below LCL",
    "7 Point Trend (Increasing|Decreasing)", "2 in 3 Above|Below CL", "7 Points Above|Below CL". The trend
    direction of a point is taken from its step to the next point when that point is in the trend too,
    otherwise from its step from the previous point.
    """
    rules = rules or MakingDataCountRules()
    n = len(values)
    y = [float(v) for v in values]
    trend = part_of_pattern(trend_end_flags(y, rules.trend_points), rules.trend_points)
    windows = near_limit_window_flags(
        close_to_limits, relative_to_mean, rules.near_limit_points, rules.near_limit_window
    )
    near = [int(w == 1 and bool(c)) for w, c in zip(windows, close_to_limits, strict=True)]
    shift = part_of_pattern(run_end_flags(relative_to_mean, rules.shift_points), rules.shift_points)
    step_sign = [0] + [int(np.sign(y[i] - y[i - 1])) if math.isfinite(y[i] - y[i - 1]) else 0 for i in range(1, n)]
    n_len = rules.trend_points
    labels: list[str] = []
    for i in range(n):
        side = "Above" if relative_to_mean[i] > 0 else "Below"
        if outside_limits[i]:
            labels.append("Above UCL" if relative_to_mean[i] == 1 else "Below LCL")
        elif trend[i]:
            direction = step_sign[i + 1] if i + 1 < n and trend[i + 1] else step_sign[i]
            labels.append(f"{n_len} Point Trend ({'In' if direction == 1 else 'De'}creasing)")
        elif near[i]:
            labels.append(f"{rules.near_limit_points} in {rules.near_limit_window} {side} CL")
        elif shift[i]:
            labels.append(f"{rules.shift_points} Points {side} CL")
        else:
            labels.append("Common Cause")
    return tuple(labels)


def point_types(labels: Sequence[str], improvement_direction: ImprovementDirection | str) -> tuple[PointType, ...]:
    """Class each labelled point as improvement, concern or neutral (NHSRplotthedots ``ptd_point_type``).

    A pattern above the mean or increasing is "high"; with the improvement direction it becomes an improvement
    when the direction is ``increase`` and a concern when it is ``decrease``.
    """
    direction = ImprovementDirection(improvement_direction).sign
    result: list[PointType] = []
    for label in labels:
        high = (
            1
            if ("Above" in label or "Increasing" in label)
            else -1
            if ("Below" in label or "Decreasing" in label)
            else 0
        )
        if high == 0:
            result.append(PointType.COMMON_CAUSE)
        elif direction == 0:
            result.append(PointType.SPECIAL_CAUSE_NEUTRAL_HIGH if high > 0 else PointType.SPECIAL_CAUSE_NEUTRAL_LOW)
        else:
            oriented = high * direction
            result.append(PointType.SPECIAL_CAUSE_IMPROVEMENT if oriented > 0 else PointType.SPECIAL_CAUSE_CONCERN)
    return tuple(result)


def target_assurance(
    target: float, lower_limit: float, upper_limit: float, improvement_direction: ImprovementDirection | str
) -> Assurance | None:
    """Making Data Count assurance of meeting ``target`` from the latest process limits.

    A target beyond the upper limit is always failed (direction increase) or always passed (decrease); beyond
    the lower limit the reverse; a target between the limits is hit and missed at random ("inconsistent").
    There is no assurance for a neutral direction or when the limits are unknown.
    """
    direction = ImprovementDirection(improvement_direction)
    if direction is ImprovementDirection.NEUTRAL or not (math.isfinite(lower_limit) and math.isfinite(upper_limit)):
        return None
    increasing = direction is ImprovementDirection.INCREASE
    if target > upper_limit:
        return Assurance.CONSISTENT_FAIL if increasing else Assurance.CONSISTENT_PASS
    if target < lower_limit:
        return Assurance.CONSISTENT_PASS if increasing else Assurance.CONSISTENT_FAIL
    return Assurance.INCONSISTENT
