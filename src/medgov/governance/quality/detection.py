"""Turning stored measure results into signal candidates: every measure x unit series is charted (SPC) and every
unit compared with its peers (funnel plot). The statistics run in the analytics core, through its facade."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from medgov.analytics import api as analytics
from medgov.governance.quality.choices import SignalDirection, SignalKind
from medgov.governance.quality.models import Measure, MeasureResult
from medgov.governance.quality.services import SignalCandidate

# Units whose series are charted: wards too, so a step on one ward shows. Practitioner series are too sparse and
# are judged by funnel.
SPC_DIMENSIONS = ("all", "hospital", "department", "service_line", "unit")
FUNNEL_DIMENSIONS = ("hospital", "department", "unit", "practitioner")
# Fix the limits on the first two years when the series is long enough, so later change shows against them.
BASELINE_MONTHS = 24
MINIMUM_MONTHS_FOR_BASELINE = 36
# Only special causes that reach into the most recent months are news; older ones were history at go-live.
RECENT_MONTHS = 6
MONTHS_PER_POINT = {"month": 1, "quarter": 3}


def _value(measure: Measure, row: MeasureResult) -> float:
    if not row.calculable:
        return math.nan
    value = row.oe_ratio if measure.scoring == "ratio" and row.oe_ratio is not None else row.rate
    return math.nan if value is None else float(value)


def charted_grain(series: dict[str, list[MeasureResult]]) -> str:
    """Months when every baseline month of the series can be reported, quarters otherwise: a series broken by
    small cells (a ward's month often has fewer cases than the reporting minimum) has no limits worth drawing
    and no runs, so a step that lasts would never show on it, while its quarters can carry it."""
    months = series.get("month", [])
    if series.get("quarter") and not all(row.calculable for row in months[:BASELINE_MONTHS]):
        return "quarter"
    return "month"


def spc_candidates(measure: Measure, results: Iterable[MeasureResult]) -> list[SignalCandidate]:
    """Special causes in the monthly series of each unit of ``measure`` (quarterly where the months are too sparse
    to chart) that reach into the recent months."""
    by_unit: dict[tuple[str, str], dict[str, list[MeasureResult]]] = defaultdict(lambda: defaultdict(list))
    for row in results:
        if row.grain in MONTHS_PER_POINT and row.dimension in SPC_DIMENSIONS:
            by_unit[(row.dimension, row.stratum_key)][row.grain].append(row)
    candidates = []
    for (dimension, stratum_key), series in sorted(by_unit.items()):
        for rows in series.values():
            rows.sort(key=lambda row: row.period_start)
        grain = charted_grain(series)
        rows = series[grain]
        per_point = MONTHS_PER_POINT[grain]
        values = [_value(measure, row) for row in rows]
        baseline = BASELINE_MONTHS // per_point if len(values) >= MINIMUM_MONTHS_FOR_BASELINE // per_point else None
        for cause in analytics.special_causes(
            values, improvement_direction=measure.improvement_direction, baseline_points=baseline
        ):
            if cause.direction not in (SignalDirection.CONCERN, SignalDirection.IMPROVEMENT):
                continue
            if cause.last_index < len(rows) - RECENT_MONTHS // per_point:
                continue
            first, last = rows[cause.first_index], rows[cause.last_index]
            points = cause.last_index - cause.first_index + 1
            candidates.append(
                SignalCandidate(
                    measure=measure,
                    dimension=dimension,
                    stratum_key=stratum_key,
                    stratum_label=first.stratum_label,
                    kind=SignalKind.SPC,
                    direction=SignalDirection(cause.direction),
                    rule=cause.rule,
                    detail=f"{points} point(s) from {first.period_start:%b %Y}"
                    if grain == "month"
                    else f"{points} quarter(s) from {first.period_start:%b %Y}",
                    first_period=first.period_start,
                    last_period=last.period_start,
                    chart={
                        "periods": [row.period_start.isoformat() for row in rows],
                        "values": [None if math.isnan(v) else v for v in values],
                    },
                )
            )
    return candidates


def funnel_candidates(measure: Measure, results: Iterable[MeasureResult]) -> list[SignalCandidate]:
    """Units outside the 99.8 % overdispersion-adjusted funnel limits in the latest year."""
    yearly = [row for row in results if row.grain == "year" and row.dimension in FUNNEL_DIMENSIONS]
    if not yearly:
        return []
    latest_year = max(row.period_start for row in yearly)
    candidates = []
    for dimension in FUNNEL_DIMENSIONS:
        rows = [
            row
            for row in yearly
            if row.dimension == dimension and row.period_start == latest_year and row.calculable and row.denominator
        ]
        if len(rows) < 3:
            continue
        risk_adjusted = all(row.expected for row in rows)
        if risk_adjusted:
            view = analytics.funnel_for_ratios(
                [row.observed or 0.0 for row in rows], [row.expected or 0.0 for row in rows]
            )
        else:
            view = analytics.funnel_for_proportions([row.numerator for row in rows], [row.denominator for row in rows])
        for row, flag in zip(rows, view.flags, strict=True):
            if not flag:
                continue
            higher_is_better = measure.improvement_direction == "increase"
            direction = SignalDirection.IMPROVEMENT if (flag == "high") == higher_is_better else SignalDirection.CONCERN
            value = (row.observed or 0.0) / (row.expected or 1.0) if risk_adjusted else row.numerator / row.denominator
            candidates.append(
                SignalCandidate(
                    measure=measure,
                    dimension=dimension,
                    stratum_key=row.stratum_key,
                    stratum_label=row.stratum_label,
                    kind=SignalKind.FUNNEL,
                    direction=direction,
                    rule="Outside 99.8 % funnel limits",
                    detail=f"{'O/E' if risk_adjusted else 'rate'} {value:.3f} in {latest_year:%Y} ({row.denominator:.0f} cases)",
                    first_period=latest_year,
                    last_period=row.period_end,
                    chart={},
                )
            )
    return candidates


ABERRATION_DIMENSIONS = ("all", "hospital", "unit")


def aberration_candidates(measure: Measure, results: Iterable[MeasureResult]) -> list[SignalCandidate]:
    """Months whose event count (falls, pressure injuries, infections) rises above the EARS C2 bound, for
    rate measures where fewer events are better, in the recent months."""
    if measure.scoring != "ratio" or measure.improvement_direction != "decrease":
        return []
    by_unit: dict[tuple[str, str], list[MeasureResult]] = defaultdict(list)
    for row in results:
        if row.grain == "month" and row.dimension in ABERRATION_DIMENSIONS:
            by_unit[(row.dimension, row.stratum_key)].append(row)
    candidates = []
    for (dimension, stratum_key), rows in sorted(by_unit.items()):
        rows.sort(key=lambda row: row.period_start)
        counts = [row.numerator for row in rows]
        for position in analytics.count_aberrations(counts):
            if position < len(rows) - RECENT_MONTHS:
                continue
            row = rows[position]
            candidates.append(
                SignalCandidate(
                    measure=measure,
                    dimension=dimension,
                    stratum_key=stratum_key,
                    stratum_label=row.stratum_label,
                    kind=SignalKind.ABERRATION,
                    direction=SignalDirection.CONCERN,
                    rule="EARS C2",
                    detail=f"{row.numerator:.0f} events in {row.period_start:%b %Y}",
                    first_period=row.period_start,
                    last_period=row.period_start,
                    chart={"periods": [r.period_start.isoformat() for r in rows], "values": counts},
                )
            )
    return candidates


def detect(measure: Measure) -> list[SignalCandidate]:
    results = list(MeasureResult.objects.filter(measure=measure))
    return (
        spc_candidates(measure, results) + funnel_candidates(measure, results) + aberration_candidates(measure, results)
    )
