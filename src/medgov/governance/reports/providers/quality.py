"""Quality sections: the scorecard of headline measures, their SPC charts, and the signals with what was done.

Values are read from stored measure results (never recomputed from the warehouse) and from the target in force
at the end of the quarter (the target history, not today's target). No section shows counts of patients: the
scorecard shows rates, ratios and intervals only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from medgov.analytics import api as analytics
from medgov.governance.quality.choices import SignalState
from medgov.governance.quality.models import Measure, MeasureResult, Signal, TargetChange
from medgov.governance.reports import formatting, rules
from medgov.governance.reports.rules import Quarter
from medgov.governance.reports.sections import Section, section

SPC_MONTHS = 24
VARIATION_LABELS = {
    "special_cause_improvement": "special cause: improvement",
    "special_cause_concern": "special cause: concern",
    "special_cause_neutral_high": "special cause (high)",
    "special_cause_neutral_low": "special cause (low)",
    "common_cause": "common cause variation",
}
ASSURANCE_LABELS = {
    "consistent_pass": "will consistently meet the target",
    "consistent_fail": "will consistently miss the target",
    "inconsistent": "may or may not meet the target",
}
# Units of these dimensions are people; the board report does not name them.
PERSON_DIMENSIONS = {"practitioner": "an individual practitioner"}


@dataclass(frozen=True)
class TargetInForce:
    value: float
    direction: str
    effective_from: dt.date


def headline_measures() -> list[Measure]:
    return list(Measure.objects.filter(is_headline=True, is_current=True).order_by("title"))


def target_in_force(measure: Measure, on: dt.date) -> TargetInForce | None:
    """The organisation-wide target that applied on ``on``: the latest change effective by then."""
    change = (
        TargetChange.objects.filter(
            target__measure=measure, target__dimension="all", target__stratum_key="all", effective_from__lte=on
        )
        .order_by("-effective_from", "-changed_at", "-id")
        .first()
    )
    if change is None:
        return None
    return TargetInForce(change.new_value, change.new_direction, change.effective_from)


def uses_oe_ratio(measure: Measure, result: MeasureResult | None) -> bool:
    """Ratio measures with an expected count are shown, charted and rated as O/E, like the quality pages."""
    return measure.scoring == "ratio" and result is not None and result.oe_ratio is not None


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@section("quality_scorecard", title="Quality scorecard", order=10)
def scorecard(quarter: Quarter) -> Section:
    rows: list[dict[str, Any]] = []
    refreshes: set[int] = set()
    for measure in headline_measures():
        result = MeasureResult.objects.filter(
            measure=measure, grain="quarter", period_start=quarter.start, dimension="all", stratum_key="all"
        ).first()
        oe = uses_oe_ratio(measure, result)
        value = low = high = None
        if result is not None and result.calculable:
            refreshes.add(result.refresh_id)
            if oe:
                value, low, high = result.oe_ratio, result.oe_low, result.oe_high
            else:
                value, low, high = result.rate, result.rate_low, result.rate_high
        target = target_in_force(measure, quarter.end)
        direction = target.direction if target else measure.improvement_direction
        rag = rules.rag_status(value, target.value if target else None, direction, low=low, high=high)
        rows.append(
            {
                "measure_id": measure.measure_id,
                "version": measure.version,
                "title": measure.title,
                "better_when": measure.get_improvement_direction_display(),
                "basis": "observed / expected" if oe else measure.unit_label or measure.scoring,
                "value": _finite_or_none(value),
                "low": _finite_or_none(low),
                "high": _finite_or_none(high),
                "target": target.value if target else None,
                "value_text": formatting.measure_value(value, scoring=measure.scoring, unit=measure.unit_label, oe=oe)
                if result is not None and result.calculable
                else ("not calculable" if result is not None else "no result"),
                "interval_text": formatting.measure_interval(low, high, scoring=measure.scoring, oe=oe),
                "target_text": formatting.measure_value(
                    target.value, scoring=measure.scoring, unit=measure.unit_label, oe=oe
                )
                if target
                else formatting.DASH,
                "target_since": target.effective_from.isoformat() if target else "",
                "rag": rag.value,
                "rag_text": rag.label,
                "reason": result.reason if result is not None and not result.calculable else "",
            }
        )
    return Section(
        "quality_scorecard",
        "Quality scorecard",
        {
            "rows": rows,
            "rule": (
                "Green: meets the target. Amber: misses it, but the target lies within the 95 % interval or the "
                "value is within 10 % of the target. Red: misses it by more. Values are for the whole "
                "organisation in the quarter; targets are those in force at the end of the quarter."
            ),
        },
        tuple(sorted(refreshes)),
    )


@section("quality_spc", title="Trends: statistical process control", order=20)
def spc_charts(quarter: Quarter) -> Section:
    charts: list[dict[str, Any]] = []
    refreshes: set[int] = set()
    first_month = dt.date(quarter.end.year - SPC_MONTHS // 12, quarter.end.month, 1)
    for measure in headline_measures():
        series = list(
            MeasureResult.objects.filter(
                measure=measure,
                grain="month",
                dimension="all",
                stratum_key="all",
                period_start__gt=first_month,
                period_start__lte=quarter.end,
            ).order_by("period_start")
        )
        if not series:
            continue
        refreshes.update(row.refresh_id for row in series)
        oe = uses_oe_ratio(measure, series[-1])
        values = [(row.oe_ratio if oe else row.rate) if row.calculable else None for row in series]
        target = target_in_force(measure, quarter.end)
        chart = analytics.measure_control_chart(
            [math.nan if value is None else value for value in values],
            improvement_direction=measure.improvement_direction,
            target=target.value if target else None,
        )
        scale, unit = (
            (1.0, "O/E") if oe else (100.0, "%") if measure.scoring == "proportion" else (1.0, measure.unit_label)
        )
        charts.append(
            {
                "measure_id": measure.measure_id,
                "title": measure.title,
                "periods": [row.period_start.isoformat() for row in series],
                "values": [_finite_or_none(v) for v in chart.values],
                "mean": [_finite_or_none(v) for v in chart.mean],
                "lower": [_finite_or_none(v) for v in chart.lower_process_limit],
                "upper": [_finite_or_none(v) for v in chart.upper_process_limit],
                "point_type": [str(kind) for kind in chart.point_type],
                "target": target.value if target else None,
                "scale": scale,
                "unit": unit,
                "variation": VARIATION_LABELS.get(str(chart.variation_type or ""), ""),
                "assurance": ASSURANCE_LABELS.get(str(chart.assurance or ""), ""),
                "note": chart.reason or "",
            }
        )
    return Section(
        "quality_spc",
        "Trends: statistical process control",
        {"charts": charts, "months": SPC_MONTHS},
        tuple(sorted(refreshes)),
    )


def _unit_label(signal: Signal) -> str:
    return PERSON_DIMENSIONS.get(signal.dimension, signal.stratum_label)


@section("quality_signals", title="Signals and what was done", order=30)
def signals(quarter: Quarter) -> Section:
    """Signals active during the quarter (their points reach into it) and any still open at its end.

    Free text (close reasons) is left out: it is typed by people and may name patients; the section shows the
    state and the action that addresses the signal.
    """
    relevant = (
        Signal.objects.select_related("measure")
        .filter(first_period__lte=quarter.end)
        .filter(Q(last_period__gte=quarter.start) | ~Q(state=SignalState.CLOSED))
        .order_by("-first_period", "measure__title", "id")
    )
    rows = [
        {
            "measure": signal.measure.title,
            "unit": _unit_label(signal),
            "direction": signal.direction,
            "direction_text": signal.get_direction_display(),
            "kind_text": signal.get_kind_display(),
            "rule": signal.rule,
            "first_period": signal.first_period.isoformat(),
            "last_period": signal.last_period.isoformat(),
            "state": signal.state,
            "state_text": signal.get_state_display(),
            "action_reference": signal.action_reference,
        }
        for signal in relevant
    ]
    summary: dict[str, int] = {state.value: 0 for state in SignalState}
    for row in rows:
        summary[row["state"]] += 1
    return Section(
        "quality_signals",
        "Signals and what was done",
        {
            "rows": rows,
            "summary": [{"state": state.label, "count": summary[state.value]} for state in SignalState],
        },
    )
