"""Background work of the safety app: reminders for overdue triage, RCAs and actions.

``send_safety_reminders`` is enqueued daily (``medgov safety-reminders``, e.g. from cron) and run by
``medgov worker``. Each overdue item is reminded at most once a day.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from medgov.governance.core import audit
from medgov.governance.core.notices import notify
from medgov.governance.safety import selectors, services
from medgov.governance.safety.models import RcaAction, RootCauseAnalysis, SafetyEvent


@task()
def send_safety_reminders(today_iso: str | None = None) -> dict[str, int]:
    today = dt.date.fromisoformat(today_iso) if today_iso else timezone.localdate()
    sent = {"triage": 0, "rca": 0, "action": 0}
    with transaction.atomic():
        for event in selectors.overdue_triage(today):
            if event.triage_reminded_on == today:
                continue
            recipients = (
                list(event.handlers.all()) if event.is_sensitive else [*services.safety_team(), event.unit.manager]
            )
            notify(
                recipients,
                subject=f"Triage overdue: {event.reference} ({event.get_category_display()}, {event.unit.name})",
                text=f"Reported on {timezone.localdate(event.submitted_at):%Y-%m-%d} and not yet triaged.",
                link=reverse("safety:event", args=[event.pk]),
            )
            SafetyEvent.objects.filter(pk=event.pk).update(triage_reminded_on=today)
            sent["triage"] += 1
        for rca in selectors.overdue_rcas(today).exclude(reminded_on=today):
            notify(
                [*rca.team.all(), rca.leader, *services.safety_leads()],
                subject=f"RCA overdue: {rca.event.reference} was due on {rca.due_on:%Y-%m-%d}",
                text="The comprehensive systematic analysis and its action plan are overdue.",
                link=reverse("safety:rca", args=[rca.event_id]),
            )
            RootCauseAnalysis.objects.filter(pk=rca.pk).update(reminded_on=today)
            sent["rca"] += 1
        for action in selectors.overdue_actions(today).exclude(reminded_on=today):
            recipients = [action.owner] if action.owner else [action.rca.leader]
            notify(
                recipients,
                subject=f"Action overdue ({action.rca.event.reference}): {action.description[:80]}",
                text=f"Due on {action.due_on:%Y-%m-%d}; mark it implemented or agree a new date with the RCA lead.",
                link=reverse("safety:action", args=[action.pk]),
            )
            RcaAction.objects.filter(pk=action.pk).update(reminded_on=today)
            sent["action"] += 1
        if any(sent.values()):
            audit.record(actor=None, action="safety.reminders_sent", object_type="safety.reminders", after=sent)
    return sent
