"""Background work of the reports app, run by the task worker (``medgov worker``)."""

from __future__ import annotations

from django.tasks import task
from django.utils import timezone

from medgov.governance.reports import services
from medgov.governance.reports.models import BoardReport
from medgov.governance.reports.rules import last_complete_quarter, parse_quarter


@task()
def generate_board_report(report_id: int) -> int:
    """Generate a requested board report, on behalf of whoever requested it (the system if nobody did)."""
    report = BoardReport.objects.select_related("requested_by").get(pk=report_id)
    services.do_generate_board_report(report, actor=report.requested_by)
    return report_id


@task()
def generate_quarterly_board_report(quarter: str = "") -> int:
    """For a scheduler: request and generate the board report of ``quarter`` (``2026Q3``), by default the last
    complete quarter. Returns the report's id."""
    chosen = parse_quarter(quarter) if quarter else last_complete_quarter(timezone.localdate())
    report = services.do_request_board_report(chosen, actor=None, scheduled=True, enqueue=False)
    services.do_generate_board_report(report, actor=None)
    return report.pk
