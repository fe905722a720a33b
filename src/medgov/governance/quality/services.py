"""The only writers of quality data: measure results, targets and signals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from medgov.governance.accounts.models import User
from medgov.governance.core import audit
from medgov.governance.quality.choices import (
    ImprovementDirection,
    RefreshStatus,
    SignalDirection,
    SignalKind,
    SignalState,
)
from medgov.governance.quality.models import Measure, MeasureRefresh, MeasureResult, Signal, Target, TargetChange


def _require(actor: User | None, permission: str) -> None:
    # actor None is the system itself (scheduled refresh, command line on the server).
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDenied


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
        locked = Signal.objects.select_for_update().get(pk=signal.pk)
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
            Target.objects.select_for_update()
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
