import pytest
from django.test import Client

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.emergency import services as emergency
from medgov.governance.emergency.models import Activation
from medgov.governance.staff.models import Credential, Fppe, PeerReviewCase, Practitioner, PrivilegeRequest
from tests.governance.staff.test_action_pages import _administrator, _for_cause_fppe, _licence, _request, world

__all__ = ["world"]

ENDPOINTS = [
    pytest.param(
        lambda w: f"/api/staff/credentials/{_licence(w).pk}/verification",
        {"verified_on": "2026-03-09", "result": "confirmed", "verification_source": "CVO feed"},
        lambda: list(Credential.objects.values_list("verified_on", "verification_source")),
        {Role.MEDICAL_STAFF_OFFICE: 200},
        Role.DEPARTMENT_CHIEF,
        id="verify-credential",
    ),
    pytest.param(
        lambda w: f"/api/staff/practitioners/{w.practitioner.pk}/for-cause-fppe",
        {"safety_event_reference": "{event}", "criteria": "Ten charts", "starts_on": "2026-03-10"},
        lambda: list(Fppe.objects.values_list("trigger", "safety_event_reference")),
        {Role.DEPARTMENT_CHIEF: 201},
        Role.MEDICAL_STAFF_OFFICE,
        id="safety-event-fppe",
    ),
    pytest.param(
        lambda w: f"/api/staff/fppes/{_for_cause_fppe(w).pk}/conclusion",
        {"satisfactory": False, "conclusion": "Concerns about documentation remain"},
        lambda: list(Fppe.objects.values_list("status", "conclusion")),
        {Role.CMO: 200},
        Role.MEDICAL_STAFF_OFFICE,
        id="conclude-fppe",
    ),
    pytest.param(
        lambda w: f"/api/staff/practitioners/{w.practitioner.pk}/peer-review-referrals",
        {"source": "safety_event", "reference": "SE-00012", "summary": "Delayed reversal"},
        lambda: PeerReviewCase.objects.count(),
        {Role.MEDICAL_STAFF_OFFICE: 201},
        Role.DEPARTMENT_CHIEF,
        id="refer-peer-review",
    ),
    pytest.param(
        lambda w: f"/api/staff/requests/{_request(w).pk}/complete",
        {},
        lambda: list(PrivilegeRequest.objects.values_list("is_complete", flat=True)),
        {Role.MEDICAL_STAFF_OFFICE: 200},
        Role.DEPARTMENT_CHIEF,
        id="mark-complete",
    ),
    pytest.param(
        lambda w: "/api/staff/warehouse-import",
        {},
        lambda: list(Practitioner.objects.values_list("npi", "warehouse_id")),
        {Role.MEDICAL_STAFF_OFFICE: 200},
        Role.DEPARTMENT_CHIEF,
        id="warehouse-import",
    ),
    pytest.param(
        lambda w: "/api/emergency/activations",
        {"title": "Flood"},
        lambda: list(Activation.objects.values_list("title", "closed_at")),
        {Role.MEDICAL_STAFF_OFFICE: 201},
        Role.DEPARTMENT_CHIEF,
        id="open-activation",
    ),
    pytest.param(
        lambda w: f"/api/emergency/activations/{emergency.do_open_activation(title='Flood', actor=None).pk}/close",
        {},
        lambda: list(Activation.objects.values_list("title", "closed_at")),
        {Role.CMO: 200},
        Role.DEPARTMENT_CHIEF,
        id="close-activation",
    ),
]


@pytest.mark.parametrize(("arrange", "payload", "state", "right", "other"), ENDPOINTS)
@pytest.mark.parametrize("who", ["anonymous", "no-role", "other-role", "right-role", "administrator"])
def test_api_action_authorisation_matrix(world, arrange, payload, state, right, other, who):
    path = arrange(world)
    payload = {key: world.safety_event.reference if value == "{event}" else value for key, value in payload.items()}
    [(role, success)] = right.items()
    users = {
        "no-role": lambda: world.make_user(),
        "other-role": lambda: world.make_user(other),
        "right-role": lambda: {Role.MEDICAL_STAFF_OFFICE: world.office, Role.DEPARTMENT_CHIEF: world.chief}.get(
            role, world.cmo
        ),
        "administrator": lambda: _administrator(world.make_user),
    }
    client = Client()
    if who in users:
        client.force_login(users[who]())
    before, events = state(), AuditEvent.objects.filter(is_read=False).count()
    response = client.post(path, payload, content_type="application/json")
    if who in ("right-role", "administrator"):
        assert response.status_code == success, response.content
        assert state() != before
        return
    expected = {"anonymous": {401}, "no-role": {403, 404}, "other-role": {403, 404}}[who]
    assert response.status_code in expected
    assert state() == before
    assert AuditEvent.objects.filter(is_read=False).count() == events


def test_api_refuses_a_for_cause_fppe_without_its_safety_event(world):
    client = Client()
    client.force_login(world.cmo)
    response = client.post(
        f"/api/staff/practitioners/{world.practitioner.pk}/for-cause-fppe",
        {"safety_event_reference": " ", "criteria": "Ten charts", "starts_on": "2026-03-10"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "name the safety event the FPPE comes from"},
    )
    assert Fppe.objects.count() == 0


def test_api_verification_answers_the_stored_credential(world):
    client = Client()
    client.force_login(world.office)
    licence = _licence(world)
    body = client.post(
        f"/api/staff/credentials/{licence.pk}/verification",
        {"verified_on": "2026-03-09", "result": "adverse", "verification_source": "CVO feed"},
        content_type="application/json",
    ).json()
    assert (body["id"], body["verified_on"], body["result"], body["verification_source"]) == (
        licence.pk,
        "2026-03-09",
        "adverse",
        "CVO feed",
    )
