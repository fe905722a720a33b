import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.quality import services as quality
from medgov.interfaces.web.exports import neutralise
from tests.governance.reports.conftest import MORTALITY
from tests.governance.reports.test_board_report import raise_signal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("Cardiology", "Cardiology"),
        ("a=b", "a=b"),
        (-5, -5),
        (0.25, 0.25),
        (None, None),
    ],
    ids=[
        "equals",
        "plus",
        "minus",
        "at",
        "tab",
        "carriage-return",
        "full-width-equals",
        "plain-text",
        "equals-inside",
        "negative-number",
        "float",
        "empty",
    ],
)
def test_formula_triggers_are_neutralised(value, expected):
    assert neutralise(value) == expected


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def xlsx_rows(response):
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows


@pytest.fixture
def departments(board_data):
    refresh = quality.do_start_refresh(warehouse="test.duckdb", actor=None)
    rows = []
    for key, label, numerator, denominator in (
        ("dept-a", "=cmd|' /C calc'!A0", 5, 100),
        ("dept-b", "Cardiology", 40, 400),
        ("dept-c", "Surgery", 60, 600),
    ):
        rows.append(
            {
                "measure_id": MORTALITY.measure_id,
                "version": MORTALITY.version,
                "grain": "year",
                "period_start": dt.date(2026, 1, 1),
                "period_end": dt.date(2026, 12, 31),
                "dimension": "department",
                "stratum_key": key,
                "stratum_label": label,
                "numerator": numerator,
                "denominator": denominator,
                "rate": numerator / denominator,
            }
        )
    quality.do_store_results(refresh, rows, actor=None)
    return rows


BREAKDOWN_HEADER = [
    "dimension",
    "stratum_key",
    "stratum",
    "year",
    "denominator",
    "numerator",
    "rate",
    "rate_low",
    "rate_high",
    "observed",
    "expected",
    "oe_ratio",
    "oe_low",
    "oe_high",
    "note",
]


def test_breakdown_csv_shows_counts_to_viewers_of_patient_data(departments, client_for):
    response = client_for(Role.CMO).get("/quality/measures/inpatient-mortality/?dimension=department&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-inpatient-mortality-by-department-')
    rows = csv_rows(response)
    assert rows[0] == BREAKDOWN_HEADER
    assert [row[2:7] for row in rows[1:]] == [
        ["'=cmd|' /C calc'!A0", "2026-01-01", "100.0", "5.0", "0.05"],
        ["Cardiology", "2026-01-01", "400.0", "40.0", "0.1"],
        ["Surgery", "2026-01-01", "600.0", "60.0", "0.1"],
    ]


@pytest.mark.parametrize("role", [Role.BOARD_MEMBER, Role.MEDICAL_STAFF_OFFICE], ids=lambda role: role.value)
def test_breakdown_exports_suppress_small_counts_and_their_complements(departments, client_for, role):
    client = client_for(role)
    rows = csv_rows(client.get("/quality/measures/inpatient-mortality/?dimension=department&format=csv"))
    assert [[row[2], row[4], row[5], row[6], row[14]] for row in rows[1:]] == [
        ["'=cmd|' /C calc'!A0", "100", "<11", "", "suppressed"],
        ["Cardiology", "400", "<11", "", "suppressed"],
        ["Surgery", "600", "60", "0.1", ""],
    ]
    sheet = xlsx_rows(client.get("/quality/measures/inpatient-mortality/?dimension=department&format=xlsx"))
    assert sheet[0] == BREAKDOWN_HEADER
    assert [[row[2], row[4], row[5], row[6]] for row in sheet[1:]] == [
        ["'=cmd|' /C calc'!A0", 100, "<11", None],
        ["Cardiology", 400, "<11", None],
        ["Surgery", 600, 60, 0.1],
    ]


def test_catalogue_exports(board_data, client_for):
    client = client_for(Role.QUALITY_SAFETY)
    rows = csv_rows(client.get("/quality/?format=csv"))
    assert rows[0] == [
        "measure_id",
        "version",
        "title",
        "source",
        "better_when",
        "latest_year",
        "rate",
        "rate_low",
        "rate_high",
        "unit",
        "oe_ratio",
        "open_signals",
    ]
    assert [row[:5] for row in rows[1:]] == [
        ["falls-with-harm", "1.0.0", "Falls with harm", "NDNQI", "Lower is better"],
        ["inpatient-mortality", "1.0.0", "In-hospital mortality", "CMS", "Lower is better"],
        ["readmission-30-day", "2.1.0", "Readmission within 30 days", "CMS", "Lower is better"],
    ]
    sheet = xlsx_rows(client.get("/quality/?format=xlsx"))
    assert [row[0] for row in sheet] == ["measure_id", "falls-with-harm", "inpatient-mortality", "readmission-30-day"]


def test_signal_register_exports_neutralise_hostile_text(board_data, client_for):
    raise_signal(board_data["mortality"], detail='=HYPERLINK("http://evil","click")', stratum_label="@Ward 9")
    client = client_for(Role.BOARD_MEMBER)
    rows = csv_rows(client.get("/quality/signals/?state=all&format=csv"))
    assert rows[1][5:9] == ["department", "'@Ward 9", "shift", '\'=HYPERLINK("http://evil","click")']
    sheet = load_workbook(
        io.BytesIO(client.get("/quality/signals/?state=all&format=xlsx").content), read_only=False
    ).active
    cell = sheet.cell(row=2, column=9)
    assert (cell.value, cell.data_type) == ('\'=HYPERLINK("http://evil","click")', "s")
    assert sheet.max_row == 2


def test_audit_trail_exports_in_both_formats(client_for):
    auditor = client_for(Role.AUDITOR)
    rows = csv_rows(auditor.get("/audit/?action=user.create&format=csv"))
    assert rows[0] == [
        "occurred_at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object",
        "before",
        "after",
        "request_id",
        "read",
    ]
    assert [row[1:4] for row in rows[1:]] == [["system", "user.create", "accounts.user"]]
    sheet = xlsx_rows(auditor.get("/audit/?action=user.create&format=xlsx"))
    assert [row[1:4] for row in sheet] == [
        ["actor", "action", "object_type"],
        ["system", "user.create", "accounts.user"],
    ]


@pytest.mark.parametrize(
    "path",
    ["/quality/?format=csv", "/quality/signals/?format=xlsx", "/audit/?format=csv"],
)
def test_exports_are_refused_to_users_who_cannot_see_the_page(db, client_for, path):
    client = client_for(Role.CLINICIAN)
    audited = AuditEvent.objects.count()
    assert client.get(path).status_code == 403
    assert AuditEvent.objects.count() == audited


@pytest.fixture
def equity(departments):
    refresh = quality.do_start_refresh(warehouse="test.duckdb", actor=None)
    rows = [
        {
            **departments[0],
            "dimension": "race",
            "stratum_key": key,
            "stratum_label": label,
            "numerator": numerator,
            "denominator": denominator,
            "rate": numerator / denominator,
        }
        for key, label, numerator, denominator in (
            ("2054-5", "Black or African American", 4, 120),
            ("2106-3", "White", 61, 980),
        )
    ]
    quality.do_store_results(refresh, [*departments, *rows], actor=None)
    return rows


@pytest.mark.parametrize("role", [Role.CMO, Role.BOARD_MEMBER], ids=lambda role: role.value)
def test_equity_export_suppresses_small_cells_as_the_page_shows_them(equity, client_for, role):
    client = client_for(role)
    path = "/quality/measures/inpatient-mortality/"
    page = client.get(path).content.decode()
    assert "table=equity&amp;format=csv" in page
    assert "&lt;11" in page
    response = client.get(f"{path}?table=equity&format=csv")
    assert (response.status_code, response["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-inpatient-mortality-equity-2026-')
    assert csv_rows(response) == [
        ["Dimension", "Group", "Denominator", "Numerator", "Rate"],
        ["Race", "Black or African American", "120", "<11", "suppressed"],
        ["Race", "White", "980", "<11", "suppressed"],
    ]
    sheet = xlsx_rows(client.get(f"{path}?table=equity&format=xlsx"))
    assert sheet[0] == ["Dimension", "Group", "Denominator", "Numerator", "Rate"]
    assert sheet[1] == ["Race", "Black or African American", 120, "<11", "suppressed"]


def test_target_history_export(board_data, client_for):
    client = client_for(Role.QUALITY_SAFETY)
    measure = board_data["mortality"]
    quality.do_set_target(
        measure,
        value=0.04,
        direction="lower",
        owner=client.user,
        effective_from=dt.date(2026, 1, 1),
        reason="=Board goal",
        actor=client.user,
    )
    path = f"/quality/measures/{measure.measure_id}/"
    assert "table=target_history&amp;format=xlsx" in client.get(path).content.decode()
    response = client.get(f"{path}?table=target_history&format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="medgov-{measure.measure_id}-target-history-'
    )
    rows = csv_rows(response)
    assert rows[0] == ["When", "Who", "Old", "New", "From", "Why"]
    assert rows[1][1:] == [str(client.user), "0.025", "0.04", "2026-01-01", "'=Board goal"]
    assert xlsx_rows(client.get(f"{path}?table=target_history&format=xlsx"))[1][2:4] == [0.025, 0.04]
    entry = AuditEvent.objects.latest("id")
    assert (entry.action, entry.object_type) == ("export", "quality.targetchange")


@pytest.mark.parametrize("table", ["equity", "target_history", "breakdown"])
def test_measure_page_exports_are_refused_to_users_who_cannot_see_the_page(equity, client_for, table):
    client = client_for(Role.CLINICIAN)
    audited = AuditEvent.objects.count()
    assert client.get(f"/quality/measures/inpatient-mortality/?table={table}&format=csv").status_code in (403, 404)
    assert AuditEvent.objects.count() == audited


def test_the_board_report_list_exports(board_data, client_for):
    from tests.governance.reports.test_board_report import generate

    report = generate(actor=board_data["cmo"])
    client = client_for(Role.BOARD_MEMBER)
    assert "format=csv" in client.get("/reports/").content.decode()
    response = client.get("/reports/?format=csv")
    assert (response.status_code, response["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-board-reports-')
    rows = csv_rows(response)
    assert rows[0] == ["Quarter", "Requested", "By", "Status", "Measure refresh", "Report"]
    assert rows[1][0] == report.quarter and rows[1][2] == str(board_data["cmo"]) and rows[1][5] == "available"
    assert xlsx_rows(client.get("/reports/?format=xlsx"))[1][0] == report.quarter
    entry = AuditEvent.objects.latest("id")
    assert (entry.action, entry.object_type, entry.object_repr) == ("export", "reports.boardreport", "board-reports")
    outsider = client_for(Role.CLINICIAN)
    audited = AuditEvent.objects.count()
    assert outsider.get("/reports/?format=csv").status_code == 403
    assert AuditEvent.objects.count() == audited


def test_a_signals_chart_data_exports(board_data, client_for):
    # The organisation-wide series has monthly results, so the signal's page shows its SPC chart and data table.
    signal = raise_signal(board_data["mortality"], dimension="all", stratum_label="all")
    client = client_for(Role.BOARD_MEMBER)
    path = f"/quality/signals/{signal.pk}/"
    response = client.get(f"{path}?format=csv")
    assert (response.status_code, response["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="medgov-signal-{signal.pk}-inpatient-mortality-spc-'
    )
    rows = csv_rows(response)
    assert "format=csv" in client.get(path).content.decode()
    assert rows[0] == ["Period", "Value (%)", "Mean", "Lower limit", "Upper limit", "Variation"]
    assert len(rows) > 12 and rows[1][0]
    assert xlsx_rows(client.get(f"{path}?format=xlsx"))[0] == rows[0]
    outsider = client_for(Role.CLINICIAN)
    audited = AuditEvent.objects.count()
    assert outsider.get(f"{path}?format=csv").status_code in (403, 404)
    assert AuditEvent.objects.count() == audited
