"""Table exports shared by every table page: ``?format=csv`` or ``?format=xlsx`` on the page's own URL.

A view builds an :class:`ExportTable` from the same rows it shows and returns :func:`export_if_requested` (a
page with several tables: :func:`export_one_of_if_requested` with ``?table=<name>``). Text cells are neutralised
against spreadsheet formula injection (OWASP "CSV injection": a cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is prefixed with an apostrophe), counts are suppressed for viewers who may only see
aggregate data (see :func:`suppression_required`), and every export is recorded in the audit trail as a read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse

from medgov.analytics import api as analytics
from medgov.governance.accounts.choices import Role
from medgov.governance.core import audit

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Characters that make a spreadsheet read a cell as a formula, including their full-width forms.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Control characters that the XLSX format cannot hold (openpyxl refuses them).
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f]")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

Cell = str | int | float | bool | dt.date | dt.datetime | None


@dataclass(frozen=True)
class ExportTable:
    name: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    sheet_title: str = "Export"
    # What the rows are (an app label and model), as the audit trail names the read.
    object_type: str = ""
    # False only where recording the read would itself disclose something (a reporter's own safety reports).
    audited: bool = True


def requested_format(request: HttpRequest) -> str | None:
    value = request.GET.get("format", "")
    return value if value in FORMATS else None


def neutralise(value: Cell) -> Cell:
    """A text cell that a spreadsheet would evaluate as a formula gets a leading apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _csv_value(value: Cell) -> str:
    cell = neutralise(value)
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()
    return str(cell)


def _xlsx_value(value: Cell) -> Cell:
    cell = neutralise(value)
    if isinstance(cell, str):
        return _ILLEGAL_XLSX.sub("", cell)
    if isinstance(cell, dt.datetime) and cell.tzinfo is not None:
        # Excel has no time zones: write the instant as ISO 8601 text with its offset.
        return cell.isoformat()
    return cell


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(table: ExportTable) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow([_csv_value(header) for header in table.headers])
        for row in table.rows:
            yield writer.writerow([_csv_value(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{_filename(table.name)}.csv"'
    return response


def xlsx_response(table: ExportTable) -> HttpResponse:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_SAFE_NAME.sub(" ", table.sheet_title)[:31] or "Export")
    sheet.append([_xlsx_value(header) for header in table.headers])
    for row in table.rows:
        sheet.append([_xlsx_value(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = f'attachment; filename="{_filename(table.name)}.xlsx"'
    return response


def export_response(table: ExportTable, export_format: str) -> HttpResponse | StreamingHttpResponse:
    if export_format == "xlsx":
        return xlsx_response(table)
    return csv_response(table)


def export_if_requested(
    request: HttpRequest, build: Callable[[], ExportTable]
) -> HttpResponse | StreamingHttpResponse | None:
    """The export the request asks for (``?format=csv|xlsx``), or None to render the page as usual."""
    export_format = requested_format(request)
    return audited_export_response(request, build(), export_format) if export_format else None


def audited_export_response(
    request: HttpRequest, table: ExportTable, export_format: str
) -> HttpResponse | StreamingHttpResponse:
    """The export, recorded in the audit trail as a read by the requesting user (unless the table says not)."""
    if table.audited:
        audit.record_export(
            request.user,
            object_type=table.object_type,
            table=table.name,
            export_format=export_format,
            filters=filters_of(request),
        )
    return export_response(table, export_format)


def export_one_of_if_requested(
    request: HttpRequest, builders: Mapping[str, Callable[[], ExportTable]]
) -> HttpResponse | StreamingHttpResponse | None:
    """The same for a page with several tables: ``?table=<name>`` picks one of ``builders`` (the first when the
    parameter is absent); an unknown name is a 400 that lists the page's tables."""
    if requested_format(request) is None:
        return None
    name = request.GET.get("table", "") or next(iter(builders))
    if name not in builders:
        return HttpResponseBadRequest(
            f"table: {name!r} is not a table of this page; choose one of {', '.join(builders)}.",
            content_type="text/plain; charset=utf-8",
        )
    return export_if_requested(request, builders[name])


def filters_of(request: HttpRequest) -> dict[str, str]:
    """The page's query parameters without pagination and export ones: the filters an export applies."""
    return {key: ", ".join(request.GET.getlist(key)) for key in request.GET if key not in {"format", "page", "table"}}


def querystring_of(request: HttpRequest) -> str:
    """The filters as a query string, for export links and pagination that keep them."""
    query = request.GET.copy()
    for key in ("format", "page", "table"):
        query.pop(key, None)
    return query.urlencode()


def _filename(name: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"medgov-{_SAFE_NAME.sub('-', name).strip('-')}-{stamp}"


def suppression_required(user: Any) -> bool:
    """Board members, and anyone who may not see patient-level data, get small counts suppressed."""
    if Role.BOARD_MEMBER.value in getattr(user, "role_names", []):
        return True
    return not user.has_perm("quality.view_phi")


@dataclass(frozen=True)
class CountRow:
    """One stratum's counts as exported: numbers, or the suppression marker text in place of a hidden count."""

    numerator: int | float | str
    denominator: int | float | str
    suppressed: bool


def counts_for(
    user: Any, labels: Sequence[str], numerators: Sequence[float], denominators: Sequence[float]
) -> list[CountRow]:
    """Numerators and denominators as the user may see them: suppressed through the analytics facade's
    small-cell rule (counts 1 to 10 and their complements) when :func:`suppression_required`."""
    if not suppression_required(user):
        return [CountRow(n, d, False) for n, d in zip(numerators, denominators, strict=True)]
    shown = analytics.suppress_small_cells(list(labels), list(numerators), list(denominators))
    return [CountRow(_as_number(row.numerator), _as_number(row.denominator), row.suppressed) for row in shown]


def _as_number(text: str) -> int | str:
    return int(text) if text.isdigit() else text
