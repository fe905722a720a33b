import datetime as dt
import hashlib
import subprocess

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.quality import services as quality
from medgov.governance.quality.choices import ImprovementDirection, SignalDirection, SignalKind
from medgov.governance.reports import services, tasks
from medgov.governance.reports.choices import ReportStatus
from medgov.governance.reports.models import BoardReport
from medgov.governance.reports.rules import Quarter
from medgov.governance.reports.svg import POINT_COLOURS
from medgov.interfaces.web import charts
from tests.governance.reports.conftest import MORTALITY, READMISSION, quarter_row

Q3 = Quarter(2026, 3)
PATIENT_IDENTIFIERS = ("MRN 00482913", "Jane Q. Patient", "1961-04-17")


def pdf_text(report: BoardReport) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", report.pdf.path, "-"], capture_output=True, text=True, check=True
    ).stdout


def generate(quarter: Quarter = Q3, actor=None) -> BoardReport:
    report = services.do_request_board_report(quarter, actor=actor, enqueue=False)
    return services.do_generate_board_report(report, actor=actor)


def raise_signal(measure, *, dimension="department", stratum_label="Cardiology", **fields):
    candidate = quality.SignalCandidate(
        measure=measure,
        dimension=dimension,
        stratum_key=stratum_label.lower().replace(" ", "-"),
        stratum_label=stratum_label,
        kind=SignalKind.SPC,
        direction=SignalDirection.CONCERN,
        rule=fields.pop("rule", "shift"),
        detail=fields.pop("detail", ""),
        first_period=fields.pop("first_period", dt.date(2026, 6, 1)),
        last_period=fields.pop("last_period", dt.date(2026, 8, 1)),
        chart={},
    )
    (signal,) = quality.do_raise_signals([candidate], refresh=None, actor=None)
    return signal


def test_the_pdf_shows_the_quarters_scorecard_values_and_no_patient_identifiers(board_data):
    officer = board_data["cmo"]
    signal = raise_signal(board_data["mortality"], detail="first seen in MRN 00482913 (Jane Q. Patient, 1961-04-17)")
    quality.do_close_signal(
        signal,
        reason="Reviewed the notes of Jane Q. Patient, MRN 00482913",
        action_reference="safety.rca:4",
        actor=officer,
    )
    raise_signal(board_data["readmission"], dimension="practitioner", stratum_label="Dr. Robin Hale", rule="trend")
    report = generate()
    text = pdf_text(report)
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    words = " ".join(text.split())
    assert "In-hospital mortality Lower is better 2.4 % 2.0\u20132.7 % 2.5 % Green: meets target" in lines
    assert "Readmission within 30 days Lower is better 14.2 % 13.0\u201315.4 % 12.0 % Red: off target" in lines
    assert "Falls with harm" not in text
    assert "Q3 2026 (2026-07-01 to 2026-09-30)" in text
    for identifier in PATIENT_IDENTIFIERS:
        assert identifier not in text
    assert ("Robin" in words, "Hale" in words, "individual" in words) == (False, False, True)
    assert "safety.rca:4" in words
    assert report.status == ReportStatus.SUCCEEDED
    with report.pdf.open("rb") as stored:
        assert stored.read(5) == b"%PDF-"


def test_the_snapshot_holds_every_number_shown_and_the_refresh_it_came_from(board_data):
    report = generate()
    refresh = board_data["refresh"]
    assert report.measure_refresh == refresh
    assert report.snapshot["measure_refreshes"] == [refresh.pk]
    scorecard = report.snapshot["sections"][0]
    assert [section["key"] for section in report.snapshot["sections"]] == [
        "quality_scorecard",
        "quality_spc",
        "quality_signals",
        "safety_sentinel",
        "safety_serious",
        "staff_credentialing",
    ]
    assert report.snapshot["not_included"] == []
    assert [
        (row["measure_id"], row["value"], row["low"], row["high"], row["target"], row["rag"], row["value_text"])
        for row in scorecard["data"]["rows"]
    ] == [
        ("inpatient-mortality", 0.02354, 0.02001, 0.02741, 0.025, "green", "2.4 %"),
        ("readmission-30-day", 0.14167, 0.12981, 0.15442, 0.12, "red", "14.2 %"),
    ]
    spc = report.snapshot["sections"][1]["data"]["charts"]
    assert [(chart["measure_id"], len(chart["periods"]), chart["periods"][-1]) for chart in spc] == [
        ("inpatient-mortality", 21, "2026-09-01"),
        ("readmission-30-day", 21, "2026-09-01"),
    ]
    assert spc[0]["values"][:3] == [0.02, 0.021, 0.022]


def test_a_stored_report_does_not_change_when_the_data_are_refreshed(board_data):
    report = generate()
    digest, snapshot = report.pdf_sha256, report.snapshot
    refresh = quality.do_start_refresh(warehouse="test.duckdb", actor=None)
    quality.do_store_results(
        refresh,
        [
            quarter_row(MORTALITY, Q3.start, Q3.end, 0.031, 0.027, 0.035),
            quarter_row(READMISSION, Q3.start, Q3.end, 0.1, 0.09, 0.11),
        ],
        actor=None,
    )
    report.refresh_from_db()
    with report.pdf.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == digest
    assert (report.snapshot, report.pdf_sha256) == (snapshot, digest)
    newer = generate()
    assert [row["value_text"] for row in newer.snapshot["sections"][0]["data"]["rows"]] == ["3.1 %", "10.0 %"]
    assert newer.snapshot["measure_refreshes"] == [refresh.pk]


def test_the_target_in_force_at_the_end_of_the_quarter_is_used(board_data):
    quality.do_set_target(
        board_data["mortality"],
        value=0.02,
        direction=ImprovementDirection.DECREASE,
        owner=board_data["cmo"],
        effective_from=dt.date(2026, 10, 1),
        reason="Tightened for Q4",
        actor=board_data["cmo"],
    )
    q3_rows = generate(Q3).snapshot["sections"][0]["data"]["rows"]
    assert (q3_rows[0]["target_text"], q3_rows[0]["rag"]) == ("2.5 %", "green")
    q2_rows = generate(Quarter(2026, 2)).snapshot["sections"][0]["data"]["rows"]
    assert [(row["value_text"], row["interval_text"], row["target_text"], row["rag"]) for row in q2_rows] == [
        ("2.8 %", "2.4\u20133.3 %", "2.5 %", "amber"),
        ("no result", "\u2013", "12.0 %", "none"),
    ]


def test_generation_is_audited_and_a_generated_report_is_not_generated_again(board_data):
    quality_officer = board_data["cmo"]
    report = generate(actor=quality_officer)
    events = list(
        AuditEvent.objects.filter(object_type="reports.boardreport").order_by("id").values_list("action", "actor")
    )
    assert events == [("board_report.request", quality_officer.pk), ("board_report.generate", quality_officer.pk)]
    with pytest.raises(ValidationError, match=f"board report #{report.pk} is ready, not queued"):
        services.do_generate_board_report(report, actor=quality_officer)


@pytest.mark.parametrize("role", [Role.BOARD_MEMBER, Role.CLINICIAN, Role.ADMINISTRATOR], ids=lambda role: role.value)
def test_only_report_generators_may_request_a_report(board_data, make_user, role):
    user = make_user(role)
    audited = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.do_request_board_report(Q3, actor=user)
    assert (BoardReport.objects.count(), AuditEvent.objects.count()) == (0, audited)


def test_a_board_member_cannot_run_a_queued_report(board_data, make_user):
    report = services.do_request_board_report(Q3, actor=None, enqueue=False)
    board_member = make_user(Role.BOARD_MEMBER)
    audited = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.do_generate_board_report(report, actor=board_member)
    report.refresh_from_db()
    assert (report.status, report.pdf.name, AuditEvent.objects.count()) == (ReportStatus.QUEUED, "", audited)


def test_requesting_queues_the_generation_task_after_commit(board_data, make_user, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    officer = make_user(Role.QUALITY_SAFETY)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.do_request_board_report(Q3, actor=officer)
    report.refresh_from_db()
    queued = DBTaskResult.objects.get()
    assert (queued.task_path, queued.args_kwargs, str(queued.id)) == (
        "medgov.governance.reports.tasks.generate_board_report",
        {"args": [report.pk], "kwargs": {}},
        report.task_result_id,
    )
    assert tasks.generate_board_report.call(report.pk) == report.pk
    report.refresh_from_db()
    assert (report.status, report.progress, report.requested_by) == (ReportStatus.SUCCEEDED, 100, officer)


def test_the_scheduled_task_reports_the_given_quarter_as_the_system(board_data):
    report_id = tasks.generate_quarterly_board_report.call("2026Q3")
    report = BoardReport.objects.get(pk=report_id)
    assert (report.quarter, report.scheduled, report.requested_by, report.status) == (
        "2026Q3",
        True,
        None,
        ReportStatus.SUCCEEDED,
    )
    assert list(AuditEvent.objects.filter(object_type="reports.boardreport").values_list("action", "actor_label")) == [
        ("board_report.generate", "system"),
        ("board_report.request", "system"),
    ]


def test_the_scheduled_task_defaults_to_the_last_complete_quarter(board_data, time_machine):
    time_machine.move_to(dt.datetime(2026, 10, 2, 6, tzinfo=dt.UTC), tick=False)
    report = BoardReport.objects.get(pk=tasks.generate_quarterly_board_report.call())
    assert (report.quarter, report.period_start, report.period_end) == ("2026Q3", Q3.start, Q3.end)


def test_a_failed_generation_is_recorded(board_data, monkeypatch):
    from medgov.governance.reports import render

    def broken(html):
        raise RuntimeError("layout exploded")

    monkeypatch.setattr(render, "report_pdf", broken)
    report = services.do_request_board_report(Q3, actor=None, enqueue=False)
    with pytest.raises(RuntimeError):
        services.do_generate_board_report(report, actor=None)
    report.refresh_from_db()
    assert (report.status, report.error, report.pdf.name) == (
        ReportStatus.FAILED,
        "RuntimeError: layout exploded",
        "",
    )
    assert AuditEvent.objects.filter(action="board_report.fail", object_id=str(report.pk)).count() == 1


def test_pdf_charts_use_the_web_charts_colours():
    assert POINT_COLOURS == charts.POINT_COLOURS


def test_a_domain_that_is_not_installed_is_named_as_not_included(board_data, monkeypatch):
    from medgov.governance.reports import sections

    monkeypatch.setitem(sections.DOMAIN_SECTIONS, "medgov.governance.policies", "Clinical policies due for review")
    snapshot = sections.build_snapshot(Q3)
    assert snapshot["not_included"] == [
        {"title": "Clinical policies due for review", "reason": "the policies module is not installed"}
    ]
