"""The only writers of board reports: request one, generate it (snapshot + PDF), and record who read it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from medgov.governance.accounts.models import User
from medgov.governance.core import audit
from medgov.governance.core.permissions import require_permissions as _require
from medgov.governance.quality.models import MeasureRefresh
from medgov.governance.reports import render
from medgov.governance.reports.choices import ReportStatus
from medgov.governance.reports.models import BoardReport
from medgov.governance.reports.rules import Quarter, parse_quarter
from medgov.governance.reports.sections import build_snapshot


def do_request_board_report(
    quarter: Quarter, *, actor: User | None, scheduled: bool = False, enqueue: bool = True
) -> BoardReport:
    """Create a queued board report for ``quarter``; with ``enqueue`` the task that generates it is queued
    once this transaction commits, so the request that asked for it never waits for it."""
    _require(actor, "reports.generate_board_report")
    with transaction.atomic():
        report = BoardReport.objects.create(
            quarter=quarter.code,
            period_start=quarter.start,
            period_end=quarter.end,
            requested_by=actor,
            scheduled=scheduled,
            progress_label="waiting for a worker" if enqueue else "",
            created_by=actor,
            updated_by=actor,
        )
        audit.record(
            actor=actor,
            action="board_report.request",
            target=report,
            before=None,
            after={"quarter": quarter.code, "scheduled": scheduled},
        )
        if enqueue:
            report_id = report.pk
            transaction.on_commit(lambda: _enqueue_generation(report_id))
    return report


def _enqueue_generation(report_id: int) -> None:
    from medgov.governance.reports.tasks import generate_board_report

    result = generate_board_report.enqueue(report_id)
    # Bookkeeping only (which queue entry works on it), not a change of the report's content.
    BoardReport.objects.filter(pk=report_id, task_result_id="").update(task_result_id=str(result.id))


def _set_progress(report_id: int, percent: int, label: str) -> None:
    # Committed on its own (outside the generation's final transaction) so that pages polling the report see it.
    BoardReport.objects.filter(pk=report_id).update(progress=max(0, min(100, percent)), progress_label=label[:120])


def do_generate_board_report(
    report: BoardReport, *, actor: User | None, on_progress: Callable[[int, str], None] | None = None
) -> BoardReport:
    """Assemble the sections, freeze them as the snapshot, lay out the PDF and store both.

    Runs in the task worker. A report that is not queued (already generated, or being generated) is refused,
    so a retried task never replaces a stored report. ``on_progress`` also hears each step (per cent, label),
    e.g. for a progress bar on the command line.
    """
    _require(actor, "reports.generate_board_report")
    with transaction.atomic():
        locked = BoardReport.objects.select_for_update(of=("self",)).get(pk=report.pk)
        if locked.status != ReportStatus.QUEUED:
            raise ValidationError(f"board report #{locked.pk} is {locked.get_status_display().lower()}, not queued")
        locked.status = ReportStatus.RUNNING
        locked.progress = 2
        locked.progress_label = "starting"
        locked.save(update_fields=["status", "progress", "progress_label", "updated_at"])
    quarter = parse_quarter(locked.quarter)
    started = time.perf_counter()
    generated_at = timezone.now()

    def step(percent: int, label: str) -> None:
        _set_progress(locked.pk, percent, label)
        if on_progress is not None:
            on_progress(percent, label)

    def section_done(done: int, total: int, label: str) -> None:
        step(5 + int(75 * done / max(total, 1)), label)

    try:
        snapshot = build_snapshot(quarter, on_progress=section_done)
        snapshot["generated_at"] = generated_at.isoformat()
        step(85, "laying out the PDF")
        html = render.report_html(snapshot, report_id=locked.pk, generated_at=f"{generated_at:%Y-%m-%d %H:%M %Z}")
        pdf = render.report_pdf(html)
    except Exception as error:
        _record_failure(locked, actor, error)
        raise
    seconds = time.perf_counter() - started
    refresh_ids: list[int] = snapshot["measure_refreshes"]
    with transaction.atomic():
        locked = BoardReport.objects.select_for_update(of=("self",)).get(pk=locked.pk)
        locked.snapshot = snapshot
        locked.measure_refresh = MeasureRefresh.objects.filter(pk__in=refresh_ids).order_by("-started_at").first()
        locked.pdf.save(f"board-report-{quarter.code}-{locked.pk}.pdf", ContentFile(pdf), save=False)
        locked.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        locked.generated_at = generated_at
        locked.generation_seconds = round(seconds, 3)
        locked.status = ReportStatus.SUCCEEDED
        locked.progress = 100
        locked.progress_label = "ready"
        locked.updated_by = actor
        locked.full_clean(exclude=["snapshot", "pdf"])
        locked.save()
        audit.record(
            actor=actor,
            action="board_report.generate",
            target=locked,
            before={"status": ReportStatus.RUNNING},
            after={
                "status": ReportStatus.SUCCEEDED,
                "quarter": quarter.code,
                "measure_refreshes": refresh_ids,
                "sections": [item["key"] for item in snapshot["sections"]],
                "pdf_sha256": locked.pdf_sha256,
            },
        )
    if on_progress is not None:
        on_progress(100, "ready")
    return locked


def _record_failure(report: BoardReport, actor: User | None, error: Exception) -> None:
    message = f"{type(error).__name__}: {error}"[:2000]
    with transaction.atomic():
        BoardReport.objects.filter(pk=report.pk).update(
            status=ReportStatus.FAILED, error=message, progress_label="failed", updated_at=timezone.now()
        )
        audit.record(
            actor=actor,
            action="board_report.fail",
            target=report,
            before={"status": ReportStatus.RUNNING},
            after={"status": ReportStatus.FAILED, "error": message},
        )


def record_board_report_read(report: BoardReport, *, actor: User, what: str) -> None:
    """Audit a read of a stored report (it holds patient-safety work product): ``what`` is ``pdf`` or ``html``."""
    _require(actor, "reports.view_board_report")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=f"board_report.read_{what}",
            target=report,
            before=None,
            after={"quarter": report.quarter},
            is_read=True,
        )


def snapshot_for_preview(quarter: Quarter, *, actor: User) -> dict[str, Any]:
    """The report as it would be generated now, for the HTML preview (nothing is stored)."""
    _require(actor, "reports.view_board_report")
    snapshot = build_snapshot(quarter)
    snapshot["generated_at"] = timezone.now().isoformat()
    return snapshot
