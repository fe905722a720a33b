import datetime as dt

import pytest
from django.test import Client

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.staff import services
from medgov.governance.staff.models import Credential, Practitioner
from tests.fixtures.exports import response_text
from tests.governance.staff.test_peer_review_and_oppe import _privileged, _results

SECRET = "ZEBRA-7731 missed the anticoagulation reversal"
RATING_SECRET = "QUOKKA-4410 reviewer's own finding"
STAFF_EXPORTS = [
    "/staff/",
    "/staff/expirables/",
    "/staff/requests/",
    "/staff/oppe/",
    "/staff/oppe/due/",
    "/staff/fppe/",
    "/staff/peer-review/",
    "/staff/peer-review/committee/",
]
ALL_ROLES = [None, *Role]
STAFF_VIEWERS = {Role.CMO, Role.MEDICAL_STAFF_OFFICE, Role.DEPARTMENT_CHIEF}


def _client(make_user, role):
    user = make_user(*([role] if role else []))
    client = Client()
    client.force_login(user)
    return client, user


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda role: role.value if role else "no-role")
def test_staff_pages_by_role(make_user, make_practitioner, role):
    practitioner = make_practitioner()
    client, _ = _client(make_user, role)
    expected = 200 if role in STAFF_VIEWERS else 403
    for path in ("/staff/", f"/staff/practitioners/{practitioner.pk}/", "/staff/expirables/", "/staff/requests/"):
        status = client.get(path).status_code
        if path.startswith("/staff/practitioners/") and expected == 403:
            assert status == 404, path  # the same answer for missing and forbidden
        else:
            assert status == expected, path


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda role: role.value if role else "no-role")
def test_creating_a_practitioner_through_the_web_by_role(make_user, role):
    client, _ = _client(make_user, role)
    events = AuditEvent.objects.count()
    response = client.post(
        "/staff/",
        {"npi": "1234567893", "given_name": "Ada", "family_name": "Okafor", "appointment_category": "provisional"},
    )
    if role in (Role.CMO, Role.MEDICAL_STAFF_OFFICE):
        assert response.status_code == 302
        assert Practitioner.objects.get().npi == "1234567893"
        assert AuditEvent.objects.filter(action="staff.practitioner_create").count() == 1
    else:
        assert response.status_code == 403
        assert (Practitioner.objects.count(), AuditEvent.objects.count()) == (0, events)


def test_invalid_npi_through_the_web_names_the_error(client_for):
    client = client_for(Role.MEDICAL_STAFF_OFFICE)
    response = client.post(
        "/staff/",
        {"npi": "1234567890", "given_name": "Ada", "family_name": "Okafor", "appointment_category": "provisional"},
    )
    assert response.status_code == 200
    assert "NPI 1234567890 fails the check digit (Luhn with prefix 80840)" in response.content.decode()
    assert Practitioner.objects.count() == 0


def test_expiry_before_issue_through_the_web_is_refused(client_for, make_practitioner):
    practitioner = make_practitioner(credentials=False)
    client = client_for(Role.MEDICAL_STAFF_OFFICE)
    response = client.post(
        f"/staff/practitioners/{practitioner.pk}/credentials/",
        {
            "kind": "state_licence",
            "issuer": "Board",
            "number": "X",
            "issued_on": "2026-02-01",
            "expires_on": "2026-01-31",
        },
    )
    assert response.status_code == 400
    assert "expiry date 2026-01-31 is before the issue date 2026-02-01" in response.content.decode()
    assert Credential.objects.count() == 0


def test_malformed_nppes_upload_imports_nothing(client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(Role.MEDICAL_STAFF_OFFICE)
    response = client.post(
        "/staff/import/",
        {
            "header_file": SimpleUploadedFile("npidata_pfile_fileheader.csv", b'"NPI","Name"\n'),
            "data_file": SimpleUploadedFile("npidata_pfile.csv", b'"1234567893","X"\n'),
        },
    )
    assert response.status_code == 400
    assert (
        "Nothing was imported: npidata_pfile_fileheader.csv: missing NPPES column(s): &#x27;Entity Type Code&#x27;"
        in response.content.decode()
    )
    assert Practitioner.objects.count() == 0


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda role: role.value if role else "no-role")
def test_api_create_practitioner_by_role(make_user, role):
    client, _ = _client(make_user, role)
    events = AuditEvent.objects.count()
    response = client.post(
        "/api/staff/practitioners",
        {"npi": "1234567893", "family_name": "Okafor", "given_name": "Ada"},
        content_type="application/json",
    )
    if role in (Role.CMO, Role.MEDICAL_STAFF_OFFICE):
        assert response.status_code == 201
        assert response.json()["npi"] == "1234567893"
    else:
        assert response.status_code == 403
        assert (Practitioner.objects.count(), AuditEvent.objects.count()) == (0, events)


def test_api_refuses_an_invalid_npi_with_its_reason(client_for):
    client = client_for(Role.MEDICAL_STAFF_OFFICE)
    response = client.post(
        "/api/staff/practitioners",
        {"npi": "1234567890", "family_name": "Okafor", "given_name": "Ada"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "NPI 1234567890 fails the check digit (Luhn with prefix 80840)"},
    )


def test_api_oppe_profile_returns_the_stored_numbers(client_for, office, chief, cmo, make_practitioner, core_item):
    outlier = make_practitioner(warehouse_id="prac-outlier")
    _privileged(outlier, core_item, office, chief, cmo)
    [profile] = services.do_record_oppe_results(core_item.department, _results("prac-outlier", "x"), actor=office)
    client = Client()
    client.force_login(chief)
    body = client.get(f"/api/staff/oppe/{profile.pk}").json()
    assert body["flagged"] is True
    assert [(i["code"], i["cases"], i["value"], i["position"]) for i in body["indicators"]] == [
        ("volume", 212, 212.0, "not_applicable"),
        ("mortality-oe", 212, 2.289, "above"),
        ("readmission-oe", 200, 1.056, "within"),
    ]
    page = client.get(f"/staff/oppe/{profile.pk}/")
    assert page.status_code == 200
    assert 'id="funnel-' in page.content.decode()


def test_peer_review_confidentiality_across_every_role_and_response(
    make_user, cmo, office, chief, make_practitioner, core_item
):
    practitioner = make_practitioner(warehouse_id="prac-outlier")
    _privileged(practitioner, core_item, office, chief, cmo)
    services.do_record_oppe_results(core_item.department, _results("prac-outlier", "x"), actor=office)
    case = services.do_refer_peer_review(
        practitioner, source="safety_event", reference="SE-77", summary=SECRET, actor=office
    )
    member = make_user(Role.CLINICIAN)
    services.do_appoint_peer_review_member(member, actor=cmo)
    member = type(member).objects.get(pk=member.pk)
    case = services.do_assign_peer_reviewer(case, member, actor=cmo)
    services.do_rate_peer_review(
        case, care="questionable", outcome="no_harm", documentation="adequate", comments=RATING_SECRET, actor=member
    )
    paths = [
        "/",
        "/staff/",
        f"/staff/practitioners/{practitioner.pk}/",
        "/staff/expirables/",
        "/staff/requests/",
        "/staff/oppe/",
        "/staff/peer-review/",
        f"/staff/peer-review/{case.pk}/",
        "/audit/",
        "/audit/export.csv",
        "/api/staff/practitioners",
        f"/api/staff/practitioners/{practitioner.pk}",
        "/api/staff/expirables",
        "/api/staff/peer-review",
        "/api/me",
    ]
    detail_exports = [
        *(
            f"/staff/practitioners/{practitioner.pk}/?table={table}&"
            for table in ("credentials", "privileges", "appointments", "fppes", "oppe")
        ),
        f"/staff/oppe/{practitioner.oppe_profiles.get().pk}/?",
    ]
    exports = [f"{path}?format={export_format}" for path in STAFF_EXPORTS for export_format in ("csv", "xlsx")]
    exports += [f"{path}format={export_format}" for path in detail_exports for export_format in ("csv", "xlsx")]
    ratings = [f"/staff/peer-review/{case.pk}/?format={export_format}" for export_format in ("csv", "xlsx")]
    readers = [(cmo, True), (member, True)]
    readers += [(make_user(*([role] if role else [])), False) for role in ALL_ROLES if role != Role.CMO]
    for reader, allowed in readers:
        client = Client()
        client.force_login(reader)
        reads = AuditEvent.objects.filter(is_read=True, actor=reader).exclude(action="export")
        reads_before = reads.count()
        bodies = [response_text(client.get(path)) for path in paths]
        found = any(SECRET in body for body in bodies)
        assert found is allowed, reader.role_names
        # list page, case page, API list (an export of the audit trail is a read of the trail, not of a case)
        assert reads.count() - reads_before == (3 if allowed else 0), reader.role_names
        exported = {path: client.get(path) for path in exports}
        case_rows = [
            path for path, response in exported.items() if f"Peer review case {case.pk}" in response_text(response)
        ]
        assert case_rows == (
            ["/staff/peer-review/?format=csv", "/staff/peer-review/?format=xlsx"] if allowed else []
        ), reader.role_names
        assert not any(SECRET in response_text(response) for response in exported.values())
        assert {exported[path].status_code for path in exports if path.startswith("/staff/peer-review/?")} == (
            {200} if allowed else {404}
        )
        # The case's ratings export holds the reviewer's comments, for the committee and the CMO only.
        rated = [client.get(path) for path in ratings]
        assert [RATING_SECRET in response_text(response) for response in rated] == [allowed, allowed], reader
        assert not any(SECRET in response_text(response) for response in rated)
        assert not any(RATING_SECRET in response_text(response) for response in exported.values())


def test_peer_review_case_pages_answer_404_outside_the_committee(client_for, office, make_practitioner):
    case = services.do_refer_peer_review(
        make_practitioner(), source="signal", reference="", summary=SECRET, actor=office
    )
    client = client_for(Role.MEDICAL_STAFF_OFFICE)
    assert client.get(f"/staff/peer-review/{case.pk}/").status_code == 404
    assert client.get("/staff/peer-review/999999/").status_code == 404
    assert client.get("/api/staff/peer-review").status_code == 403


def test_the_chief_records_an_oppe_decision_through_the_web(office, chief, cmo, make_practitioner, core_item):
    practitioner = make_practitioner(warehouse_id="prac-outlier")
    _privileged(practitioner, core_item, office, chief, cmo)
    [profile] = services.do_record_oppe_results(core_item.department, _results("prac-outlier", "x"), actor=office)
    client = Client()
    client.force_login(chief)
    response = client.post(f"/staff/oppe/{profile.pk}/", {"decision": "continue", "rationale": "Case mix explains it"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.decision, profile.decided_on) == ("continue", dt.date(2026, 3, 10))
