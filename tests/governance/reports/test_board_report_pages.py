import pytest
from django.test import Client

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.reports import services
from medgov.governance.reports.choices import ReportStatus
from medgov.governance.reports.models import BoardReport
from medgov.governance.reports.rules import Quarter

Q3 = Quarter(2026, 3)


def stored_report() -> BoardReport:
    report = services.do_request_board_report(Q3, actor=None, enqueue=False)
    return services.do_generate_board_report(report, actor=None)


@pytest.mark.parametrize(
    "path",
    ["/reports/", "/reports/board/2026Q3/", "/reports/board/stored/1/", "/reports/board/stored/1/pdf/"],
)
def test_anonymous_users_are_sent_to_sign_in(db, path):
    response = Client().get(path)
    assert (response.status_code, response["Location"]) == (302, f"/login/?next={path}")


def test_anonymous_generate_changes_nothing(db):
    response = Client().post("/reports/board/generate/", {"quarter": "2026Q3"})
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/reports/board/generate/")
    assert (BoardReport.objects.count(), AuditEvent.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("role", "reads", "generates"),
    [
        (None, 403, 403),
        (Role.CLINICIAN, 403, 403),
        (Role.ADMINISTRATOR, 403, 403),
        (Role.BOARD_MEMBER, 200, 403),
        (Role.QUALITY_SAFETY, 200, 302),
        (Role.CMO, 200, 302),
    ],
    ids=["no-role", "clinician", "administrator", "board-member", "quality-safety", "cmo"],
)
def test_authorisation_matrix(board_data, client_for, role, reads, generates):
    client = client_for(*([role] if role else []))
    audited = AuditEvent.objects.count()
    assert client.get("/reports/").status_code == reads
    assert client.get("/reports/board/2026Q3/").status_code == reads
    response = client.post("/reports/board/generate/", {"quarter": "2026Q3"})
    assert response.status_code == generates
    if generates == 403:
        assert (BoardReport.objects.count(), AuditEvent.objects.count()) == (0, audited)
    else:
        report = BoardReport.objects.get()
        assert (report.quarter, report.status, report.requested_by) == ("2026Q3", ReportStatus.QUEUED, client.user)
        assert list(AuditEvent.objects.filter(id__gt=0).order_by("-id").values_list("action", flat=True)[:1]) == [
            "board_report.request"
        ]


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.ADMINISTRATOR], ids=lambda role: role.value)
def test_stored_reports_answer_missing_and_forbidden_alike(board_data, client_for, role):
    report = stored_report()
    client = client_for(role)
    audited = AuditEvent.objects.count()
    for path in (f"/reports/board/stored/{report.pk}/pdf/", f"/reports/board/stored/{report.pk + 1}/pdf/"):
        assert client.get(path).status_code == 404
    assert client.get(f"/reports/board/stored/{report.pk}/progress/").status_code == 404
    assert AuditEvent.objects.count() == audited


def test_a_board_member_reads_and_downloads_a_stored_report_and_the_read_is_audited(board_data, client_for):
    report = stored_report()
    board = client_for(Role.BOARD_MEMBER)
    page = board.get(f"/reports/board/stored/{report.pk}/")
    assert page.status_code == 200
    assert page.content.decode().count("2.0\u20132.7 %") == 1
    response = board.get(f"/reports/board/stored/{report.pk}/pdf/")
    body = b"".join(response.streaming_content)
    assert (response.status_code, response["Content-Type"], body[:5]) == (200, "application/pdf", b"%PDF-")
    assert response["Content-Disposition"] == f'attachment; filename="board-report-2026Q3-{report.pk}.pdf"'
    reads = AuditEvent.objects.filter(object_id=str(report.pk), is_read=True).order_by("id")
    assert list(reads.values_list("action", "actor")) == [
        ("board_report.read_html", board.user.pk),
        ("board_report.read_pdf", board.user.pk),
    ]


def test_the_preview_shows_the_quarter_as_the_data_stand(board_data, client_for):
    page = client_for(Role.BOARD_MEMBER).get("/reports/board/2026Q3/").content.decode()
    for text in (
        "14.2 %",
        "13.0\u201315.4 %",
        "12.0 %",
        "Red: off target",
        "Green: meets target",
        'id="quality_spc-0"',
    ):
        assert text in page
    assert "Generate PDF" not in page


def test_an_invalid_quarter_is_not_found(board_data, client_for):
    client = client_for(Role.CMO)
    assert client.get("/reports/board/2026Q7/").status_code == 404
    response = client.post("/reports/board/generate/", {"quarter": "<script>"}, headers={"HX-Request": "true"})
    assert (response.status_code, response.content.decode()) == (
        400,
        '<p class="error" role="alert">invalid quarter &#x27;&lt;script&gt;&#x27;; write it as YYYYQn, e.g. 2026Q3</p>',
    )
    assert BoardReport.objects.count() == 0


def test_generate_with_htmx_returns_a_polling_progress_panel_until_the_report_is_ready(
    board_data, client_for, django_capture_on_commit_callbacks
):
    from medgov.governance.reports import tasks

    client = client_for(Role.QUALITY_SAFETY)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reports/board/generate/", {"quarter": "2026Q3"}, headers={"HX-Request": "true"})
    report = BoardReport.objects.get()
    panel = response.content.decode()
    assert f'hx-get="/reports/board/stored/{report.pk}/progress/"' in panel
    assert 'hx-trigger="every 1s"' in panel
    assert "Queued" in panel
    tasks.generate_board_report.call(report.pk)
    done = client.get(f"/reports/board/stored/{report.pk}/progress/").content.decode()
    assert "hx-trigger" not in done
    assert f'href="/reports/board/stored/{report.pk}/pdf/"' in done
    assert "Ready" in done
