import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent, Notice
from medgov.governance.emergency import services as emergency
from medgov.governance.emergency.selectors import open_activations
from medgov.governance.staff import services
from medgov.governance.staff.choices import GrantStatus, PractitionerStatus
from medgov.governance.staff.models import Fppe, PeerReviewCase, PrivilegeGrant
from medgov.governance.staff.selectors import _holders_of
from tests.governance.staff.conftest import REPORTER_NAME

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # the staff tests' frozen clock
PRESENTED = dt.datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


@dataclass
class Scene:
    users: dict[str, Any]
    practitioner: Any
    item: Any
    make_user: Callable[..., Any]
    make_safety_event: Callable[..., Any]
    make_practitioner: Callable[..., Any]


@pytest.fixture
def scene(office, chief, cmo, core_item, make_practitioner, make_user, make_safety_event):
    committee = make_user(Role.CLINICIAN, username="committee")
    services.do_appoint_peer_review_member(committee, actor=None)
    users = {
        "office": office,
        "chief": chief,
        "committee": committee,
        "cmo": cmo,
        "clinician": make_user(Role.CLINICIAN, username="clinician"),
        "board": make_user(Role.BOARD_MEMBER, username="board"),
    }
    return Scene(users, make_practitioner(), core_item, make_user, make_safety_event, make_practitioner)


def _disaster_grant(scene, *, presented_at=PRESENTED, verified=False):
    if not open_activations().exists():
        emergency.do_open_activation(title="Mass casualty incident", actor=None)
    [grant] = services.do_grant_disaster_privileges(
        scene.practitioner, items=[scene.item], presented_at=presented_at, actor=None
    )
    if verified:
        grant = services.do_record_disaster_verification(
            grant,
            verified_at=presented_at + dt.timedelta(hours=1),
            source="State board licence lookup",
            result="confirmed",
            actor=None,
        )
    return grant


def _grants():
    return list(
        PrivilegeGrant.objects.order_by("pk").values_list(
            "kind", "status", "licence_verified_at", "licence_verification_source", "continuation_decision"
        )
    )


def _case(scene):
    return services.do_refer_peer_review(
        scene.practitioner, source="signal", reference="", summary="Mortality above the funnel", actor=None
    )


def _reviewer(scene):
    reviewer = scene.make_user(Role.CLINICIAN, username="reviewer")
    services.do_appoint_peer_review_member(reviewer, actor=None)
    return reviewer


def _fppe(scene, event=None):
    return services.do_open_for_cause_fppe(
        scene.practitioner,
        trigger="for_cause_safety_event",
        criteria="Ten anticoagulation charts",
        method="chart_review",
        starts_on=dt.date(2026, 3, 10),
        duration_days=90,
        safety_event_reference=(event or scene.make_safety_event()).reference,
        actor=None,
    )


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    arrange: Callable[[Scene], tuple[str, dict[str, Any]]]
    state: Callable[[], Any]
    # The answer for each role; a role not named gets ``otherwise``.
    allowed: dict[str, int]
    otherwise: dict[str, int]


def _temporary(scene):
    return f"/staff/practitioners/{scene.practitioner.pk}/temporary-privileges/", {
        "items": [scene.item.pk],
        "reason": "patient_care_need",
        "starts_on": "2026-03-10",
        "ends_on": "2026-04-08",
    }


def _disaster(scene):
    emergency.do_open_activation(title="Mass casualty incident", actor=None)
    return f"/staff/practitioners/{scene.practitioner.pk}/disaster-privileges/", {
        "items": [scene.item.pk],
        "presented_at": "2026-03-10T07:00",
    }


def _verification(scene):
    return f"/staff/grants/{_disaster_grant(scene).pk}/licence-verification/", {
        "source": "State board licence lookup",
        "verified_by": scene.users["office"].pk,
        "verified_at": "2026-03-10T08:30",
        "result": "confirmed",
    }


def _continuation(scene):
    return f"/staff/grants/{_disaster_grant(scene, verified=True).pk}/continuation/", {
        "continue_privileges": "continue",
        "decided_at": "2026-03-10T08:45",
        "reason": "Licence verified; safe practice observed",
    }


def _safety_event_fppe(scene):
    return f"/staff/practitioners/{scene.practitioner.pk}/fppe/new/", {
        "safety_event_reference": scene.make_safety_event().reference,
        "criteria": "Ten anticoagulation charts",
        "method": "chart_review",
        "starts_on": "2026-03-10",
        "duration_days": "90",
    }


# Readers of staff files without the right to act: 403; signed-in users who may not read staff files: 404.
OUTSIDERS = {"committee": 404, "clinician": 404, "board": 404}
PAGES = [
    Case(
        "temporary-privileges",
        "post",
        _temporary,
        _grants,
        {"cmo": 302},
        {"office": 403, "chief": 403, **OUTSIDERS},
    ),
    Case(
        "disaster-privileges",
        "post",
        _disaster,
        _grants,
        {"cmo": 302},
        {"office": 403, "chief": 403, **OUTSIDERS},
    ),
    Case(
        "licence-verification",
        "post",
        _verification,
        _grants,
        {"office": 302, "cmo": 302},
        {"chief": 403, **OUTSIDERS},
    ),
    Case(
        "continuation",
        "post",
        _continuation,
        _grants,
        {"cmo": 302},
        {"office": 403, "chief": 403, **OUTSIDERS},
    ),
    Case(
        "safety-event-fppe",
        "post",
        _safety_event_fppe,
        lambda: list(Fppe.objects.values_list("safety_event", "safety_event_reference")),
        {"cmo": 302, "chief": 302},
        {"office": 403, **OUTSIDERS},
    ),
    Case(
        "special-privileges-list",
        "get",
        lambda scene: ("/staff/special-privileges/", {}),
        _grants,
        {"office": 200, "chief": 200, "cmo": 200},
        {"committee": 403, "clinician": 403, "board": 403},
    ),
    Case(
        "fppe-page",
        "get",
        lambda scene: (f"/staff/fppe/{_fppe(scene).pk}/", {}),
        lambda: list(Fppe.objects.values_list("status", flat=True)),
        {"office": 200, "chief": 200, "cmo": 200},
        OUTSIDERS,
    ),
]

ROLES = ["office", "chief", "committee", "cmo", "clinician", "board", "anonymous"]


def _writes():
    return AuditEvent.objects.filter(is_read=False).count()


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("case", PAGES, ids=[case.name for case in PAGES])
def test_special_privilege_pages_authorisation_matrix(scene, case, who):
    path, data = case.arrange(scene)
    client = Client()
    if who != "anonymous":
        client.force_login(scene.users[who])
    before, writes = case.state(), _writes()
    response = client.post(path, data) if case.method == "post" else client.get(path)
    if who == "anonymous":
        assert (response.status_code, response["Location"].split("?")[0]) == (302, "/login/")
    else:
        expected = case.allowed.get(who, case.otherwise.get(who))
        assert response.status_code == expected, response.content.decode()[-2000:]
    if who in case.allowed and case.method == "post":
        assert case.state() != before
        assert _writes() > writes
    else:
        assert case.state() == before
        assert _writes() == writes


def _api_verification(scene):
    return f"/api/staff/grants/{_disaster_grant(scene).pk}/licence-verification", {
        "verified_at": "2026-03-10T08:30:00Z",
        "source": "State board licence lookup",
        "result": "confirmed",
    }


def _api_continuation(scene):
    return f"/api/staff/grants/{_disaster_grant(scene, verified=True).pk}/continuation", {
        "continue_privileges": False,
        "decided_at": "2026-03-10T08:45:00Z",
        "reason": "Enough staff on site again",
    }


def _api_reviewer(scene):
    return f"/api/staff/peer-review/{_case(scene).pk}/reviewer", {"reviewer_id": _reviewer(scene).pk}


ROUTES = [
    Case(
        "grant-temporary",
        "post",
        lambda scene: (
            f"/api/staff/practitioners/{scene.practitioner.pk}/temporary-privileges",
            {
                "items": [scene.item.pk],
                "reason": "patient_care_need",
                "starts_on": "2026-03-10",
                "ends_on": "2026-04-08",
            },
        ),
        _grants,
        {"cmo": 201},
        {"office": 403, "chief": 403, **OUTSIDERS},
    ),
    Case(
        "grant-disaster",
        "post",
        lambda scene: (
            emergency.do_open_activation(title="Flood", actor=None)
            and f"/api/staff/practitioners/{scene.practitioner.pk}/disaster-privileges",
            {"items": [scene.item.pk], "presented_at": "2026-03-10T07:00:00Z"},
        ),
        _grants,
        {"cmo": 201},
        {"office": 403, "chief": 403, **OUTSIDERS},
    ),
    Case(
        "licence-verification",
        "post",
        _api_verification,
        _grants,
        {"office": 200, "cmo": 200},
        {"chief": 403, **OUTSIDERS},
    ),
    Case(
        "continuation",
        "post",
        _api_continuation,
        _grants,
        {"cmo": 200},
        {"office": 403, "chief": 403, **OUTSIDERS},
    ),
    Case(
        "special-privileges-list",
        "get",
        lambda scene: (_disaster_grant(scene) and "/api/staff/special-privileges", {}),
        _grants,
        {"office": 200, "chief": 200, "cmo": 200},
        {"committee": 403, "clinician": 403, "board": 403},
    ),
    Case(
        "appoint-committee-member",
        "post",
        lambda scene: ("/api/staff/peer-review/committee", {"user_id": scene.users["clinician"].pk}),
        lambda: sorted(user.username for user in _holders_of("staff.view_peer_review")),
        {"cmo": 201},
        {"office": 403, "chief": 403, "committee": 403, "clinician": 403, "board": 403},
    ),
    Case(
        "assign-reviewer",
        "post",
        _api_reviewer,
        lambda: list(PeerReviewCase.objects.values_list("reviewer", "status")),
        {"cmo": 200, "committee": 200},
        {"office": 404, "chief": 404, "clinician": 404, "board": 404},
    ),
]


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("case", ROUTES, ids=[case.name for case in ROUTES])
def test_special_privilege_api_authorisation_matrix(scene, case, who):
    path, payload = case.arrange(scene)
    client = Client()
    if who != "anonymous":
        client.force_login(scene.users[who])
    before, writes = case.state(), _writes()
    if case.method == "post":
        response = client.post(path, payload, content_type="application/json")
    else:
        response = client.get(path)
    expected = 401 if who == "anonymous" else case.allowed.get(who, case.otherwise.get(who))
    assert response.status_code == expected, response.content.decode()[-2000:]
    if who in case.allowed and case.method == "post":
        assert case.state() != before
        assert _writes() > writes
    else:
        assert case.state() == before
        assert _writes() == writes


# --- bad input stores nothing ------------------------------------------------------------------------------------


def _post_as(user, path, data):
    client = Client()
    client.force_login(user)
    return client.post(path, data)


def _nothing_changed(before, writes):
    return _grants() == before and _writes() == writes


def test_a_verification_before_the_volunteer_presented_is_refused_on_the_form(scene):
    grant = _disaster_grant(scene)
    before, writes = _grants(), _writes()
    response = _post_as(
        scene.users["office"],
        f"/staff/grants/{grant.pk}/licence-verification/",
        {
            "source": "State board",
            "verified_by": scene.users["office"].pk,
            "verified_at": "2026-03-10T06:59",
            "result": "confirmed",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {
        "verified_at": ["the verification cannot be before the volunteer presented (2026-03-10 07:00)"]
    }
    assert _nothing_changed(before, writes)


def test_a_verification_without_its_source_or_in_the_future_names_each_field(scene):
    grant = _disaster_grant(scene)
    before, writes = _grants(), _writes()
    client = Client()
    client.force_login(scene.users["office"])
    response = client.post(
        f"/api/staff/grants/{grant.pk}/licence-verification",
        {"verified_at": "2026-03-10T09:30:00Z", "source": " ", "result": "confirmed"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        422,
        {
            "detail": "name the primary source consulted (the licensing board, its website, a CVO); "
            "the verification cannot be in the future"
        },
    )
    assert _nothing_changed(before, writes)


def test_a_verifier_outside_the_office_is_refused(scene):
    grant = _disaster_grant(scene)
    before, writes = _grants(), _writes()
    client = Client()
    client.force_login(scene.users["office"])
    response = client.post(
        f"/api/staff/grants/{grant.pk}/licence-verification",
        {"verified_at": "2026-03-10T08:00:00Z", "source": "Board", "result": "confirmed", "verified_by_id": 99999},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (422, {"detail": "user 99999 is not in the medical staff office"})
    assert _nothing_changed(before, writes)


def test_a_decision_after_the_activation_ended_is_refused_and_stores_nothing(scene):
    grant = _disaster_grant(scene, verified=True)
    emergency.do_close_activation(grant.activation, actor=None)
    before, writes = _grants(), _writes()
    response = _post_as(
        scene.users["cmo"],
        f"/staff/grants/{grant.pk}/continuation/",
        {"continue_privileges": "continue", "decided_at": "2026-03-10T08:45", "reason": "Still needed"},
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "the emergency activation “Mass casualty incident” closed on 2026-03-10 09:00: "
        "the disaster privileges under it have ended"
    ]
    assert _nothing_changed(before, writes)


def test_continuing_before_the_licence_is_verified_is_refused_on_the_decision_field(scene):
    grant = _disaster_grant(scene)
    before, writes = _grants(), _writes()
    response = _post_as(
        scene.users["cmo"],
        f"/staff/grants/{grant.pk}/continuation/",
        {"continue_privileges": "continue", "decided_at": "2026-03-10T08:45", "reason": "Needed"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "continue_privileges": ["verify the licence before continuing disaster privileges"]
    }
    assert _nothing_changed(before, writes)


def test_a_licence_the_primary_source_does_not_confirm_ends_the_privileges(scene):
    grant = _disaster_grant(scene)
    response = _post_as(
        scene.users["office"],
        f"/staff/grants/{grant.pk}/licence-verification/",
        {
            "source": "State board licence lookup",
            "verified_by": scene.users["office"].pk,
            "verified_at": "2026-03-10T08:30",
            "result": "not_confirmed",
        },
    )
    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.status, grant.ends_on, grant.licence_verification_result, grant.licence_verified_by) == (
        "ended",
        dt.date(2026, 3, 10),
        "not_confirmed",
        scene.users["office"],
    )
    audit = AuditEvent.objects.get(action="staff.disaster_licence_verify")
    assert audit.after["status"] == "ended"


def test_the_office_and_the_cmo_close_both_clocks_and_every_step_is_audited(scene):
    grant = _disaster_grant(scene)
    assert (
        _post_as(
            scene.users["office"],
            f"/staff/grants/{grant.pk}/licence-verification/",
            {
                "source": "State board licence lookup",
                "verified_by": scene.users["office"].pk,
                "verified_at": "2026-03-10T08:30",
                "result": "confirmed",
            },
        ).status_code
        == 302
    )
    assert (
        _post_as(
            scene.users["cmo"],
            f"/staff/grants/{grant.pk}/continuation/",
            {"continue_privileges": "end", "decided_at": "2026-03-10T08:50", "reason": "Enough staff on site"},
        ).status_code
        == 302
    )
    grant.refresh_from_db()
    assert (
        grant.licence_verified_at,
        grant.licence_verification_source,
        grant.continuation_decided_at,
        grant.continuation_decision,
        grant.continuation_reason,
        grant.continuation_decided_by,
        grant.status,
    ) == (
        dt.datetime(2026, 3, 10, 8, 30, tzinfo=UTC),
        "State board licence lookup",
        dt.datetime(2026, 3, 10, 8, 50, tzinfo=UTC),
        "end",
        "Enough staff on site",
        scene.users["cmo"],
        "ended",
    )
    assert list(
        AuditEvent.objects.filter(object_id=str(grant.pk), action__startswith="staff.disaster")
        .order_by("pk")
        .values_list("action", "actor")
    ) == [
        ("staff.disaster_licence_verify", scene.users["office"].pk),
        ("staff.disaster_continuation", scene.users["cmo"].pk),
    ]
    # A second decision on the same grant is refused.
    response = _post_as(
        scene.users["cmo"],
        f"/staff/grants/{grant.pk}/continuation/",
        {"continue_privileges": "end", "decided_at": "2026-03-10T08:55", "reason": "Again"},
    )
    assert response.status_code == 400
    assert "these disaster privileges are ended" in response.content.decode()


def test_an_unknown_or_invisible_safety_event_is_refused_alike(scene):
    hidden = scene.make_safety_event(sensitive=True)  # only its handler (the triager) sees it
    visible = scene.make_safety_event()
    message = "there is no safety event {} that you may see: check the reference on the event&#x27;s page"
    for reference in (f"SE-{visible.pk + 100:05d}", hidden.reference):
        response = _post_as(
            scene.users["chief"],
            f"/staff/practitioners/{scene.practitioner.pk}/fppe/new/",
            {
                "safety_event_reference": reference,
                "criteria": "Ten charts",
                "method": "chart_review",
                "starts_on": "2026-03-10",
                "duration_days": "90",
            },
        )
        assert response.status_code == 400
        assert message.format(reference) in response.content.decode()
    client = Client()
    client.force_login(scene.users["cmo"])
    response = client.post(
        f"/api/staff/practitioners/{scene.practitioner.pk}/for-cause-fppe",
        {"safety_event_reference": "SE-99999", "criteria": "Ten charts", "starts_on": "2026-03-10"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "there is no safety event SE-99999 that you may see: check the reference on the event's page"},
    )
    assert Fppe.objects.count() == 0


def test_a_reviewer_with_a_conflict_of_interest_is_refused_by_the_api(scene):
    services.do_update_practitioner(scene.practitioner, practice_group="Riverside Internists", actor=None)
    partner = scene.make_user(Role.CLINICIAN, username="partner")
    scene.make_practitioner(user=partner, practice_group="Riverside Internists")
    services.do_appoint_peer_review_member(partner, actor=None)
    case = _case(scene)
    writes = _writes()
    client = Client()
    client.force_login(scene.users["cmo"])
    response = client.post(
        f"/api/staff/peer-review/{case.pk}/reviewer", {"reviewer_id": partner.pk}, content_type="application/json"
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "conflict of interest: the reviewer is a partner of the practitioner (Riverside Internists)"},
    )
    case.refresh_from_db()
    assert (case.reviewer, case.status, _writes()) == (None, "referred", writes)
    response = client.post(
        f"/api/staff/peer-review/{case.pk}/reviewer",
        {"reviewer_id": scene.users["clinician"].pk},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        422,
        {"detail": f"user {scene.users['clinician'].pk} is not a member of the peer-review committee"},
    )


def test_the_api_refuses_unknown_privileges_and_reads_times_without_offset_as_local(scene, settings):
    emergency.do_open_activation(title="Flood", actor=None)
    client = Client()
    client.force_login(scene.users["cmo"])
    path = f"/api/staff/practitioners/{scene.practitioner.pk}/disaster-privileges"
    response = client.post(
        path, {"items": [scene.item.pk, 4242], "presented_at": "2026-03-10T07:00"}, content_type="application/json"
    )
    assert (response.status_code, response.json()) == (422, {"detail": "no active privilege with id 4242"})
    assert PrivilegeGrant.objects.count() == 0
    response = client.post(
        path, {"items": [scene.item.pk], "presented_at": "2026-03-10T07:00"}, content_type="application/json"
    )
    assert response.status_code == 201
    [body] = response.json()
    assert (body["presented_at"], body["licence_verification_due_at"], body["continuation_due_at"]) == (
        "2026-03-10T07:00:00Z",
        "2026-03-13T07:00:00Z",
        "2026-03-13T07:00:00Z",
    )


# --- what the pages show -----------------------------------------------------------------------------------------


def test_the_practitioners_page_and_the_list_show_both_clocks_and_the_overdue_one(scene, time_machine):
    grant = _disaster_grant(scene, presented_at=NOW - dt.timedelta(hours=75))
    services.do_grant_temporary_privileges(
        scene.make_practitioner(family_name="Temp"),
        items=[scene.item],
        reason="patient_care_need",
        starts_on=dt.date(2026, 3, 10),
        ends_on=dt.date(2026, 3, 14),
        actor=None,
    )
    client = Client()
    client.force_login(scene.users["office"])
    page = client.get(f"/staff/practitioners/{scene.practitioner.pk}/").content.decode()
    row = page[page.index(f'id="grant-{grant.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Licence verification due 2026-03-10 06:00" in row
    assert "Continuation decision due 2026-03-10 06:00" in row
    assert row.count('<span class="badge red">overdue</span>') == 2
    assert f'href="/staff/grants/{grant.pk}/licence-verification/"' in row
    assert "Decide continuation" not in row  # the office verifies; the CMO decides
    listing = client.get("/staff/special-privileges/").content.decode()
    assert "2 active grants" in listing
    assert listing.index(f'id="grant-{grant.pk}"') < listing.index(">Jane Temp, MD<")
    assert '<span class="badge amber">4 days left</span>' in listing
    emergency_page = client.get("/emergency/").content.decode()
    assert (
        f'#grant-{grant.pk}">{scene.practitioner}</a> (Internal medicine core) <span class="badge red">overdue</span>'
        in emergency_page
    )


def test_the_fppe_page_links_the_event_only_for_those_who_may_see_it(scene):
    event = scene.make_safety_event(protect_identity=True)
    fppe = _fppe(scene, event)
    link = f'<a href="/safety/events/{event.pk}/">{event.reference}</a> (Medication'
    pages = {}
    for who in ("cmo", "chief", "office"):
        client = Client()
        client.force_login(scene.users[who])
        pages[who] = client.get(f"/staff/fppe/{fppe.pk}/").content.decode()
    assert link in pages["cmo"] and link in pages["chief"]  # the safety team; the unit's manager
    assert f'<span id="fppe-safety-event">{event.reference}</span>' in pages["office"]
    assert all(REPORTER_NAME not in page for page in pages.values())


def test_a_sensitive_event_is_not_named_to_those_outside_its_handlers(scene):
    event = scene.make_safety_event(sensitive=True, handlers=(scene.users["chief"],))
    fppe = _fppe(scene, event)
    for who, shown in (
        ("chief", f'<a href="/safety/events/{event.pk}/">{event.reference}</a>'),
        ("cmo", '<span id="fppe-safety-event">a restricted safety event</span>'),
        ("office", '<span id="fppe-safety-event">a restricted safety event</span>'),
    ):
        client = Client()
        client.force_login(scene.users[who])
        page = client.get(f"/staff/fppe/{fppe.pk}/").content.decode()
        assert shown in page
        if who != "chief":
            assert event.reference not in page
    client = Client()
    client.force_login(scene.users["cmo"])
    body = client.post(
        f"/api/staff/fppes/{fppe.pk}/conclusion",
        {"satisfactory": True, "conclusion": "Ten charts fine"},
        content_type="application/json",
    ).json()
    assert (body["safety_event_id"], body["safety_event_reference"]) == (None, "a restricted safety event")


def _notices_to(user):
    return list(Notice.objects.filter(recipient=user).values_list("subject", flat=True))


def test_each_72_hour_clock_is_reminded_once_in_its_last_day_to_those_who_must_act(scene, time_machine):
    grant = _disaster_grant(scene)  # presented 07:00, both clocks due 13 March 07:00
    office, cmo = scene.users["office"], scene.users["cmo"]
    before = {user: len(_notices_to(user)) for user in (office, cmo)}

    time_machine.move_to(dt.datetime(2026, 3, 12, 6, 59, tzinfo=UTC), tick=False)  # 24 h 01 min left
    assert services.do_send_disaster_clock_reminders(now=dt.datetime(2026, 3, 12, 6, 59, tzinfo=UTC)) == 0

    at = dt.datetime(2026, 3, 12, 9, 0, tzinfo=UTC)  # 22 hours left on both clocks
    time_machine.move_to(at, tick=False)
    assert services.do_send_disaster_clock_reminders(now=at) == 2
    assert services.do_send_disaster_clock_reminders(now=at + dt.timedelta(hours=1)) == 0  # once each

    [licence] = _notices_to(office)[: len(_notices_to(office)) - before[office]]
    assert licence == f"{grant}: the licence verification is due by 2026-03-13 07:00 (22 hours left)"
    decisions = _notices_to(cmo)[: len(_notices_to(cmo)) - before[cmo]]
    assert f"{grant}: the continuation decision is due by 2026-03-13 07:00 (22 hours left)" in decisions
    grant.refresh_from_db()
    assert grant.licence_reminder_sent_at == at and grant.continuation_reminder_sent_at == at
    assert AuditEvent.objects.filter(action="staff.disaster_clock_reminder", object_id=str(grant.pk)).count() == 2


def test_a_clock_already_closed_or_overdue_is_not_reminded(scene, time_machine):
    verified = _disaster_grant(scene, verified=True)
    at = dt.datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
    time_machine.move_to(at, tick=False)
    assert services.do_send_disaster_clock_reminders(now=at) == 1  # only the continuation decision is open
    verified.refresh_from_db()
    assert verified.licence_reminder_sent_at is None and verified.continuation_reminder_sent_at == at

    late = dt.datetime(2026, 3, 13, 7, 1, tzinfo=UTC)  # both clocks past due: the scan ends the grant instead
    other = services.do_grant_disaster_privileges(
        scene.make_practitioner(family_name="Late"), items=[scene.item], presented_at=PRESENTED, actor=None
    )[0]
    time_machine.move_to(late, tick=False)
    assert services.do_send_disaster_clock_reminders(now=late) == 0
    other.refresh_from_db()
    assert other.licence_reminder_sent_at is None


def test_the_credential_lapse_scan_leaves_disaster_privileges_to_their_own_clocks(scene):
    # A volunteer from elsewhere has no credential on file here: the licence is verified on the disaster grant
    # (EM.02.02.13), within 72 hours, and the hourly disaster-clock scan ends the grant when it is not.
    scene.practitioner = scene.make_practitioner(credentials=False)
    grant = _disaster_grant(scene, verified=True)

    assert services.do_enforce_all_credential_lapses(today=NOW.date()) == 0

    grant.refresh_from_db()
    scene.practitioner.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE
    assert scene.practitioner.status == PractitionerStatus.APPLICANT
    client = Client()
    client.force_login(scene.users["office"])
    page = client.get(f"/staff/practitioners/{scene.practitioner.pk}/").content.decode()
    assert "Cannot hold regular privileges: state licence is missing" in page
    assert "disaster privileges rest on the licence verification recorded on each disaster grant" in page


def test_a_lapsed_licence_still_suspends_regular_privileges_beside_disaster_ones(scene, make_practitioner):
    holder = make_practitioner(verified_on=None)  # a licence on file, never verified
    scene.practitioner = holder
    disaster = _disaster_grant(scene, verified=True)

    assert services.do_enforce_all_credential_lapses(today=NOW.date()) == 0  # nothing regular to suspend yet
    holder.status = PractitionerStatus.ACTIVE
    holder.save(update_fields=["status"])
    assert services.do_enforce_all_credential_lapses(today=NOW.date()) == 1

    holder.refresh_from_db()
    disaster.refresh_from_db()
    assert holder.status == PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE
    assert disaster.status == GrantStatus.ACTIVE
