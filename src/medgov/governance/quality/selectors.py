"""Gated reads of quality data. Missing and forbidden answer alike (Http404)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from medgov.governance.quality.choices import SignalState
from medgov.governance.quality.models import Measure, MeasureResult, Signal, Target


def _can_view(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("quality.view_quality"))


def measures_visible_to(user: Any) -> QuerySet[Measure]:
    if not _can_view(user):
        raise PermissionDenied
    return Measure.objects.filter(is_current=True)


def access_measure_by_id(user: Any, measure_id: str) -> Measure:
    try:
        return measures_visible_to(user).get(measure_id=measure_id)
    except (PermissionDenied, Measure.DoesNotExist):
        raise Http404 from None


def results_visible_to(user: Any, measure: Measure) -> QuerySet[MeasureResult]:
    if not _can_view(user):
        raise PermissionDenied
    return MeasureResult.objects.filter(measure=measure)


def signals_visible_to(user: Any, *, open_only: bool = False) -> QuerySet[Signal]:
    if not _can_view(user):
        raise PermissionDenied
    signals = Signal.objects.select_related("measure")
    if open_only:
        signals = signals.exclude(state=SignalState.CLOSED)
    return signals


def access_signal_by_id(user: Any, signal_id: int) -> Signal:
    try:
        return signals_visible_to(user).get(pk=signal_id)
    except (PermissionDenied, Signal.DoesNotExist):
        raise Http404 from None


def targets_for(user: Any, measure: Measure) -> QuerySet[Target]:
    if not _can_view(user):
        raise PermissionDenied
    return Target.objects.filter(measure=measure).select_related("owner").prefetch_related("changes")
