"""Reads of patient-safety records, each gated by who may see it.

Who sees an event (never a draft, except its author; never a removed one):
* its reporter: their own report as filed, its status and the follow-up messages ("reporter" access);
* the unit's manager: the unit's events ("manager" access);
* holders of ``safety.view_safety_dashboard`` (safety team, CMO): every event ("team" access);
* a sensitive event: only its named handlers, whatever their role; its reporter keeps "reporter" access.
The reporter of an anonymous report is unknown to everyone; of a protected one, known only to the safety team
(``safety.view_reporter_identity``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from medgov.analytics import api as analytics
from medgov.governance.core import audit
from medgov.governance.safety import rules
from medgov.governance.safety.choices import ActionStatus, EventCategory, EventStatus, HarmLevel, RcaStatus
from medgov.governance.safety.models import (
    EventAttachment,
    JustCultureReview,
    RcaAction,
    RootCauseAnalysis,
    SafetyEvent,
    Unit,
)


class Access(IntEnum):
    REPORTER = 1
    MANAGER = 2
    TEAM = 3


def _live() -> QuerySet[SafetyEvent]:
    return SafetyEvent.objects.filter(deleted_at__isnull=True).select_related("unit")


def _shared_with(user: Any) -> Q:
    """Submitted events the user may see beyond their own reports."""
    not_sensitive = Q(is_sensitive=False)
    q = Q(is_sensitive=True, handlers=user)
    if user.has_perm("safety.view_safety_dashboard"):
        q |= not_sensitive
    else:
        q |= not_sensitive & Q(unit__manager=user)
    return q & ~Q(status=EventStatus.DRAFT)


def events_visible_to(user: Any) -> QuerySet[SafetyEvent]:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    may_report_or_review = user.has_perm("safety.report_event") or user.has_perm("safety.view_safety_dashboard")
    if not may_report_or_review and not (
        Unit.objects.filter(manager=user).exists() or user.handled_safety_events.exists()
    ):
        raise PermissionDenied
    ids = _live().filter(Q(reporter=user) | _shared_with(user)).values("pk")
    return _live().filter(pk__in=ids)


def shared_events_visible_to(user: Any) -> QuerySet[SafetyEvent]:
    """Events the user sees as manager, handler or safety team (the work list), without their own-only ones."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    ids = _live().filter(_shared_with(user)).values("pk")
    return _live().filter(pk__in=ids)


def own_reports(user: Any) -> QuerySet[SafetyEvent]:
    if not getattr(user, "is_authenticated", False) or not user.has_perm("safety.report_event"):
        raise PermissionDenied
    return _live().filter(reporter=user)


def access_of(user: Any, event: SafetyEvent) -> Access | None:
    if event.deleted_at is not None or not getattr(user, "is_authenticated", False):
        return None
    if event.status != EventStatus.DRAFT:
        if event.is_sensitive:
            if event.handlers.filter(pk=user.pk).exists():
                return Access.TEAM if user.has_perm("safety.view_safety_dashboard") else Access.MANAGER
        elif user.has_perm("safety.view_safety_dashboard"):
            return Access.TEAM
        elif event.unit.manager_id == user.pk:
            return Access.MANAGER
    if event.reporter_id is not None and event.reporter_id == user.pk:
        return Access.REPORTER
    return None


@dataclass(frozen=True)
class EventAccess:
    event: SafetyEvent
    access: Access

    @property
    def is_team(self) -> bool:
        return self.access is Access.TEAM


def access_event_by_id(
    user: Any, event_id: int, *, minimum: Access = Access.REPORTER, audit_read: bool = True
) -> EventAccess:
    """The event and the caller's access to it; Http404 alike for missing and forbidden.

    Reads by anyone but the reporter are audited (patient-safety work product is confidential); the reporter's
    own reads are not, as they would tie a protected reporter to the report in the audit trail.
    """
    event = _live().filter(pk=event_id).first()
    access = access_of(user, event) if event is not None else None
    if event is None or access is None or access < minimum:
        raise Http404
    if audit_read and access is not Access.REPORTER:
        with transaction.atomic():
            audit.record(actor=user, action="safety_event.read", target=event, is_read=True)
    return EventAccess(event, access)


def access_own_draft(user: Any, event_id: int) -> SafetyEvent:
    event = _live().filter(pk=event_id, reporter=user, status=EventStatus.DRAFT).first()
    if event is None:
        raise Http404
    return event


def can_see_reporter(user: Any, event: SafetyEvent, access: Access) -> bool:
    if event.is_anonymous or event.reporter_id is None:
        return False
    if event.reporter_id == user.pk:
        return True
    if event.protect_identity:
        return access is Access.TEAM and bool(user.has_perm("safety.view_reporter_identity"))
    return access >= Access.MANAGER


def reporter_label(user: Any, event: SafetyEvent, access: Access) -> str:
    if event.is_anonymous:
        return "Anonymous"
    if can_see_reporter(user, event, access):
        assert event.reporter is not None
        return str(event.reporter) + (" (identity protected)" if event.protect_identity else "")
    return "Identity protected"


def access_attachment(user: Any, event_id: int, attachment_id: int) -> EventAttachment:
    granted = access_event_by_id(user, event_id, audit_read=False)
    attachment = EventAttachment.objects.filter(pk=attachment_id, event=granted.event).first()
    if attachment is None:
        raise Http404
    return attachment


def access_rca(user: Any, event_id: int) -> RootCauseAnalysis:
    granted = access_event_by_id(user, event_id, minimum=Access.TEAM)
    rca = RootCauseAnalysis.objects.filter(event=granted.event).select_related("event", "leader").first()
    if rca is None:
        raise Http404
    return rca


def access_action_by_id(user: Any, action_id: int) -> RcaAction:
    action = RcaAction.objects.select_related("rca__event", "owner").filter(pk=action_id).first()
    if action is None:
        raise Http404
    event = action.rca.event
    access = access_of(user, event)
    if access is not Access.TEAM and action.owner_id != user.pk:
        raise Http404
    return action


def just_culture_reviews_for(user: Any, event: SafetyEvent) -> QuerySet[JustCultureReview]:
    if not getattr(user, "is_authenticated", False) or not user.has_perm("safety.lead_safety_programme"):
        raise PermissionDenied
    return JustCultureReview.objects.filter(event=event).order_by("created_at")


def units() -> QuerySet[Unit]:
    return Unit.objects.filter(is_active=True).order_by("hospital", "name")


def holiday_dates() -> frozenset[dt.date]:
    from medgov.governance.safety.services import holidays

    return holidays()


# --- Work lists ----------------------------------------------------------------------------------------------


def triage_queue(user: Any) -> QuerySet[SafetyEvent]:
    return shared_events_visible_to(user).filter(status=EventStatus.SUBMITTED).order_by("submitted_at")


def overdue_triage(today: dt.date | None = None) -> list[SafetyEvent]:
    """Submitted events not triaged within the configured business days (system read, for reminders)."""
    today = today or timezone.localdate()
    days = settings.MEDGOV_SAFETY_TRIAGE_BUSINESS_DAYS
    calendar = holiday_dates()
    return [
        event
        for event in _live().filter(status=EventStatus.SUBMITTED, submitted_at__isnull=False)
        if event.submitted_at is not None
        and rules.triage_is_overdue(timezone.localdate(event.submitted_at), today, days, calendar)
    ]


def overdue_rcas(today: dt.date | None = None) -> QuerySet[RootCauseAnalysis]:
    today = today or timezone.localdate()
    return RootCauseAnalysis.objects.filter(
        status=RcaStatus.OPEN, due_on__lt=today, event__deleted_at__isnull=True
    ).select_related("event", "leader")


def overdue_actions(today: dt.date | None = None) -> QuerySet[RcaAction]:
    today = today or timezone.localdate()
    return (
        RcaAction.objects.filter(due_on__lt=today, rca__event__deleted_at__isnull=True)
        .exclude(status=ActionStatus.IMPLEMENTED)
        .select_related("rca__event", "owner")
    )


def rcas_visible_to(user: Any) -> QuerySet[RootCauseAnalysis]:
    if not getattr(user, "is_authenticated", False) or not user.has_perm("safety.view_safety_dashboard"):
        raise PermissionDenied
    visible = shared_events_visible_to(user).values("pk")
    return RootCauseAnalysis.objects.filter(event__in=visible).select_related("event", "event__unit", "leader")


def actions_visible_to(user: Any) -> QuerySet[RcaAction]:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    if user.has_perm("safety.view_safety_dashboard"):
        visible = shared_events_visible_to(user).values("pk")
        return RcaAction.objects.filter(rca__event__in=visible).select_related("rca__event", "owner")
    return RcaAction.objects.filter(owner=user, rca__event__deleted_at__isnull=True).select_related(
        "rca__event", "owner"
    )


# --- Trends --------------------------------------------------------------------------------------------------


def _months_before(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months = []
    current = first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


@dataclass(frozen=True)
class TrendSeries:
    label: str
    months: tuple[dt.date, ...]
    counts: tuple[int, ...]
    patient_days: tuple[float, ...] | None
    chart: analytics.ControlChart
    category: str = ""

    @property
    def signal(self) -> bool:
        return self.chart.special_cause

    @property
    def total(self) -> int:
        return sum(self.counts)


def _patient_days(unit_filter: Unit | None, months: list[dt.date]) -> tuple[tuple[float, ...] | None, str]:
    locations = [
        u.warehouse_location_id for u in ([unit_filter] if unit_filter else units()) if u.warehouse_location_id
    ]
    if not locations:
        return None, "Units are not linked to warehouse locations, so rates per 1,000 patient days are not available."
    try:
        days = analytics.patient_days_by_location_month(
            Path(settings.MEDGOV_WAREHOUSE), locations, months[0], months[-1]
        )
    except analytics.WarehouseUnavailable as error:
        return None, f"Rates per 1,000 patient days are not available: {error}."
    series = tuple(sum(value for (location, month), value in days.items() if month == m) for m in months)
    if not any(series):
        return None, "The warehouse has no inpatient days for these units and months."
    return series, ""


def event_trends(
    user: Any,
    *,
    months: int = 24,
    category: str = "",
    unit: Unit | None = None,
    harm: str = "",
    today: dt.date | None = None,
) -> tuple[TrendSeries, str]:
    """Monthly counts of submitted events (filtered by category, unit and harm) on an SPC chart: a U chart of
    events per 1,000 patient days when the warehouse gives patient days, else a C chart of counts."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("safety.view_safety_dashboard"):
        raise PermissionDenied
    today = today or timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)  # the last complete month
    first = _months_before(last.replace(day=1), months - 1)
    month_list = _month_starts(first, last)
    events = _live().exclude(status=EventStatus.DRAFT).filter(occurred_at__date__gte=first, occurred_at__date__lte=last)
    labels = []
    if category:
        events = events.filter(category=category)
        labels.append(EventCategory(category).label)
    if unit is not None:
        events = events.filter(unit=unit)
        labels.append(unit.name)
    if harm:
        events = events.filter(Q(harm_level=harm) | Q(harm_level="", reported_harm=harm))
        labels.append(HarmLevel(harm).label)
    counted = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: row["n"]
        for row in events.annotate(month=TruncMonth("occurred_at")).values("month").annotate(n=Count("id"))
    }
    counts = tuple(int(counted.get(m, 0)) for m in month_list)
    patient_days, note = _patient_days(unit, month_list)
    chart = analytics.event_count_chart(counts, patient_days)
    series = TrendSeries(
        label=", ".join(labels) or "All events",
        months=tuple(month_list),
        counts=counts,
        patient_days=patient_days,
        chart=chart,
        category=category,
    )
    return series, note


def category_signals(user: Any, *, months: int = 24, today: dt.date | None = None) -> list[TrendSeries]:
    """One series per category, so a shift in any category shows as a signal."""
    return [event_trends(user, months=months, category=value, today=today)[0] for value in EventCategory.values]


def action_effect(action: RcaAction, *, today: dt.date | None = None) -> analytics.EffectVerification | None:
    """The SPC verification of an implemented action whose measure is a safety-event series
    (measure id ``safety-events``, stratum ``category:<c>`` and/or ``unit:<code>``, joined by ``/``).

    Catalogue measures are verified the same way once measure results are stored; None when no series is known.
    """
    if action.implemented_on is None or action.measure_id != "safety-events":
        return None
    stratum = dict(part.split(":", 1) for part in action.measure_stratum.split("/") if ":" in part)
    today = today or timezone.localdate()
    last = today.replace(day=1) - dt.timedelta(days=1)
    first = _months_before(action.implemented_on.replace(day=1), 12)
    month_list = _month_starts(first, last)
    events = _live().exclude(status=EventStatus.DRAFT).filter(occurred_at__date__gte=first, occurred_at__date__lte=last)
    if stratum.get("category"):
        events = events.filter(category=stratum["category"])
    if stratum.get("unit"):
        events = events.filter(unit__code=stratum["unit"])
    counted = {
        row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]: row["n"]
        for row in events.annotate(month=TruncMonth("occurred_at")).values("month").annotate(n=Count("id"))
    }
    counts = [float(counted.get(m, 0)) for m in month_list]
    # Months before the first recorded event are "no data yet", not zero events.
    first_with_data = next((index for index, count in enumerate(counts) if count > 0), 0)
    month_list, counts = month_list[first_with_data:], counts[first_with_data:]
    implemented_month = action.implemented_on.replace(day=1)
    change_index = month_list.index(implemented_month) if implemented_month in month_list else len(month_list)
    if change_index < 1:
        return None
    return analytics.verify_effect(counts, change_index, improvement="decrease", chart="c")
