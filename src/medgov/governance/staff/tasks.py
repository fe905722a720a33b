"""Scheduled work of the medical staff office, run by ``medgov worker`` from the task queue.

``daily_staff_scan`` is enqueued once a day (``medgov staff scan`` from cron, or the scheduler of the deployment).
"""

from __future__ import annotations

from typing import Any

from django.tasks import task
from django.utils import timezone

from medgov.governance.staff import services


@task
def daily_staff_scan() -> dict[str, Any]:
    """Reminders, suspensions on credential lapse, ended temporary/disaster privileges, reappointment applications,
    disaster-privilege clock reminders."""
    now = timezone.now()
    today = timezone.localdate(now)
    return {
        "date": today.isoformat(),
        "reminders": services.do_send_expiry_reminders(today=today),
        "suspended": services.do_enforce_all_credential_lapses(today=today),
        "grants_ended": services.do_end_lapsed_special_grants(now=now),
        "reappointment_applications": services.do_send_reappointment_applications(today=today),
        "disaster_clock_reminders": services.do_send_disaster_clock_reminders(now=now),
    }


@task
def disaster_clock_scan() -> dict[str, Any]:
    """During an emergency activation, hourly: last-day reminders of the 72-hour clocks, overdue grants ended."""
    now = timezone.now()
    return {
        "at": now.isoformat(),
        "disaster_clock_reminders": services.do_send_disaster_clock_reminders(now=now),
        "grants_ended": services.do_end_lapsed_special_grants(now=now),
    }


@task
def record_due_oppe() -> dict[str, Any]:
    """OPPE profiles for every privileged practitioner due, from the measure engine on the clinical warehouse."""
    from pathlib import Path

    from django.conf import settings

    report = services.do_record_due_oppe(
        warehouse=Path(settings.MEDGOV_WAREHOUSE), today=timezone.localdate(), actor=None
    )
    return {
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "recorded": report.recorded,
        "skipped": list(report.skipped),
    }
