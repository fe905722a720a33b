"""The only writers of quality data: measure results, targets and signals."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from medgov.governance.accounts.models import User
from medgov.governance.core import audit
from medgov.governance.core.permissions import require_permissions as _require
from medgov.governance.quality.choices import (
    ImprovementDirection,
    RefreshStatus,
    SignalDirection,
    SignalKind,
    SignalState,
)
from medgov.governance.quality.models import Measure, MeasureRefresh, MeasureResult, Signal, Target, TargetChange


@dataclass(frozen=True)
class MeasureDescription:
    measure_id: str
    version: str
    title: str
    description: str
    rationale: str
    source: str
    scoring: str
    improvement_direction: str
    unit_label: str
    is_headline: bool = False


def do_register_measures(descriptions: Iterable[MeasureDescription], *, actor: User | None) -> list[Measure]:
    """Make the operational store know every measure version the analytics library registers."""
    _require(actor, "quality.manage_targets")
    registered = []
    with transaction.atomic():
        for item in descriptions:
            measure, created = Measure.objects.get_or_create(
                measure_id=item.measure_id,
                version=item.version,
                defaults={
                    "title": item.title,
                    "description": item.description,
                    "rationale": item.rationale,
                    "source": item.source,
                    "scoring": item.scoring,
                    "improvement_direction": item.improvement_direction,
                    "unit_label": item.unit_label,
                    "is_headline": item.is_headline,
                },
            )
            if created:
                Measure.objects.filter(measure_id=item.measure_id).exclude(pk=measure.pk).update(is_current=False)
                audit.record(
                    actor=actor, action="measure.register", target=measure, before=None, after=audit.snapshot(measure)
                )
            registered.append(measure)
    return registered


RESULT_FIELDS = (
    "grain",
    "period_start",
    "period_end",
    "dimension",
    "stratum_key",
    "stratum_label",
    "parent_key",
    "initial_population",
    "denominator",
    "denominator_exclusion",
    "numerator",
    "rate",
    "rate_low",
    "rate_high",
    "observed",
    "expected",
    "oe_ratio",
    "oe_low",
    "oe_high",
    "calculable",
    "reason",
)


def do_start_refresh(*, warehouse: str, actor: User | None) -> MeasureRefresh:
    _require(actor, "quality.manage_targets")
    with transaction.atomic():
        refresh = MeasureRefresh.objects.create(started_at=timezone.now(), warehouse=warehouse, requested_by=actor)
        audit.record(
            actor=actor, action="measure_refresh.start", target=refresh, before=None, after={"warehouse": warehouse}
        )
    return refresh


def do_store_results(refresh: MeasureRefresh, results: Iterable[Mapping[str, Any]], *, actor: User | None) -> int:
    """Replace the stored results of every measure present in ``results`` with these rows, atomically.

    Each row carries ``measure_id`` and ``version`` plus the fields of :class:`MeasureResult`.
    Results of measures not in ``results`` are left as they were.
    """
    _require(actor, "quality.manage_targets")
    measures = {(m.measure_id, m.version): m for m in Measure.objects.all()}
    rows: list[MeasureResult] = []
    for index, row in enumerate(results):
        key = (str(row["measure_id"]), str(row["version"]))
        measure = measures.get(key)
        if measure is None:
            raise ValidationError(f"result row {index}: measure {key[0]} v{key[1]} is not registered")
        values = {name: row.get(name) for name in RESULT_FIELDS if name in row}
        values.setdefault("parent_key", "")
        values.setdefault("reason", "")
        values.setdefault("stratum_label", str(values.get("stratum_key", "")))
        rows.append(MeasureResult(measure=measure, refresh=refresh, **values))
    measure_ids = {row.measure_id for row in rows}
    with transaction.atomic():
        MeasureResult.objects.filter(measure_id__in=measure_ids).delete()
        MeasureResult.objects.bulk_create(rows, batch_size=2000)
        MeasureRefresh.objects.filter(pk=refresh.pk).update(result_count=len(rows))
        audit.record(
            actor=actor,
            action="measure_results.store",
            target=refresh,
            before=None,
            after={"rows": len(rows), "measures": sorted(str(m) for m in measure_ids)},
        )
    return len(rows)


def do_finish_refresh(
    refresh: MeasureRefresh, *, error: str = "", signal_count: int = 0, actor: User | None
) -> MeasureRefresh:
    _require(actor, "quality.manage_targets")
    with transaction.atomic():
        refresh.refresh_from_db()
        refresh.finished_at = timezone.now()
        refresh.status = RefreshStatus.FAILED if error else RefreshStatus.SUCCEEDED
        refresh.error = error
        refresh.signal_count = signal_count
        refresh.save(update_fields=["finished_at", "status", "error", "signal_count"])
        audit.record(
            actor=actor,
            action="measure_refresh.finish",
            target=refresh,
            before={"status": RefreshStatus.RUNNING},
            after={"status": refresh.status, "error": error, "signals": signal_count},
        )
    return refresh


@dataclass(frozen=True)
class SignalCandidate:
    measure: Measure
    dimension: str
    stratum_key: str
    stratum_label: str
    kind: SignalKind
    direction: SignalDirection
    rule: str
    detail: str
    first_period: dt.date
    last_period: dt.date
    chart: Mapping[str, Any]


def do_raise_signals(
    candidates: Iterable[SignalCandidate], *, refresh: MeasureRefresh | None, actor: User | None
) -> list[Signal]:
    """Record new special causes. One already raised (same measure, unit, kind, rule, first point) is not raised
    again; its last point and chart are brought up to date instead."""
    _require(actor, "quality.manage_signals")
    raised = []
    with transaction.atomic():
        for candidate in candidates:
            existing = Signal.objects.filter(
                measure=candidate.measure,
                dimension=candidate.dimension,
                stratum_key=candidate.stratum_key,
                kind=candidate.kind,
                rule=candidate.rule,
                first_period=candidate.first_period,
            ).first()
            if existing is not None:
                if existing.last_period != candidate.last_period:
                    existing.last_period = candidate.last_period
                    existing.chart = dict(candidate.chart)
                    existing.save(update_fields=["last_period", "chart", "updated_at"])
                continue
            signal = Signal.objects.create(
                measure=candidate.measure,
                dimension=candidate.dimension,
                stratum_key=candidate.stratum_key,
                stratum_label=candidate.stratum_label,
                kind=candidate.kind,
                direction=candidate.direction,
                rule=candidate.rule,
                detail=candidate.detail,
                first_period=candidate.first_period,
                last_period=candidate.last_period,
                chart=dict(candidate.chart),
                raised_by_refresh=refresh,
                created_by=actor,
            )
            audit.record(
                actor=actor,
                action="signal.raise",
                target=signal,
                before=None,
                after=audit.snapshot(
                    signal, ["measure", "dimension", "stratum_key", "kind", "direction", "rule", "first_period"]
                ),
            )
            raised.append(signal)
    return raised


def _transition(
    signal: Signal, new_state: SignalState, *, actor: User, extra: Mapping[str, Any] | None = None
) -> Signal:
    with transaction.atomic():
        locked = Signal.objects.select_for_update(of=("self",)).get(pk=signal.pk)
        before = {
            "state": locked.state,
            "close_reason": locked.close_reason,
            "action_reference": locked.action_reference,
        }
        locked.state = new_state
        for name, value in (extra or {}).items():
            setattr(locked, name, value)
        locked.updated_by = actor
        locked.full_clean(exclude=["chart"])
        locked.save()
        after = {
            "state": locked.state,
            "close_reason": locked.close_reason,
            "action_reference": locked.action_reference,
        }
        before, after = audit.changed(before, after)
        audit.record(actor=actor, action=f"signal.{new_state}", target=locked, before=before, after=after)
    return locked


def do_acknowledge_signal(signal: Signal, *, actor: User) -> Signal:
    _require(actor, "quality.manage_signals")
    if not signal.can_acknowledge():
        raise ValidationError(f"a signal that is {signal.get_state_display().lower()} cannot be acknowledged")
    return _transition(signal, SignalState.ACKNOWLEDGED, actor=actor)


def do_start_signal_review(signal: Signal, *, actor: User) -> Signal:
    _require(actor, "quality.manage_signals")
    if not signal.can_start_review():
        raise ValidationError(f"a signal that is {signal.get_state_display().lower()} cannot be put under review")
    return _transition(signal, SignalState.UNDER_REVIEW, actor=actor)


def do_close_signal(signal: Signal, *, reason: str = "", action_reference: str = "", actor: User) -> Signal:
    _require(actor, "quality.manage_signals")
    if not signal.can_close():
        raise ValidationError("the signal is already closed")
    if not reason.strip() and not action_reference.strip():
        raise ValidationError("give a reason for closing the signal, or link the action that addresses it")
    return _transition(
        signal,
        SignalState.CLOSED,
        actor=actor,
        extra={"close_reason": reason.strip(), "action_reference": action_reference.strip()},
    )


def do_set_target(
    measure: Measure,
    *,
    value: float,
    direction: ImprovementDirection,
    owner: User,
    effective_from: dt.date,
    reason: str,
    dimension: str = "all",
    stratum_key: str = "all",
    actor: User,
) -> Target:
    """Create or change a target; every change keeps who, when, why, and the old and new value."""
    _require(actor, "quality.manage_targets")
    if not reason.strip():
        raise ValidationError({"reason": "say why the target is set or changed"})
    if measure.scoring == "proportion" and not 0 <= value <= 1:
        raise ValidationError({"value": "a proportion target must be between 0 and 1 (e.g. 0.15 for 15 %)"})
    with transaction.atomic():
        target = (
            Target.objects.select_for_update(of=("self",))
            .filter(measure=measure, dimension=dimension, stratum_key=stratum_key)
            .first()
        )
        old_value: float | None = None
        old_direction = ""
        if target is None:
            target = Target.objects.create(
                measure=measure,
                dimension=dimension,
                stratum_key=stratum_key,
                value=value,
                direction=direction,
                owner=owner,
                effective_from=effective_from,
                created_by=actor,
                updated_by=actor,
            )
            before = None
        else:
            before = audit.snapshot(target, ["value", "direction", "owner", "effective_from"])
            old_value, old_direction = target.value, target.direction
            target.value = value
            target.direction = direction
            target.owner = owner
            target.effective_from = effective_from
            target.updated_by = actor
            target.save()
        TargetChange.objects.create(
            target=target,
            changed_at=timezone.now(),
            changed_by=actor,
            reason=reason.strip(),
            old_value=old_value,
            new_value=value,
            old_direction=old_direction,
            new_direction=direction,
            effective_from=effective_from,
        )
        after = audit.snapshot(target, ["value", "direction", "owner", "effective_from"])
        after["reason"] = reason.strip()
        audit.record(actor=actor, action="target.set", target=target, before=before, after=after)
    return target


# --- refreshing results from the warehouse ---------------------------------------------------------------------

HEADLINE_MEASURES = frozenset(
    {"in-hospital-mortality", "readmission-30-day", "length-of-stay", "falls-with-injury", "pressure-injuries"}
)
REFRESH_GRAINS = ("month", "quarter", "year")
REFRESH_STRATIFIERS = (
    "hospital",
    "service_line",
    "department",
    "unit",
    "practitioner",
    "payer",
    "race",
    "ethnicity",
    "language",
    "sex",
    "age_band",
)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _scaled(value: Any, scale: float) -> float | None:
    number = _finite(value)
    return None if number is None else number / scale


def result_rows(results: Any, structure: Any) -> list[dict[str, Any]]:
    """Map the engine's tidy results (one row per measure x period bucket x stratum) onto stored results,
    with display names and the parent of each stratum for drilling down."""
    rows = []
    for item in results.to_pylist():
        if item["grain"] not in REFRESH_GRAINS:
            continue
        dimension = item["stratifier"] or "all"
        if "+" in dimension:
            continue
        key = item["stratum"] if dimension != "all" else "all"
        key = "unknown" if key in (None, "") else str(key)
        labels = structure.labels.get(dimension, {})
        label = (
            "Whole organisation"
            if dimension == "all"
            else labels.get(key, key.replace("-", " ").capitalize() if dimension != "age_band" else key)
        )
        parent = structure.parents.get(dimension, {}).get(key, "")
        scoring = item["scoring"]
        if scoring == "ratio":
            numerator = _finite(item["numerator_observation"]) or float(item["numerator"] or 0)
            denominator = _finite(item["denominator_observation"]) or 0.0
        elif scoring == "continuous-variable":
            numerator = _finite(item["observation_sum"]) or 0.0
            denominator = float(item["observation_count"] or 0)
        else:
            # FHIR proportion scoring: the rate's denominator excludes exclusions and exceptions.
            numerator = float((item["numerator"] or 0) - (item["numerator_exclusion"] or 0))
            denominator = float(
                (item["denominator"] or 0) - (item["denominator_exclusion"] or 0) - (item["denominator_exception"] or 0)
            )
        calculable = item["status"] != "not calculable"
        # The engine scales percentages by 100; the store keeps proportions as fractions (targets, funnels).
        scale = 100.0 if item["rate_unit"] == "%" else 1.0
        rows.append(
            {
                "measure_id": item["measure_id"],
                "version": item["measure_version"],
                "grain": item["grain"],
                "period_start": item["period_start"],
                "period_end": item["period_end"],
                "dimension": dimension,
                "stratum_key": key[:120],
                "stratum_label": str(label)[:200],
                "parent_key": parent[:120],
                "initial_population": int(item["initial_population"] or 0),
                "denominator": denominator,
                "denominator_exclusion": int(item["denominator_exclusion"] or 0),
                "numerator": numerator,
                "rate": _scaled(item["score"], scale) if calculable else None,
                "rate_low": _scaled(item["score_lower"], scale) if calculable else None,
                "rate_high": _scaled(item["score_upper"], scale) if calculable else None,
                "observed": _finite(item["observed"]),
                "expected": _finite(item["expected"]),
                "oe_ratio": _finite(item["oe_ratio"]) if calculable else None,
                "oe_low": _finite(item["oe_lower"]) if calculable else None,
                "oe_high": _finite(item["oe_upper"]) if calculable else None,
                "calculable": calculable,
                "reason": (item["reason"] or "")[:200],
            }
        )
    return rows


def do_refresh_measures(
    *,
    warehouse: str,
    period: str,
    reference_period: str | None = None,
    stratifiers: Sequence[str] = REFRESH_STRATIFIERS,
    actor: User | None,
) -> MeasureRefresh:
    """Evaluate every registered measure on the warehouse for ``period`` by month, quarter and year and every
    dimension, store the results for the pages, and raise the signals they show. A failure is recorded on the
    refresh and re-raised; the results stored before stay as they were."""
    from medgov.analytics import api as analytics
    from medgov.governance.quality import detection

    _require(actor, "quality.manage_targets")
    refresh = do_start_refresh(warehouse=warehouse, actor=actor)
    try:
        infos = analytics.list_measures()
        measures = do_register_measures(
            [
                MeasureDescription(
                    measure_id=info.id,
                    version=info.version,
                    title=info.title,
                    description=info.description,
                    rationale=info.rationale,
                    source=info.source,
                    scoring=info.scoring,
                    improvement_direction=info.improvement_notation,
                    unit_label=info.rate_unit,
                    is_headline=info.id in HEADLINE_MEASURES,
                )
                for info in infos
            ],
            actor=actor,
        )
        run = analytics.run_measures(
            warehouse, period, grains=REFRESH_GRAINS, stratifiers=tuple(stratifiers), reference_period=reference_period
        )
        structure = analytics.organisation_structure(warehouse)
        do_store_results(refresh, result_rows(run.results, structure), actor=actor)
        candidates = [candidate for measure in measures for candidate in detection.detect(measure)]
        raised = do_raise_signals(candidates, refresh=refresh, actor=actor)
    except Exception as error:
        do_finish_refresh(refresh, error=str(error) or error.__class__.__name__, actor=actor)
        raise
    return do_finish_refresh(refresh, signal_count=len(raised), actor=actor)
