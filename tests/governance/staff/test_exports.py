import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.staff import services
from medgov.governance.staff.models import PrivilegeGrant
from tests.fixtures.exports import XLSX, csv_rows, xlsx_rows
from tests.governance.staff.conftest import npi_for
from tests.governance.staff.test_peer_review_and_oppe import _privileged, _results


def client_of(user):
    client = Client()
    client.force_login(user)
    return client


def test_practitioner_list_exports_with_the_search_applied(office, make_practitioner):
    hostile = make_practitioner(given_name="=SUM(A1:A9)", specialty="Cardiology", credentials=False)
    other = make_practitioner(family_name="Okafor", credentials=False)
    client = client_of(office)
    response = client.get("/staff/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-practitioners-')
    rows = csv_rows(response)
    assert rows[0] == ["Name", "NPI", "Specialty", "Department", "Category", "Status"]
    assert ["'" + str(hostile), hostile.npi, "Cardiology", "Internal Medicine", "Provisional", "Applicant"] in rows
    searched = csv_rows(client.get("/staff/?q=Okafor&format=csv"))
    assert [row[:2] for row in searched] == [["Name", "NPI"], [str(other), other.npi]]
    sheet = xlsx_rows(client.get("/staff/?q=Okafor&format=xlsx"))
    assert sheet == [
        ["Name", "NPI", "Specialty", "Department", "Category", "Status"],
        [str(other), other.npi, None, "Internal Medicine", "Provisional", "Applicant"],
    ]


def test_the_practitioner_export_holds_more_than_the_page_shows(office, department):
    for index in range(205):
        services.do_create_practitioner(
            npi=npi_for(40000000 + index), family_name=f"Zed{index:03d}", given_name="Al", actor=None
        )
    client = client_of(office)
    assert client.get("/staff/").content.decode().count('href="/staff/practitioners/') == 200
    assert len(csv_rows(client.get("/staff/?format=csv"))) == 1 + 205


def test_an_export_is_audited_as_a_read(office, make_practitioner):
    make_practitioner(credentials=False)
    client_of(office).get("/staff/?q=Doe&format=xlsx")
    entry = AuditEvent.objects.latest("id")
    assert (entry.actor, entry.action, entry.object_type, entry.object_repr, entry.is_read, entry.after) == (
        office,
        "export",
        "staff.practitioner",
        "practitioners",
        True,
        {"format": "xlsx", "filters": {"q": "Doe"}},
    )


@pytest.mark.parametrize("role", [None, Role.CLINICIAN, Role.BOARD_MEMBER, Role.AUDITOR, Role.QUALITY_SAFETY])
@pytest.mark.parametrize(
    "path", ["/staff/", "/staff/expirables/", "/staff/requests/", "/staff/oppe/", "/staff/oppe/due/", "/staff/fppe/"]
)
def test_staff_exports_are_refused_to_roles_without_the_pages(make_user, make_practitioner, role, path):
    make_practitioner()
    client = client_of(make_user(*([role] if role else [])))
    before = AuditEvent.objects.count()
    assert client.get(f"{path}?format=csv").status_code == 403
    assert AuditEvent.objects.count() == before


def test_expirables_export(office, make_practitioner):
    person = make_practitioner(credentials=False)
    response = client_of(office).get("/staff/expirables/?format=csv")
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-expirables-2026-03-10-')
    rows = csv_rows(response)
    assert rows[0] == ["Practitioner", "Credential", "State", "Expires", "Window"]
    assert rows[1] == [str(person), "State licence", "missing", "", ""]


def test_expiring_credentials_export_their_date_and_window(office, make_practitioner):
    person = make_practitioner()
    licence = person.credentials.get(kind="state_licence")
    licence.expires_on = dt.date(2026, 4, 1)
    licence.save()
    rows = xlsx_rows(client_of(office).get("/staff/expirables/?format=xlsx"))
    assert rows[1] == [str(person), "State licence MD-1001", "expiring", dt.datetime(2026, 4, 1), "≤ 30 days"]


@pytest.fixture
def privileged(office, chief, cmo, make_practitioner, core_item):
    practitioner = make_practitioner(warehouse_id="prac-outlier")
    _privileged(practitioner, core_item, office, chief, cmo)
    return practitioner


def test_pending_privilege_requests_export(office, make_practitioner, core_item, controlled_item):
    person = make_practitioner()
    services.do_submit_privilege_request(
        person, kind="initial", items=[core_item, controlled_item], is_complete=True, actor=office
    )
    rows = csv_rows(client_of(office).get("/staff/requests/?format=csv"))
    assert rows == [
        ["Practitioner", "Kind", "Submitted", "Privileges", "Awaiting"],
        [
            str(person),
            "Initial appointment",
            "2026-03-10",
            "Internal medicine core, Moderate sedation",
            "Awaiting department chief",
        ],
    ]


def test_oppe_exports_follow_who_may_see_them(office, chief, cmo, make_user, privileged, core_item):
    services.do_record_oppe_results(core_item.department, _results("prac-outlier", "x"), actor=office)
    rows = csv_rows(client_of(chief).get("/staff/oppe/?format=csv"))
    assert rows == [
        ["Practitioner", "Department", "Period from", "Period to", "Flag", "Status"],
        [
            str(privileged),
            "Internal Medicine",
            "2025-01-01",
            "2025-12-31",
            "outside the funnel",
            "Awaiting the department chief's decision",
        ],
    ]
    other_chief = make_user(Role.DEPARTMENT_CHIEF)
    services.do_create_department(name="Surgery", code="surgery", chief=other_chief, actor=None)
    assert csv_rows(client_of(other_chief).get("/staff/oppe/?format=csv")) == [rows[0]]


def test_due_for_oppe_export(office, privileged):
    PrivilegeGrant.objects.update(starts_on=dt.date(2025, 1, 1))
    response = client_of(office).get("/staff/oppe/due/?format=xlsx")
    assert response["Content-Type"] == XLSX
    assert xlsx_rows(response) == [
        ["Practitioner", "Department", "First granted", "Last OPPE period ended", "Due"],
        [str(privileged), "Internal Medicine", dt.datetime(2025, 1, 1), "never", dt.datetime(2026, 1, 1)],
    ]


def test_fppe_list_and_export_with_the_status_filter(office, cmo, privileged):
    client = client_of(office)
    page = client.get("/staff/fppe/?status=open")
    assert page.status_code == 200
    assert "Internal medicine core" in page.content.decode()
    header = ["Practitioner", "Trigger", "Privilege", "Method", "From", "To", "Status"]
    row = [
        str(privileged),
        "New applicant",
        "Internal medicine core",
        "Chart review",
        "2026-03-10",
        "2026-06-08",
        "Open",
    ]
    assert csv_rows(client.get("/staff/fppe/?status=open&format=csv")) == [header, row]
    services.do_conclude_fppe(privileged.fppes.get(), satisfactory=True, conclusion="Ten charts reviewed", actor=cmo)
    assert csv_rows(client.get("/staff/fppe/?status=open&format=csv")) == [header]
    assert csv_rows(client.get("/staff/fppe/?format=csv"))[1][6] == "Completed: competence confirmed"


def test_peer_review_export_is_the_committees_and_audited(cmo, office, make_user, make_practitioner):
    member = make_user(Role.CLINICIAN)
    services.do_appoint_peer_review_member(member, actor=cmo)
    person = make_practitioner()
    case = services.do_refer_peer_review(person, source="signal", reference="", summary="Confidential", actor=office)
    for reader in (cmo, member):
        before = AuditEvent.objects.filter(actor=reader, is_read=True).count()
        rows = csv_rows(client_of(reader).get("/staff/peer-review/?format=csv"))
        assert rows == [
            ["Case", "Practitioner", "Referred", "Source", "Reviewer", "Status"],
            [f"Peer review case {case.pk}", str(person), "2026-03-10", "Statistical signal", "unassigned", "Referred"],
        ]
        actions = AuditEvent.objects.filter(actor=reader, is_read=True).order_by("id").values_list("action", flat=True)
        assert list(actions[before:]) == ["staff.peer_review_list_read", "export"]
    for reader in (office, make_user(Role.DEPARTMENT_CHIEF), make_user(Role.AUDITOR)):
        before = AuditEvent.objects.count()
        assert client_of(reader).get("/staff/peer-review/?format=xlsx").status_code == 404
        assert AuditEvent.objects.count() == before


def test_committee_export_neutralises_hostile_names(cmo, make_user):
    member = make_user(Role.CLINICIAN, display_name="@cmd|' /C calc'!A0")
    services.do_appoint_peer_review_member(member, actor=cmo)
    response = client_of(cmo).get("/staff/peer-review/committee/?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content), read_only=False).active
    values = [(cell.value, cell.data_type) for (cell,) in sheet.iter_rows(min_row=2)]
    assert ("'@cmd|' /C calc'!A0", "s") in values


# --- the tables of the detail pages ------------------------------------------------------------------------------


def test_a_practitioners_credentials_privileges_and_fppes_export(office, cmo, privileged):
    client = client_of(office)
    base = f"/staff/practitioners/{privileged.pk}/"
    page = client.get(base).content.decode()
    for table in ("credentials", "privileges", "fppes"):
        assert f"?table={table}&amp;format=csv" in page
    response = client.get(f"{base}?table=credentials&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="medgov-practitioner-{privileged.pk}-credentials-'
    )
    rows = csv_rows(response)
    assert rows[0] == ["Credential", "Issuer", "Number", "Issued", "Expires", "Verified", "Result", "Status"]
    licence = next(row for row in rows if row[0] == "State licence")
    assert licence[2].startswith("MD-1001") and licence[5].startswith("2026-03-01")
    response = client.get(f"{base}?table=privileges&format=xlsx")
    assert (response.status_code, response["Content-Type"]) == (200, XLSX)
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="medgov-practitioner-{privileged.pk}-privileges-'
    )
    sheet = xlsx_rows(response)
    assert sheet[0] == ["Privilege", "Kind", "From", "To", "Status", "Deadlines"]
    assert sheet[1][:2] == ["Internal medicine core", "Regular"] and sheet[1][4] == "Active"
    rows = csv_rows(client.get(f"{base}?table=fppes&format=csv"))
    assert rows == [
        ["Trigger", "Privilege", "Method", "From", "To", "Status"],
        ["New applicant", "Internal medicine core", "Chart review", "2026-03-10", "2026-06-08", "Open"],
    ]
    assert client.get(f"{base}?table=patients&format=csv").status_code == 400
    entry = AuditEvent.objects.latest("id")
    assert (entry.action, entry.object_type, entry.object_repr) == (
        "export",
        "staff.fppe",
        f"practitioner-{privileged.pk}-fppes",
    )


def test_a_practitioners_appointments_and_oppe_history_export(office, chief, make_user, privileged):
    services.do_record_oppe_results(privileged.department, _results("prac-outlier", "x"), actor=office)
    base = f"/staff/practitioners/{privileged.pk}/"
    response = client_of(office).get(f"{base}?table=appointments&format=csv")
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="medgov-practitioner-{privileged.pk}-appointments-'
    )
    rows = csv_rows(response)
    assert rows[0] == ["Category", "From", "To", "Reappointment due"]
    appointment = privileged.appointments.get()
    assert rows[1] == [
        appointment.get_category_display(),
        appointment.starts_on.isoformat(),
        appointment.ends_on.isoformat(),
        appointment.reappointment_due_on.isoformat(),
    ]
    assert "table=oppe&amp;format=csv" in client_of(chief).get(base).content.decode()
    response = client_of(chief).get(f"{base}?table=oppe&format=xlsx")
    assert (response.status_code, response["Content-Type"]) == (200, XLSX)
    assert xlsx_rows(response) == [
        ["Period from", "Period to", "Status", "Flag"],
        [dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), "Awaiting the department chief's decision", "flagged"],
    ]
    # A chief of another department reads the file but not this practitioner's OPPE: no such table for them.
    other_chief = make_user(Role.DEPARTMENT_CHIEF)
    services.do_create_department(name="Surgery", code="surgery", chief=other_chief, actor=None)
    client = client_of(other_chief)
    assert client.get(base).status_code == 200
    before = AuditEvent.objects.filter(action="export").count()
    assert client.get(f"{base}?table=oppe&format=csv").status_code == 400
    assert AuditEvent.objects.filter(action="export").count() == before


def test_a_disaster_grant_exports_its_clocks(office, cmo, make_practitioner, core_item):
    from medgov.governance.emergency import services as emergency

    person = make_practitioner()
    emergency.do_open_activation(title="Mass casualty incident", actor=None)
    presented = dt.datetime(2026, 3, 10, 7, 0, tzinfo=dt.UTC)
    services.do_grant_disaster_privileges(person, items=[core_item], presented_at=presented, actor=None)
    rows = csv_rows(client_of(office).get(f"/staff/practitioners/{person.pk}/?table=privileges&format=csv"))
    assert rows[1][1] == "Disaster under “Mass casualty incident”"
    assert rows[1][5].startswith("Licence verification due ")
    assert "h left; Continuation decision due " in rows[1][5]
    listed = csv_rows(client_of(cmo).get("/staff/special-privileges/?format=csv"))
    assert listed[0] == ["Practitioner", "Privilege", "Kind", "From", "Until", "Deadlines"]
    assert listed[1][:2] == [str(person), "Internal medicine core"]
    assert listed[1][2].startswith("Disaster under “Mass casualty incident”, presented ")
    assert listed[1][5] == rows[1][5]


def test_an_oppe_profiles_indicators_export(office, chief, privileged):
    services.do_record_oppe_results(privileged.department, _results("prac-outlier", "x"), actor=office)
    profile = privileged.oppe_profiles.get()
    path = f"/staff/oppe/{profile.pk}/"
    assert "format=xlsx" in client_of(chief).get(path).content.decode()
    response = client_of(chief).get(f"{path}?format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="medgov-oppe-{profile.pk}-indicators-')
    rows = csv_rows(response)
    assert rows[0] == [
        "Indicator",
        "Cases",
        "Observed",
        "Expected",
        "Value",
        "95% interval",
        "Department",
        "Funnel limits",
        "Position",
    ]
    names = [indicator.name for indicator in profile.indicators.all()]
    assert [row[0] for row in rows[1:]] == names
    assert xlsx_rows(client_of(chief).get(f"{path}?format=xlsx"))[1][0] == names[0]


def test_peer_review_ratings_export_only_to_the_committee_and_the_cmo(cmo, office, make_user, make_practitioner):
    member = make_user(Role.CLINICIAN)
    services.do_appoint_peer_review_member(member, actor=cmo)
    member = type(member).objects.get(pk=member.pk)
    case = services.do_refer_peer_review(
        make_practitioner(), source="signal", reference="", summary="Confidential", actor=office
    )
    case = services.do_assign_peer_reviewer(case, member, actor=cmo)
    services.do_rate_peer_review(
        case, care="questionable", outcome="no_harm", documentation="adequate", comments="=HYPERLINK(x)", actor=member
    )
    path = f"/staff/peer-review/{case.pk}/"
    for reader in (cmo, member):
        response = client_of(reader).get(f"{path}?format=csv")
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith(
            f'attachment; filename="medgov-peer-review-case-{case.pk}-ratings-'
        )
        rows = csv_rows(response)
        assert rows[0] == ["Reviewer", "Care", "Outcome", "Documentation", "Comments"]
        assert rows[1][0] == str(member) and rows[1][4] == "'=HYPERLINK(x)"
    assert xlsx_rows(client_of(cmo).get(f"{path}?format=xlsx"))[1][4] == "'=HYPERLINK(x)"
    for reader in (office, make_user(Role.DEPARTMENT_CHIEF), make_user(Role.AUDITOR), make_user(Role.CLINICIAN)):
        before = AuditEvent.objects.count()
        assert client_of(reader).get(f"{path}?format=csv").status_code in (403, 404)
        assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.BOARD_MEMBER, Role.AUDITOR])
def test_detail_page_exports_are_refused_to_roles_without_the_pages(make_user, office, privileged, role):
    services.do_record_oppe_results(privileged.department, _results("prac-outlier", "x"), actor=office)
    client = client_of(make_user(role))
    paths = [
        f"/staff/practitioners/{privileged.pk}/?table=credentials&format=csv",
        f"/staff/practitioners/{privileged.pk}/?table=fppes&format=xlsx",
        f"/staff/oppe/{privileged.oppe_profiles.get().pk}/?format=csv",
        "/staff/special-privileges/?format=csv",
    ]
    for path in paths:
        before = AuditEvent.objects.count()
        assert client.get(path).status_code in (403, 404), path
        assert AuditEvent.objects.count() == before, path


def test_emergency_activations_export_names_volunteers_only_to_readers_of_staff_files(
    office, make_user, make_practitioner, core_item
):
    from django.contrib.auth.models import Permission

    from medgov.governance.emergency import services as emergency

    person = make_practitioner()
    emergency.do_open_activation(title="=Mass casualty incident", actor=None)
    presented = dt.datetime(2026, 3, 10, 7, 0, tzinfo=dt.UTC)
    services.do_grant_disaster_privileges(person, items=[core_item], presented_at=presented, actor=None)
    client = client_of(office)
    assert "format=csv" in client.get("/emergency/").content.decode()
    response = client.get("/emergency/?format=csv")
    assert (response.status_code, response["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert response["Content-Disposition"].startswith('attachment; filename="medgov-emergency-activations-')
    rows = csv_rows(response)
    assert rows[0] == ["Activation", "Opened", "By", "Closed", "Disaster privileges"]
    assert rows[1][0] == "'=Mass casualty incident" and rows[1][2:4] == ["system", "open"]
    assert rows[1][4] == f"{person} (Internal medicine core) licence to verify"
    assert xlsx_rows(client.get("/emergency/?format=xlsx"))[1][4] == rows[1][4]
    # Someone who opens activations without reading staff files sees no volunteers, on the page or in the export.
    coordinator = make_user()
    coordinator.user_permissions.add(Permission.objects.get(codename="manage_activation"))
    rows = csv_rows(client_of(coordinator).get("/emergency/?format=csv"))
    assert rows[0] == ["Activation", "Opened", "By", "Closed"]
    assert str(person) not in str(rows)
    for role in (Role.CLINICIAN, Role.BOARD_MEMBER, Role.AUDITOR, Role.DEPARTMENT_CHIEF):
        outsider = client_of(make_user(role))
        before = AuditEvent.objects.count()
        assert outsider.get("/emergency/?format=csv").status_code in (403, 404), role
        assert AuditEvent.objects.count() == before
