"""Patient-safety sections: confirmed sentinel events with the state of their root-cause analyses, and serious
safety events by category with small counts suppressed.

Nothing that could identify a patient leaves the safety app here: no MRN, no description or other free text,
no unit, no exact date (the month only) and no reporter. Serious-event counts go through the analytics facade's
small-cell suppression (counts 1 to 10, and complements so none is derivable by subtraction).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone

from medgov.analytics import api as analytics
from medgov.governance.reports import formatting
from medgov.governance.reports.rules import Quarter
from medgov.governance.reports.sections import Section, section
from medgov.governance.safety.choices import (
    ActionStatus,
    ActionStrength,
    EventCategory,
    EventClass,
    EventStatus,
    HarmLevel,
    RcaStatus,
)
from medgov.governance.safety.models import RootCauseAnalysis, SafetyEvent

# Serious safety events: incidents that reached the patient and caused moderate or severe harm or death
# (AHRQ Common Formats Harm Scale, as the HPI Safety Event Classification counts them).
SERIOUS_HARM = (HarmLevel.DEATH, HarmLevel.SEVERE, HarmLevel.MODERATE)


def _quarter_bounds(quarter: Quarter) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(quarter.start, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(quarter.next().start, dt.time.min, tzinfo=zone)
    return start, end


def _reported_events() -> Any:
    return SafetyEvent.objects.filter(deleted_at__isnull=True).exclude(status=EventStatus.DRAFT)


@section(
    "safety_sentinel",
    title="Sentinel events and root-cause analyses",
    order=40,
    requires_app="medgov.governance.safety",
)
def sentinel_events(quarter: Quarter) -> Section:
    """Confirmed sentinel events that occurred or were confirmed in the quarter, and earlier ones whose RCA was
    still open during it. The RCA state is as of generation (frozen in the snapshot)."""
    start, end = _quarter_bounds(quarter)
    events = (
        _reported_events()
        .filter(is_sentinel_confirmed=True, occurred_at__lt=end)
        .filter(
            Q(occurred_at__gte=start)
            | Q(sentinel_confirmed_at__gte=start, sentinel_confirmed_at__lt=end)
            | Q(rca__status=RcaStatus.OPEN)
            | Q(rca__closed_at__gte=start)
        )
        .select_related("rca")
        .prefetch_related("rca__actions")
        .order_by("occurred_at", "id")
    )
    today = timezone.localdate()
    rows = []
    for event in events:
        rca: RootCauseAnalysis | None = getattr(event, "rca", None)
        actions = list(rca.actions.all()) if rca is not None else []
        overdue = rca is not None and rca.status == RcaStatus.OPEN and rca.due_on < today
        rows.append(
            {
                "reference": event.reference,
                "month": f"{timezone.localtime(event.occurred_at):%Y-%m}",
                "type": event.get_sentinel_type_display() or event.get_harm_level_display() or "Sentinel event",
                "category": event.get_category_display(),
                "rca_status": "no RCA opened"
                if rca is None
                else ("open, overdue" if overdue else rca.get_status_display().lower()),
                "rca_due_on": rca.due_on.isoformat() if rca is not None else "",
                "actions": len(actions),
                "actions_implemented": sum(1 for action in actions if action.status == ActionStatus.IMPLEMENTED),
                "actions_stronger": sum(1 for action in actions if action.strength == ActionStrength.STRONGER),
            }
        )
    return Section(
        "safety_sentinel",
        "Sentinel events and root-cause analyses",
        {"rows": rows, "as_of": today.isoformat()},
    )


@section("safety_serious", title="Serious safety events", order=50, requires_app="medgov.governance.safety")
def serious_events(quarter: Quarter) -> Section:
    """Incidents that occurred in the quarter, by category: how many were reported and how many were serious."""
    start, end = _quarter_bounds(quarter)
    incidents = _reported_events().filter(event_class=EventClass.INCIDENT, occurred_at__gte=start, occurred_at__lt=end)
    reported = dict.fromkeys(EventCategory.values, 0)
    serious = dict.fromkeys(EventCategory.values, 0)
    for category, harm in incidents.values_list("category", "harm_level"):
        reported[category] += 1
        if harm in SERIOUS_HARM:
            serious[category] += 1
    categories = [value for value in EventCategory.values if reported[value]]
    labels = [EventCategory(value).label for value in categories]
    shown = (
        analytics.suppress_small_cells(
            labels, [serious[value] for value in categories], [reported[value] for value in categories]
        )
        if categories
        else ()
    )
    rows = [
        {"category": row.label, "reported": row.denominator, "serious": row.numerator, "percent": row.rate}
        for row in shown
    ]
    total_reported = sum(reported.values())
    total_serious = sum(serious.values())
    return Section(
        "safety_serious",
        "Serious safety events",
        {
            "rows": rows,
            "total_reported": _primary_suppressed(total_reported),
            "total_serious": _primary_suppressed(total_serious),
            "definition": "Incidents that reached the patient and caused moderate or severe harm or death (AHRQ "
            "Common Formats Harm Scale), by the quarter in which they occurred.",
        },
    )


def _primary_suppressed(count: int) -> str:
    # Totals count the same patients as the table; hiding a small one only hides more than the table needs.
    return formatting.SUPPRESSED if 1 <= count <= 10 else f"{count}"
