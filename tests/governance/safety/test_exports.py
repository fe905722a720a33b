import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from medgov.governance.core.models import AuditEvent
from medgov.governance.safety import services
from tests.fixtures.exports import XLSX, csv_rows, response_text, xlsx_rows
from tests.governance.safety.conftest import triage_input

EVENT_HEADER = ["Event", "Status", "Category", "Unit", "When", "Harm", "Flags"]


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def _at(day, hour=9):
    return timezone.make_aware(dt.datetime(2026, 2, day, hour, 30))


@pytest.fixture
def events(people, submit):
    """A triaged sentinel fall and an untriaged medication event, both on 4 West."""
    fall = services.do_triage_event(
        submit(occurred_at=_at(3)).event, triage_input(harm_level="death"), actor=people["safety"]
    )
    medication = submit(category="medication", occurred_at=_at(5, 14), reported_harm="no_harm").event
    return {"fall": fall, "medication": medication}


def test_the_event_list_exports_every_visible_event_as_csv(people, events):
    response = client_of(people["safety"]).get("/safety/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-safety-events-')
    assert response["Content-Disposition"].endswith('.csv"')
    assert csv_rows(response) == [
        EVENT_HEADER,
        [
            events["medication"].reference,
            "Submitted",
            "Medication or other substance",
            "4 West Medical",
            timezone.localtime(_at(5, 14)).isoformat(),
            "No harm (reported)",
            "",
        ],
        [
            events["fall"].reference,
            "In review",
            "Fall",
            "4 West Medical",
            timezone.localtime(_at(3)).isoformat(),
            "Death",
            "potential sentinel",
        ],
    ]


def test_the_event_list_exports_as_excel(people, events):
    response = client_of(people["cmo"]).get("/safety/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows = xlsx_rows(response)
    assert rows[0] == EVENT_HEADER
    assert [row[:3] for row in rows[1:]] == [
        [events["medication"].reference, "Submitted", "Medication or other substance"],
        [events["fall"].reference, "In review", "Fall"],
    ]


def test_the_event_export_applies_the_status_filter(people, events):
    rows = csv_rows(client_of(people["safety"]).get("/safety/?status=submitted&format=csv"))
    assert [row[0] for row in rows] == ["Event", events["medication"].reference]


def test_the_event_export_holds_more_than_the_page_shows(people, units):
    from medgov.governance.safety.models import SafetyEvent

    now = timezone.now()
    SafetyEvent.objects.bulk_create(
        SafetyEvent(
            status="submitted",
            event_class="incident",
            category="fall",
            unit=units["4W"],
            reported_harm="mild",
            description="Found on the floor.",
            occurred_at=now - dt.timedelta(hours=index + 1),
            submitted_at=now - dt.timedelta(minutes=index),
        )
        for index in range(205)
    )
    client = client_of(people["safety"])
    assert client.get("/safety/").content.decode().count('href="/safety/events/') == 200
    assert len(csv_rows(client.get("/safety/?format=csv"))) == 1 + 205


def test_an_export_is_recorded_as_a_read_with_its_filters(people, events):
    before = AuditEvent.objects.count()
    client_of(people["cmo"]).get("/safety/?status=submitted&format=xlsx")
    assert AuditEvent.objects.count() == before + 1
    entry = AuditEvent.objects.latest("id")
    assert (entry.actor, entry.action, entry.object_type, entry.object_repr, entry.is_read, entry.after) == (
        people["cmo"],
        "export",
        "safety.safetyevent",
        "safety-events",
        True,
        {"format": "xlsx", "filters": {"status": "submitted"}},
    )


def test_a_reporters_own_export_shows_the_report_as_filed_and_is_not_audited(people, events):
    services.do_triage_event(
        events["medication"],
        triage_input(
            category="medication", harm_level="no_harm", ncc_merp="C", sensitive=True, handler_ids=[people["safety"].pk]
        ),
        actor=people["safety"],
    )
    client = client_of(people["reporter"])
    before = AuditEvent.objects.count()
    rows = csv_rows(client.get("/safety/?table=own&format=csv"))
    assert AuditEvent.objects.count() == before
    assert [[row[0], row[5], row[6]] for row in rows] == [
        ["Event", "Harm", "Flags"],
        [events["medication"].reference, "No harm (reported)", ""],
        [events["fall"].reference, "Mild harm (reported)", ""],
    ]
    page = client.get("/safety/").content.decode()
    assert "sentinel" not in page and "sensitive" not in page and "Death" not in page


def test_sensitive_events_are_exported_to_their_named_handlers_only(people, events):
    services.do_triage_event(
        events["medication"],
        triage_input(
            category="medication", harm_level="no_harm", ncc_merp="C", sensitive=True, handler_ids=[people["safety"].pk]
        ),
        actor=people["safety"],
    )
    reference = events["medication"].reference
    for role, listed in [("safety", True), ("safety2", False), ("cmo", False), ("manager", False)]:
        client = client_of(people[role])
        for export_format in ("csv", "xlsx"):
            text = response_text(client.get(f"/safety/?format={export_format}"))
            assert (reference in text) is listed, (role, export_format)
            assert events["fall"].reference in text


@pytest.fixture
def rca_with_actions(people, events):
    rca = services.do_confirm_sentinel_event(events["fall"], aware_on=timezone.localdate(), actor=people["safety"])
    overdue = services.do_add_action(
        rca,
        services.ActionInput(
            description='=HYPERLINK("http://evil.example","click")',
            strength="stronger",
            owner_id=people["manager"].pk,
            due_on=timezone.localdate() - dt.timedelta(days=3),
        ),
        actor=people["safety"],
    )
    later = services.do_add_action(
        rca,
        services.ActionInput(
            description="Bed alarm by default",
            strength="stronger",
            owner_id=people["manager"].pk,
            due_on=timezone.localdate() + dt.timedelta(days=30),
        ),
        actor=people["safety"],
    )
    return {"rca": rca, "overdue": overdue, "later": later}


def test_open_rcas_export(people, events, rca_with_actions):
    response = client_of(people["safety"]).get("/safety/?table=rcas&format=csv")
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-safety-open-rcas-')
    assert csv_rows(response) == [
        ["Event", "Due", "Overdue"],
        [events["fall"].reference, rca_with_actions["rca"].due_on.isoformat(), "no"],
    ]


def test_overdue_actions_export_neutralises_a_formula(people, events, rca_with_actions):
    client = client_of(people["safety"])
    assert csv_rows(client.get("/safety/?table=overdue_actions&format=csv")) == [
        ["Action", "Event", "Due"],
        [
            '\'=HYPERLINK("http://evil.example","click")',
            events["fall"].reference,
            rca_with_actions["overdue"].due_on.isoformat(),
        ],
    ]
    sheet = load_workbook(
        io.BytesIO(client.get("/safety/?table=overdue_actions&format=xlsx").content), read_only=False
    ).active
    cell = sheet.cell(row=2, column=1)
    assert (cell.value, cell.data_type) == ('\'=HYPERLINK("http://evil.example","click")', "s")


def test_an_action_owner_exports_their_open_actions(people, events, rca_with_actions):
    rows = csv_rows(client_of(people["manager"]).get("/safety/?table=my_actions&format=csv"))
    assert rows == [
        ["Action", "Event", "Due"],
        [
            '\'=HYPERLINK("http://evil.example","click")',
            events["fall"].reference,
            rca_with_actions["overdue"].due_on.isoformat(),
        ],
        ["Bed alarm by default", events["fall"].reference, rca_with_actions["later"].due_on.isoformat()],
    ]


def test_an_invalid_trend_filter_is_a_clear_400_not_an_unfiltered_export(people, events):
    response = client_of(people["safety"]).get("/safety/trends/?months=3&format=csv")
    assert response.status_code == 400
    assert response.content.decode() == "months: Ensure this value is greater than or equal to 6."


def test_an_unknown_table_is_a_clear_400(people, events):
    response = client_of(people["safety"]).get("/safety/?table=patients&format=csv")
    assert response.status_code == 400
    assert response.content.decode() == (
        "table: 'patients' is not a table of this page; choose one of events, own, rcas, overdue_actions."
    )


def test_tables_of_other_viewers_are_not_exported(people, events):
    # A reporter has no RCA list; the safety team no "actions you own" list.
    assert client_of(people["reporter"]).get("/safety/?table=rcas&format=csv").status_code == 400
    assert client_of(people["safety"]).get("/safety/?table=my_actions&format=csv").status_code == 400


@pytest.mark.parametrize(
    ("role", "status"),
    [("reporter", 403), ("manager", 403), ("board", 403), ("auditor", 403), ("safety", 200), ("cmo", 200)],
)
def test_trend_exports_matrix(people, events, role, status):
    before = AuditEvent.objects.filter(action="export").count()
    response = client_of(people[role]).get("/safety/trends/?format=csv")
    assert response.status_code == status
    assert AuditEvent.objects.filter(action="export").count() == before + (status == 200)


@pytest.mark.parametrize(("role", "status"), [("board", 403), ("auditor", 403), ("admin", 403)])
def test_event_exports_are_refused_to_roles_without_the_page(people, events, role, status):
    before = AuditEvent.objects.count()
    assert client_of(people[role]).get("/safety/?format=csv").status_code == status
    assert AuditEvent.objects.count() == before


@pytest.fixture
def february(time_machine, no_warehouse):
    time_machine.move_to(dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC), tick=False)


def test_trend_exports_per_month_and_by_category(people, submit, february):
    for day in range(1, 13):
        submit(occurred_at=_at(day))
    submit(category="medication", occurred_at=_at(20))
    client = client_of(people["safety"])
    months = client.get("/safety/trends/?months=6&format=csv")
    assert months["Content-Disposition"].startswith('attachment; filename="medgov-safety-trends-per-month-')
    assert csv_rows(months) == [
        ["Month", "Events", "Plotted value"],
        *[[month, "0", "0.0"] for month in ("2025-09", "2025-10", "2025-11", "2025-12", "2026-01")],
        ["2026-02", "13", "13.0"],
    ]
    falls = csv_rows(client.get("/safety/trends/?months=6&category=fall&format=csv"))
    assert falls[-1] == ["2026-02", "12", "12.0"]
    categories = csv_rows(client.get("/safety/trends/?months=6&table=categories&format=csv"))
    assert categories[0] == ["Category", "Events", "Signal"]
    assert ["Fall", "12", "shift or special cause"] in categories
    assert ["Medication or other substance", "1", ""] in categories
    sheet = xlsx_rows(client.get("/safety/trends/?months=6&format=xlsx"))
    assert sheet[-1] == ["2026-02", 13, 13]


def test_trend_counts_are_suppressed_for_a_viewer_without_patient_level_access(people, submit, make_user, february):
    for day in range(1, 13):
        submit(occurred_at=_at(day))
    submit(category="medication", occurred_at=_at(20))
    viewer = make_user(username="dashboardonly")
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="safety", codename="view_safety_dashboard")
    )
    client = client_of(viewer)
    assert csv_rows(client.get("/safety/trends/?months=6&category=medication&format=csv")) == [
        ["Month", "Events", "Plotted value"],
        *[[month, "0", "0.0"] for month in ("2025-09", "2025-10", "2025-11", "2025-12", "2026-01")],
        ["2026-02", "<11", ""],
    ]
    categories = {
        row[0]: row[1] for row in csv_rows(client.get("/safety/trends/?months=6&table=categories&format=csv"))
    }
    # Falls are hidden too, as the complement that would give the single medication event back from the total.
    assert (categories["Fall"], categories["Medication or other substance"], categories["Perinatal"]) == (
        "<11",
        "<11",
        "0",
    )
    page = client.get("/safety/trends/?months=6").content.decode()
    assert "(counts from 1 to 10 suppressed)" in page
    assert "(counts from 1 to 10 suppressed)" not in client_of(people["safety"]).get("/safety/trends/").content.decode()


# --- the tables of the detail pages ------------------------------------------------------------------------------


@pytest.fixture
def full_rca(people, rca_with_actions):
    rca = rca_with_actions["rca"]
    safety = people["safety"]
    services.do_add_timeline_entry(rca, occurred_at=_at(3, 2), description="Patient found on the floor", actor=safety)
    services.do_add_causal_statement(rca, text="+Bed alarm off, so the fall went unnoticed", actor=safety)
    services.do_add_contributing_factor(rca, category="communication", description="Handover omitted", actor=safety)
    return rca


def test_an_rcas_tables_export(people, events, full_rca):
    client = client_of(people["safety"])
    path = f"/safety/events/{events['fall'].pk}/rca/"
    page = client.get(path).content.decode()
    for table in ("actions", "timeline", "causal_statements", "factors"):
        assert f"table={table}&amp;format=xlsx" in page
    reference = events["fall"].reference
    response = client.get(f"{path}?table=actions&format=csv")
    assert (response.status_code, response["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert response["Content-Disposition"].startswith(f'attachment; filename="medgov-safety-{reference}-rca-actions-')
    rows = csv_rows(response)
    assert rows[0] == ["Action", "Strength", "Owner", "Due", "Measure", "Status"]
    assert rows[1][:3] == ['\'=HYPERLINK("http://evil.example","click")', "Stronger", str(people["manager"])]
    response = client.get(f"{path}?table=timeline&format=xlsx")
    assert (response.status_code, response["Content-Type"]) == (200, XLSX)
    assert response["Content-Disposition"].startswith(f'attachment; filename="medgov-safety-{reference}-rca-timeline-')
    assert xlsx_rows(response) == [["When", "What happened"], ["2026-02-03 02:30", "Patient found on the floor"]]
    assert csv_rows(client.get(f"{path}?table=causal_statements&format=csv")) == [
        ["Number", "Causal statement"],
        ["1", "'+Bed alarm off, so the fall went unnoticed"],
    ]
    assert csv_rows(client.get(f"{path}?table=factors&format=csv")) == [
        ["Category", "Contributing factor"],
        ["Communication", "Handover omitted"],
    ]
    entry = AuditEvent.objects.latest("id")
    assert (entry.action, entry.object_type, entry.is_read) == ("export", "safety.contributingfactor", True)


@pytest.mark.parametrize("role", ["reporter", "manager", "other_clinician", "board", "auditor", "admin"])
def test_rca_exports_are_refused_to_roles_without_the_page(people, events, full_rca, role):
    before = AuditEvent.objects.count()
    for table in ("actions", "timeline", "causal_statements", "factors"):
        response = client_of(people[role]).get(f"/safety/events/{events['fall'].pk}/rca/?table={table}&format=csv")
        assert response.status_code in (403, 404)
    assert AuditEvent.objects.count() == before


def test_a_sensitive_events_rca_exports_to_its_named_handlers_only(people, submit):
    event = services.do_triage_event(
        submit(occurred_at=_at(6)).event,
        triage_input(harm_level="death", sensitive=True, handler_ids=[people["safety"].pk]),
        actor=people["safety"],
    )
    services.do_confirm_sentinel_event(event, aware_on=timezone.localdate(), actor=people["safety"])
    path = f"/safety/events/{event.pk}/rca/?table=timeline&format=csv"
    # Confirming a sensitive sentinel event makes the CMO and the safety lead handlers too.
    for role in ("safety", "cmo", "lead"):
        assert client_of(people[role]).get(path).status_code == 200, role
    for role in ("safety2", "manager"):
        before = AuditEvent.objects.count()
        assert client_of(people[role]).get(path).status_code in (403, 404), role
        assert AuditEvent.objects.count() == before


def test_just_culture_reviews_export_to_the_safety_lead_only(people, events, full_rca):
    from tests.governance.safety.conftest import REPORTER_NAME

    fall = events["fall"]
    services.do_record_just_culture_review(
        fall,
        individual="RN, night shift",
        behaviour="at_risk",
        response="coach",
        notes="-Skipped check",
        actor=people["lead"],
    )
    path = f"/safety/events/{fall.pk}/just-culture/"
    assert "format=csv" in client_of(people["lead"]).get(path).content.decode()
    response = client_of(people["lead"]).get(f"{path}?format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="medgov-safety-{fall.reference}-just-culture-'
    )
    rows = csv_rows(response)
    assert rows[0] == ["When", "Individual", "Behaviour", "Response", "Notes"]
    assert rows[1][1:] == ["RN, night shift", "At-risk behaviour", "Coach", "'-Skipped check"]
    assert xlsx_rows(client_of(people["lead"]).get(f"{path}?format=xlsx"))[1][1] == "RN, night shift"
    for role in ("safety", "safety2", "cmo", "manager", "reporter", "board", "auditor"):
        before = AuditEvent.objects.count()
        assert client_of(people[role]).get(f"{path}?format=csv").status_code in (403, 404), role
        # Refused before the event is opened: nothing is recorded, neither a read of the event nor an export.
        assert AuditEvent.objects.count() == before, role
    # No export of the event's detail pages names the reporter or the Just Culture review to the safety team.
    client = client_of(people["safety"])
    for table in ("actions", "timeline", "causal_statements", "factors"):
        for export_format in ("csv", "xlsx"):
            text = response_text(client.get(f"/safety/events/{fall.pk}/rca/?table={table}&format={export_format}"))
            assert REPORTER_NAME not in text and "night shift" not in text and "Skipped check" not in text
