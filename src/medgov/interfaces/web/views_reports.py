"""Board report pages: choose a quarter, read the report, generate its PDF in the background and download it.

Generating never blocks the request: the button queues a task and the page polls the report's progress (HTMX).
Stored reports render from their snapshot, so they read the same after the data are refreshed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST, require_safe

from medgov.governance.accounts.models import User
from medgov.governance.reports import selectors, services
from medgov.governance.reports.rules import InvalidQuarter, Quarter, last_complete_quarter, parse_quarter
from medgov.interfaces.web import charts, exports

QUARTERS_OFFERED = 8


@dataclass(frozen=True)
class StoredChart:
    """A chart contract rebuilt from a snapshot, in the shape :func:`charts.spc_figure` reads."""

    values: tuple[float | None, ...]
    mean: tuple[float | None, ...]
    lower_process_limit: tuple[float | None, ...]
    upper_process_limit: tuple[float | None, ...]
    point_type: tuple[str, ...]
    reason: str


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _quarter_or_404(text: str) -> Quarter:
    try:
        return parse_quarter(text)
    except InvalidQuarter:
        raise Http404 from None


def _offered_quarters() -> list[Quarter]:
    latest = last_complete_quarter(timezone.localdate())
    quarters = [latest.next(), latest]
    while len(quarters) < QUARTERS_OFFERED:
        quarters.append(quarters[-1].previous())
    return quarters


@require_safe
def home(request: HttpRequest) -> HttpResponseBase:
    reports = selectors.board_reports_visible_to(request.user)
    if "quarter" in request.GET:
        try:
            return redirect("reports:board", quarter=parse_quarter(request.GET["quarter"]).code)
        except InvalidQuarter as error:
            messages.error(request, str(error))
    export = exports.export_if_requested(request, lambda: board_reports_table(reports))
    if export is not None:
        return export
    return render(
        request,
        "reports/home.html",
        {
            "reports": reports[:50],
            "quarters": _offered_quarters(),
            "default_quarter": last_complete_quarter(timezone.localdate()),
            "can_generate": selectors.can_generate_board_reports(request.user),
        },
    )


def board_reports_table(reports: Any) -> exports.ExportTable:
    """Every stored report the viewer may see (the page lists the latest 50)."""
    rows = (
        (
            str(report.quarter),
            f"{timezone.localtime(report.created_at):%Y-%m-%d %H:%M}",
            "schedule" if report.scheduled else str(report.requested_by or "system"),
            report.get_status_display(),
            report.measure_refresh_id,
            "available" if report.can_download else "",
        )
        for report in reports
    )
    return exports.ExportTable(
        "board-reports",
        ("Quarter", "Requested", "By", "Status", "Measure refresh", "Report"),
        rows,
        "Board reports",
        object_type="reports.boardreport",
    )


def _sections_for_page(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The snapshot's sections, with Plotly figures for the web page built from the stored chart contracts."""
    sections = []
    for section in snapshot.get("sections", []):
        figures = []
        for index, chart in enumerate(section["data"].get("charts", [])):
            contract = StoredChart(
                values=tuple(chart["values"]),
                mean=tuple(chart["mean"]),
                lower_process_limit=tuple(chart["lower"]),
                upper_process_limit=tuple(chart["upper"]),
                point_type=tuple(chart["point_type"]),
                reason=chart.get("note", ""),
            )
            periods = [dt.date.fromisoformat(p) for p in chart["periods"]]
            figures.append(
                {
                    "figure": charts.spc_figure(
                        f"{section['key']}-{index}",
                        chart["title"],
                        periods,
                        contract,
                        scale=chart["scale"],
                        unit=chart["unit"],
                        target=chart["target"],
                    ),
                    "chart": chart,
                }
            )
        sections.append({**section, "figures": figures, "template": f"reports/sections/{section['key']}.html"})
    return sections


@require_safe
def board_report(request: HttpRequest, quarter: str) -> HttpResponse:
    """The report for ``quarter`` as it stands now, from the current results (nothing is stored)."""
    chosen = _quarter_or_404(quarter)
    if not selectors.can_view_board_reports(request.user):
        raise PermissionDenied
    snapshot = services.snapshot_for_preview(chosen, actor=_actor(request))
    return render(
        request,
        "reports/board_report.html",
        {
            "snapshot": snapshot,
            "sections": _sections_for_page(snapshot),
            "report": None,
            "quarter": chosen,
            "can_generate": selectors.can_generate_board_reports(request.user),
        },
    )


@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    if not selectors.can_generate_board_reports(request.user):
        raise PermissionDenied
    try:
        chosen = parse_quarter(request.POST.get("quarter", ""))
    except InvalidQuarter as error:
        if request.headers.get("HX-Request"):
            return HttpResponse(format_html('<p class="error" role="alert">{}</p>', str(error)), status=400)
        messages.error(request, str(error))
        return redirect("reports:home")
    report = services.do_request_board_report(chosen, actor=_actor(request))
    if request.headers.get("HX-Request"):
        return render(request, "reports/_progress.html", {"report": report})
    messages.success(request, f"The board report for {chosen.label} is being generated.")
    return redirect("reports:home")


@require_safe
def progress(request: HttpRequest, report_id: int) -> HttpResponse:
    report = selectors.access_board_report_by_id(request.user, report_id)
    return render(request, "reports/_progress.html", {"report": report})


@require_safe
def stored_report(request: HttpRequest, report_id: int) -> HttpResponse:
    report = selectors.access_board_report_by_id(request.user, report_id)
    if not report.can_download():
        raise Http404
    services.record_board_report_read(report, actor=_actor(request), what="html")
    return render(
        request,
        "reports/board_report.html",
        {
            "snapshot": report.snapshot,
            "sections": _sections_for_page(report.snapshot),
            "report": report,
            "quarter": parse_quarter(report.quarter),
            "can_generate": selectors.can_generate_board_reports(request.user),
        },
    )


@require_safe
def stored_pdf(request: HttpRequest, report_id: int) -> FileResponse:
    report = selectors.access_board_report_by_id(request.user, report_id)
    if not report.can_download():
        raise Http404
    services.record_board_report_read(report, actor=_actor(request), what="pdf")
    return FileResponse(
        report.pdf.open("rb"),
        as_attachment=True,
        filename=f"board-report-{report.quarter}-{report.pk}.pdf",
        content_type="application/pdf",
    )
