import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from medgov.analytics.api import WarehousePractitioner
from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.emergency import services as emergency
from medgov.governance.emergency.models import Activation
from medgov.governance.staff import services
from medgov.governance.staff.models import (
    Credential,
    Fppe,
    PeerReviewCase,
    Practitioner,
    PrivilegeGrant,
    PrivilegeRequest,
)
from tests.governance.staff.conftest import npi_for
from tests.governance.staff.test_peer_review_and_oppe import _privileged, _results


@dataclass
class World:
    office: Any
    chief: Any
    cmo: Any
    item: Any
    practitioner: Any
    make_user: Callable[..., Any]
    safety_event: Any


@pytest.fixture
def world(office, chief, cmo, core_item, make_practitioner, make_user, make_safety_event, monkeypatch):
    # The warehouse directory, as the facade would read it from a loaded warehouse.
    monkeypatch.setattr(
        "medgov.analytics.api.practitioner_directory",
        lambda warehouse: (
            WarehousePractitioner("prac-9", npi_for(99999999), "Ito", "Ken", "207R00000X", "Internal Medicine", ""),
        ),
    )
    return World(office, chief, cmo, core_item, make_practitioner(), make_user, make_safety_event())


def _request(w):
    return services.do_submit_privilege_request(w.practitioner, kind="initial", items=[w.item], actor=w.office)


def _oppe(w):
    person = w.practitioner
    services.do_update_practitioner(person, warehouse_id="prac-outlier", actor=None)
    _privileged(person, w.item, w.office, w.chief, w.cmo)
    [profile] = services.do_record_oppe_results(w.item.department, _results("prac-outlier", "x"), actor=w.office)
    return profile


def _for_cause_fppe(w):
    return services.do_open_for_cause_fppe(
        w.practitioner,
        trigger="for_cause_safety_event",
        criteria="Review of anticoagulation",
        method="chart_review",
        starts_on=dt.date(2026, 3, 1),
        duration_days=60,
        safety_event_reference=w.safety_event.reference,
        actor=None,
    )


def _case(w):
    return services.do_refer_peer_review(w.practitioner, source="signal", reference="", summary="x", actor=None)


def _member(w):
    member = w.make_user(Role.CLINICIAN, username="member")
    services.do_appoint_peer_review_member(member, actor=None)
    return member


def _licence(w):
    return w.practitioner.credentials.get(kind="state_licence")


@dataclass(frozen=True)
class Case:
    name: str
    # Arrange what the page acts on; return the path and a valid POST.
    arrange: Callable[[World], tuple[str, dict[str, Any]]]
    # The state the write changes, to compare before and after.
    state: Callable[[], Any]
    allowed: frozenset[Role]
    # A role that may read medical staff files but not do this.
    other: Role
    denied_status: int = 403


def _open_activation(w):
    emergency.do_open_activation(title="Mass casualty incident", actor=None)
    return f"/staff/practitioners/{w.practitioner.pk}/disaster-privileges/", {
        "items": [w.item.pk],
        "presented_at": "2026-03-10T08:30",
    }


CASES = [
    Case(
        "submit-request",
        lambda w: (
            f"/staff/practitioners/{w.practitioner.pk}/requests/new/",
            {"kind": "initial", "items": [w.item.pk]},
        ),
        lambda: list(PrivilegeRequest.objects.values_list("kind", "status")),
        frozenset({Role.MEDICAL_STAFF_OFFICE, Role.CMO}),
        Role.DEPARTMENT_CHIEF,
    ),
    Case(
        "mark-complete",
        lambda w: (f"/staff/requests/{_request(w).pk}/complete/", {}),
        lambda: list(PrivilegeRequest.objects.values_list("is_complete", flat=True)),
        frozenset({Role.MEDICAL_STAFF_OFFICE, Role.CMO}),
        Role.DEPARTMENT_CHIEF,
    ),
    Case(
        "temporary-privileges",
        lambda w: (
            f"/staff/practitioners/{w.practitioner.pk}/temporary-privileges/",
            {"items": [w.item.pk], "reason": "patient_care_need", "starts_on": "2026-03-10", "ends_on": "2026-04-09"},
        ),
        lambda: list(PrivilegeGrant.objects.values_list("kind", "status")),
        frozenset({Role.CMO}),
        Role.MEDICAL_STAFF_OFFICE,
    ),
    Case(
        "disaster-privileges",
        _open_activation,
        lambda: list(PrivilegeGrant.objects.values_list("kind", "status")),
        frozenset({Role.CMO}),
        Role.MEDICAL_STAFF_OFFICE,
    ),
    Case(
        "safety-event-fppe",
        lambda w: (
            f"/staff/practitioners/{w.practitioner.pk}/fppe/new/",
            {
                "safety_event_reference": w.safety_event.reference.lower(),
                "criteria": "Ten anticoagulation charts",
                "method": "chart_review",
                "starts_on": "2026-03-10",
                "duration_days": "90",
            },
        ),
        lambda: list(Fppe.objects.values_list("trigger", "safety_event_reference")),
        frozenset({Role.CMO, Role.DEPARTMENT_CHIEF}),
        Role.MEDICAL_STAFF_OFFICE,
    ),
    Case(
        "oppe-fppe",
        lambda w: (
            f"/staff/oppe/{_oppe(w).pk}/fppe/",
            {"criteria": "Mortality review", "method": "proctoring", "starts_on": "2026-03-10", "duration_days": "60"},
        ),
        lambda: list(Fppe.objects.values_list("trigger", "oppe")),
        frozenset({Role.CMO, Role.DEPARTMENT_CHIEF}),
        Role.MEDICAL_STAFF_OFFICE,
    ),
    Case(
        "conclude-fppe",
        lambda w: (f"/staff/fppe/{_for_cause_fppe(w).pk}/", {"satisfactory": "yes", "conclusion": "Ten charts fine"}),
        lambda: list(Fppe.objects.values_list("status", "conclusion")),
        frozenset({Role.CMO, Role.DEPARTMENT_CHIEF}),
        Role.MEDICAL_STAFF_OFFICE,
    ),
    Case(
        "refer-peer-review",
        lambda w: (
            f"/staff/practitioners/{w.practitioner.pk}/peer-review/",
            {"source": "safety_event", "reference": "SE-00012", "summary": "Delayed reversal"},
        ),
        lambda: PeerReviewCase.objects.count(),
        frozenset({Role.MEDICAL_STAFF_OFFICE, Role.CMO}),
        Role.DEPARTMENT_CHIEF,
    ),
    Case(
        "assign-reviewer",
        lambda w: (f"/staff/peer-review/{_case(w).pk}/", {"reviewer": _member(w).pk}),
        lambda: list(PeerReviewCase.objects.values_list("reviewer", "status")),
        frozenset({Role.CMO}),
        Role.MEDICAL_STAFF_OFFICE,
        denied_status=404,
    ),
    Case(
        "appoint-committee-member",
        lambda w: ("/staff/peer-review/committee/", {"member": w.office.pk}),
        lambda: sorted(w_.username for w_ in _committee()),
        frozenset({Role.CMO}),
        Role.MEDICAL_STAFF_OFFICE,
        denied_status=404,
    ),
    Case(
        "verify-credential",
        lambda w: (
            f"/staff/credentials/{_licence(w).pk}/verify/",
            {"verified_on": "2026-03-09", "result": "confirmed", "verification_source": "Board licence lookup"},
        ),
        lambda: list(Credential.objects.values_list("verified_on", "verification_source")),
        frozenset({Role.MEDICAL_STAFF_OFFICE, Role.CMO}),
        Role.DEPARTMENT_CHIEF,
    ),
    Case(
        "warehouse-import",
        lambda w: ("/staff/import/warehouse/", {}),
        lambda: list(Practitioner.objects.values_list("npi", "warehouse_id")),
        frozenset({Role.MEDICAL_STAFF_OFFICE, Role.CMO}),
        Role.DEPARTMENT_CHIEF,
    ),
    Case(
        "open-activation",
        lambda w: ("/emergency/", {"title": "Flood"}),
        lambda: list(Activation.objects.values_list("title", "closed_at")),
        frozenset({Role.MEDICAL_STAFF_OFFICE, Role.CMO}),
        Role.DEPARTMENT_CHIEF,
    ),
    Case(
        "close-activation",
        lambda w: (
            f"/emergency/activations/{emergency.do_open_activation(title='Flood', actor=None).pk}/close/",
            {},
        ),
        lambda: list(Activation.objects.values_list("title", "closed_at")),
        frozenset({Role.MEDICAL_STAFF_OFFICE, Role.CMO}),
        Role.DEPARTMENT_CHIEF,
        denied_status=404,
    ),
]


def _committee():
    from medgov.governance.staff.selectors import _holders_of

    return _holders_of("staff.view_peer_review")


def _administrator(make_user):
    admin = make_user(Role.ADMINISTRATOR)
    type(admin).objects.filter(pk=admin.pk).update(is_superuser=True)
    admin.refresh_from_db()
    return admin


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("who", ["anonymous", "no-role", "other-role", "right-role", "administrator"])
def test_action_authorisation_matrix(world, case, who):
    path, data = case.arrange(world)
    client = Client()
    if who == "no-role":
        client.force_login(world.make_user())
    elif who == "other-role":
        client.force_login(world.make_user(case.other))
    elif who == "right-role":
        client.force_login(world.cmo if Role.CMO in case.allowed and len(case.allowed) == 1 else _right(world, case))
    elif who == "administrator":
        client.force_login(_administrator(world.make_user))
    before, events = case.state(), AuditEvent.objects.filter(is_read=False).count()
    response = client.post(path, data)
    if who in ("right-role", "administrator"):
        assert response.status_code == 302, response.content.decode()[-3000:]
        assert case.state() != before
        assert AuditEvent.objects.filter(is_read=False).count() > events
        return
    if who == "anonymous":
        assert (response.status_code, response["Location"].split("?")[0]) == (302, "/login/")
    elif who == "no-role":
        assert response.status_code in {403, 404}
    else:
        assert response.status_code == case.denied_status
    assert case.state() == before
    assert AuditEvent.objects.filter(is_read=False).count() == events


def _right(world, case):
    if Role.DEPARTMENT_CHIEF in case.allowed:
        return world.chief  # the chief of the practitioner's department
    if Role.MEDICAL_STAFF_OFFICE in case.allowed:
        return world.office
    return world.cmo


def _licence_path(w):
    return f"/staff/credentials/{_licence(w).pk}/verify/"


BAD_INPUT = [
    pytest.param(
        lambda w: f"/staff/practitioners/{w.practitioner.pk}/requests/new/",
        {"kind": "initial"},
        "This field is required.",
        id="request-without-privileges",
    ),
    pytest.param(
        lambda w: f"/staff/practitioners/{w.practitioner.pk}/temporary-privileges/",
        {"items": ["{item}"], "reason": "patient_care_need", "starts_on": "2026-03-10", "ends_on": "2026-03-01"},
        "temporary privileges cannot end before they start",
        id="temporary-ending-before-start",
    ),
    pytest.param(
        lambda w: f"/staff/practitioners/{w.practitioner.pk}/temporary-privileges/",
        {
            "items": ["{item}"],
            "reason": "pending_clean_application",
            "starts_on": "2026-03-10",
            "ends_on": "2026-04-01",
        },
        "there is no complete, clean application awaiting approval for this practitioner",
        id="temporary-without-a-clean-application",
    ),
    pytest.param(
        lambda w: f"/staff/practitioners/{w.practitioner.pk}/disaster-privileges/",
        {"items": ["{item}"], "presented_at": "2026-03-10T08:30"},
        "disaster privileges can be granted only while an emergency operations plan activation is open",
        id="disaster-without-an-open-activation",
    ),
    pytest.param(
        lambda w: f"/staff/practitioners/{w.practitioner.pk}/fppe/new/",
        {
            "safety_event_reference": "<script>alert(1)</script>",
            "criteria": "x",
            "method": "chart_review",
            "starts_on": "2026-03-10",
            "duration_days": "90",
        },
        "&#x27;&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;&#x27; is not a safety event reference such as SE-00012",
        id="fppe-with-a-hostile-event-reference",
    ),
    pytest.param(
        lambda w: f"/staff/practitioners/{w.practitioner.pk}/fppe/new/",
        {
            "safety_event_reference": "SE-00012",
            "criteria": "   ",
            "method": "chart_review",
            "starts_on": "2026-03-10",
            "duration_days": "0",
        },
        "Ensure this value is greater than or equal to 1.",
        id="fppe-lasting-no-days",
    ),
    pytest.param(
        lambda w: f"/staff/fppe/{_for_cause_fppe(w).pk}/",
        {"satisfactory": "yes", "conclusion": "  "},
        "This field is required.",
        id="fppe-conclusion-blank",
    ),
    pytest.param(
        lambda w: f"/staff/practitioners/{w.practitioner.pk}/peer-review/",
        {"source": "gossip", "summary": "x"},
        "Select a valid choice. gossip is not one of the available choices.",
        id="referral-from-an-unknown-source",
    ),
    pytest.param(
        _licence_path,
        {"verified_on": "2026-03-11", "result": "confirmed", "verification_source": "Board"},
        "a verification cannot be dated in the future",
        id="verification-in-the-future",
    ),
    pytest.param(
        _licence_path,
        {"verified_on": "2026-03-09", "result": "confirmed", "verification_source": ""},
        "This field is required.",
        id="verification-without-a-source",
    ),
    pytest.param(
        lambda w: "/emergency/",
        {"title": ""},
        "This field is required.",
        id="activation-without-a-title",
    ),
]


@pytest.mark.parametrize(("arrange", "data", "message"), BAD_INPUT)
def test_bad_input_on_an_action_page_names_the_problem_and_stores_nothing(world, arrange, data, message):
    path = arrange(world)
    data = {key: [world.item.pk] if value == ["{item}"] else value for key, value in data.items()}
    client = Client()
    client.force_login(world.cmo)
    counts = (PrivilegeRequest.objects.count(), PrivilegeGrant.objects.count(), Fppe.objects.count())
    states = (list(Fppe.objects.values_list("status", flat=True)), list(Credential.objects.values("verified_on")))
    events = AuditEvent.objects.filter(is_read=False).count()
    response = client.post(path, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (PrivilegeRequest.objects.count(), PrivilegeGrant.objects.count(), Fppe.objects.count()) == counts
    assert (
        list(Fppe.objects.values_list("status", flat=True)),
        list(Credential.objects.values("verified_on")),
    ) == states
    assert AuditEvent.objects.filter(is_read=False).count() == events


def test_a_reviewer_in_the_practitioners_group_practice_is_refused_on_the_form(world, make_practitioner):
    services.do_update_practitioner(world.practitioner, practice_group="Riverside Internists", actor=None)
    partner_user = world.make_user(Role.CLINICIAN, username="partner")
    make_practitioner(user=partner_user, practice_group="Riverside Internists")
    services.do_appoint_peer_review_member(partner_user, actor=None)
    case = _case(world)
    client = Client()
    client.force_login(world.cmo)
    events = AuditEvent.objects.filter(is_read=False).count()
    response = client.post(f"/staff/peer-review/{case.pk}/", {"reviewer": partner_user.pk})
    assert response.status_code == 400
    assert (
        "conflict of interest: the reviewer is a partner of the practitioner (Riverside Internists)"
        in response.content.decode()
    )
    case.refresh_from_db()
    assert (case.reviewer, case.status) == (None, "referred")
    assert AuditEvent.objects.filter(is_read=False).count() == events


def test_the_reviewer_list_offers_only_committee_members(world):
    member = _member(world)
    case = _case(world)
    client = Client()
    client.force_login(world.cmo)
    response = client.post(f"/staff/peer-review/{case.pk}/", {"reviewer": world.office.pk})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    response = client.post(f"/staff/peer-review/{case.pk}/", {"reviewer": member.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.reviewer, case.status) == (member, "under_review")


def test_a_missing_warehouse_imports_nothing_and_says_where_it_looked(world, settings, tmp_path, monkeypatch):
    monkeypatch.undo()
    settings.MEDGOV_WAREHOUSE = tmp_path / "absent.duckdb"
    client = Client()
    client.force_login(world.office)
    practitioners = Practitioner.objects.count()
    response = client.post("/staff/import/warehouse/", {})
    assert response.status_code == 400
    assert f"nothing imported: no warehouse at {tmp_path / 'absent.duckdb'}" in response.content.decode()
    assert Practitioner.objects.count() == practitioners


def test_the_warehouse_import_reports_what_it_did(world):
    client = Client()
    client.force_login(world.office)
    response = client.post("/staff/import/warehouse/", {}, follow=True)
    assert "Warehouse import: 1 created, 0 updated, 0 unchanged." in response.content.decode()
    assert Practitioner.objects.get(warehouse_id="prac-9").family_name == "Ito"


def test_disaster_privileges_follow_the_activation_opened_and_closed_on_the_emergency_page(world):
    client = Client()
    client.force_login(world.cmo)
    path = f"/staff/practitioners/{world.practitioner.pk}/disaster-privileges/"
    assert "No emergency operations plan activation is open" in client.get(path).content.decode()
    assert client.post("/emergency/", {"title": "Mass casualty incident"}).status_code == 302
    activation = Activation.objects.get()
    assert "Under the open activation “Mass casualty incident”" in client.get(path).content.decode()
    response = client.post(path, {"items": [world.item.pk], "presented_at": "2026-03-10T08:30"})
    assert response.status_code == 302
    grant = PrivilegeGrant.objects.get()
    assert (grant.kind, grant.activation, grant.status) == ("disaster", activation, "active")
    assert client.post(f"/emergency/activations/{activation.pk}/close/").status_code == 302
    activation.refresh_from_db()
    assert activation.closed_at is not None
    assert "No emergency operations plan activation is open" in client.get(path).content.decode()


def test_marking_an_application_complete_shows_on_the_request_page(world):
    request = _request(world)
    client = Client()
    client.force_login(world.office)
    page = client.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "Mark the application complete" in page
    response = client.post(f"/staff/requests/{request.pk}/complete/", follow=True)
    assert '<span id="request-complete">complete</span>' in response.content.decode()
    assert AuditEvent.objects.filter(action="staff.privilege_request_complete").count() == 1
