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
