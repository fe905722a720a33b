import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from medgov.governance.core.models import AuditEvent
from medgov.governance.safety import services
from medgov.governance.safety.models import SafetyEvent
from tests.fixtures.exports import response_text
from tests.governance.safety.conftest import REPORTER_NAME, triage_input

ROLES = ["reporter", "other_clinician", "manager", "other_manager", "safety", "cmo", "board", "auditor", "admin"]


def client_of(people, role):
    client = Client()
    if role != "anonymous":
        client.force_login(people[role])
    return client


EVENT_PAGE = {
    "reporter": 200,
    "other_clinician": 404,
    "manager": 200,
    "other_manager": 404,
    "safety": 200,
    "cmo": 200,
    "board": 404,
    "auditor": 404,
    "admin": 404,
    "anonymous": 302,
}


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_event_page_and_api_matrix(people, submit, role):
    event = submit().event
    client = client_of(people, role)
    assert client.get(f"/safety/events/{event.pk}/").status_code == EVENT_PAGE[role]
    api_status = client.get(f"/api/safety/events/{event.pk}").status_code
    assert api_status == {302: 401}.get(EVENT_PAGE[role], EVENT_PAGE[role])


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("reporter", 200),
        ("manager", 200),
        ("safety", 200),
        ("cmo", 200),
        ("board", 403),
        ("auditor", 403),
        ("anonymous", 302),
    ],
)
def test_safety_home_matrix(people, submit, role, status):
    submit()
    assert client_of(people, role).get("/safety/").status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [("reporter", 403), ("manager", 403), ("safety", 200), ("cmo", 200), ("board", 403), ("anonymous", 302)],
)
def test_trends_matrix(people, submit, role, status):
    submit()
    assert client_of(people, role).get("/safety/trends/").status_code == status


def test_a_reporter_sees_only_own_reports(people, submit):
    mine = submit().event
    theirs = submit(actor=people["other_clinician"]).event
    client = client_of(people, "reporter")
    page = client.get("/safety/").content.decode()
    assert mine.reference in page and theirs.reference not in page
    listed = [item["reference"] for item in client.get("/api/safety/events").json()]
    assert listed == [mine.reference]


def test_the_reporter_view_hides_triage(people, submit):
    event = services.do_triage_event(
        submit().event, triage_input(sac_severity="major", sac_probability="frequent"), actor=people["safety"]
    )
    body = client_of(people, "reporter").get(f"/safety/events/{event.pk}/").content.decode()
    assert "Safety Assessment Code" not in body
    assert client_of(people, "reporter").get(f"/api/safety/events/{event.pk}").json()["sac_score"] is None
    assert client_of(people, "safety").get(f"/api/safety/events/{event.pk}").json()["sac_score"] == 3


def test_drafts_are_visible_only_to_their_author(people, units):
    from tests.governance.safety.conftest import report_input

    draft = services.do_save_draft(report_input(), actor=people["reporter"])
    assert client_of(people, "reporter").get(f"/safety/report/{draft.pk}/").status_code == 200
    for role in ["safety", "cmo", "manager", "other_clinician"]:
        client = client_of(people, role)
        assert client.get(f"/safety/events/{draft.pk}/").status_code == 404
        assert client.get(f"/safety/report/{draft.pk}/").status_code in {403, 404}


SENSITIVE = {
    "safety": 200,
    "safety2": 404,
    "lead": 404,
    "cmo": 404,
    "manager": 404,
    "reporter": 200,
    "board": 404,
}


@pytest.mark.parametrize("role", list(SENSITIVE))
def test_sensitive_events_only_for_named_handlers(people, submit, role):
    event = services.do_triage_event(
        submit().event, triage_input(sensitive=True, handler_ids=[people["safety"].pk]), actor=people["safety"]
    )
    client = client_of(people, role)
    response = client.get(f"/safety/events/{event.pk}/")
    assert response.status_code == SENSITIVE[role]
    if role == "reporter":
        assert "sensitive" not in response.content.decode()
    listed = [item["reference"] for item in client.get("/api/safety/events").json()] if role != "board" else []
    assert (event.reference in listed) is (SENSITIVE[role] == 200)


def test_a_denied_triage_changes_nothing_and_audits_nothing(people, submit):
    event = submit().event
    before = AuditEvent.objects.count()
    for role in ["reporter", "manager", "board", "anonymous"]:
        response = client_of(people, role).post(
            f"/safety/events/{event.pk}/triage/", {"event_class": "incident", "category": "fall", "harm_level": "death"}
        )
        assert response.status_code in {302, 403, 404}
        api = client_of(people, role).post(
            f"/api/safety/events/{event.pk}/triage",
            json.dumps({"event_class": "incident", "category": "fall", "harm_level": "death"}),
            content_type="application/json",
        )
        assert api.status_code in {401, 403, 404}
    event.refresh_from_db()
    assert (event.status, event.harm_level, AuditEvent.objects.count()) == ("submitted", "", before)


def test_the_safety_team_triages_over_the_api_and_inconsistency_is_422(people, submit):
    event = submit(category="medication").event
    client = client_of(people, "safety")
    bad = client.post(
        f"/api/safety/events/{event.pk}/triage",
        json.dumps({"event_class": "incident", "category": "medication", "harm_level": "death", "ncc_merp": "E"}),
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "harm_level": [
            "NCC MERP category E means harm 'Severe harm or Moderate harm or Mild harm', which contradicts the harm level 'Death'."
        ]
    }
    good = client.post(
        f"/api/safety/events/{event.pk}/triage",
        json.dumps({"event_class": "incident", "category": "medication", "harm_level": "death", "ncc_merp": "I"}),
        content_type="application/json",
    )
    assert (good.status_code, good.json()["is_potential_sentinel"]) == (200, True)
    confirmed = client.post(
        f"/api/safety/events/{event.pk}/confirm-sentinel",
        json.dumps({"aware_on": "2026-03-02"}),
        content_type="application/json",
    )
    assert (confirmed.status_code, confirmed.json()["due_on"]) == (200, "2026-05-04")


def _identity_leaks(text):
    return [needle for needle in (REPORTER_NAME, "qzylberstein", "qz@example.org") if needle in text]


def _all_responses(client, event, rca_event):
    urls = [
        "/safety/",
        f"/safety/events/{event.pk}/",
        "/safety/trends/",
        f"/safety/events/{rca_event.pk}/rca/",
        # The audit trail lists user accounts too; what matters is that no safety record's entry names the reporter.
        "/audit/?object_type=safety.safetyevent",
        "/audit/export.csv?object_type=safety.safetyevent",
        "/audit/export.csv?object_type=safety.rootcauseanalysis",
        "/notices/",
        "/api/safety/events",
        f"/api/safety/events/{event.pk}",
        f"/api/safety/events/{rca_event.pk}/rca",
        *EXPORTS,
        *[
            f"/safety/events/{rca_event.pk}/rca/?table={table}&format={export_format}"
            for table in ("actions", "timeline", "causal_statements", "factors")
            for export_format in ("csv", "xlsx")
        ],
        f"/safety/events/{rca_event.pk}/just-culture/?format=csv",
        f"/safety/events/{rca_event.pk}/just-culture/?format=xlsx",
        "/audit/?action=export",
        "/audit/?action=export&format=xlsx",
    ]
    for url in urls:
        response = client.get(url)
        yield url, response.status_code, response_text(response)


EXPORTS = [
    f"/safety/?{table}format={export_format}"
    for table in ("", "status=in_review&", "table=own&", "table=rcas&", "table=overdue_actions&", "table=my_actions&")
    for export_format in ("csv", "xlsx")
] + [
    f"/safety/trends/?{table}format={export_format}"
    for table in ("", "table=categories&")
    for export_format in ("csv", "xlsx")
]


@pytest.mark.parametrize("mode", ["anonymous", "protected"])
@pytest.mark.parametrize("role", ["other_clinician", "manager", "safety", "cmo", "board", "auditor", "admin", "lead"])
def test_the_identity_of_an_anonymous_or_protected_reporter_never_appears(people, submit, mode, role):
    event = submit(anonymous=mode == "anonymous", protect_identity=mode == "protected").event
    services.do_send_reporter_message(
        event, "One more detail.", actor=None if mode == "anonymous" else people["reporter"]
    )
    services.do_triage_event(event, triage_input(harm_level="death"), actor=people["safety"])
    rca = services.do_confirm_sentinel_event(event, aware_on=timezone.localdate(), actor=people["safety"])
    client = client_of(people, role)
    seen = {url: (status, _identity_leaks(body)) for url, status, body in _all_responses(client, event, rca.event)}
    may_see = mode == "protected" and role in {"safety", "lead"}
    leaks = {url: found for url, (status, found) in seen.items() if found}
    if may_see:
        assert leaks == {
            f"/safety/events/{event.pk}/": [REPORTER_NAME],
            "/api/safety/events": [REPORTER_NAME],
            f"/api/safety/events/{event.pk}": [REPORTER_NAME],
        }
    else:
        assert leaks == {}
    if role in {"auditor", "cmo", "admin"}:
        assert seen["/audit/?object_type=safety.safetyevent"][0] == 200
    exported = {url for url in EXPORTS if seen[url][0] == 200}
    assert bool(exported) is (role in {"other_clinician", "manager", "safety", "cmo", "lead"})


def test_a_named_reporter_is_shown_to_the_unit_manager(people, submit):
    event = submit().event
    assert REPORTER_NAME in client_of(people, "manager").get(f"/safety/events/{event.pk}/").content.decode()


def test_free_text_is_escaped_everywhere(people, submit):
    event = submit(description='Dose 5 mg < 10 mg & "quoted"').event
    SafetyEvent.objects.filter(pk=event.pk).update(description='<script>alert("x")</script>')  # e.g. an old import
    for role in ["safety", "reporter"]:
        body = client_of(people, role).get(f"/safety/events/{event.pk}/").content.decode()
        assert '<script>alert("x")</script>' not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_reading_an_event_is_audited_except_by_its_reporter(people, submit):
    event = submit(protect_identity=True).event
    client_of(people, "reporter").get(f"/safety/events/{event.pk}/")
    assert AuditEvent.objects.filter(action="safety_event.read").count() == 0
    client_of(people, "cmo").get(f"/safety/events/{event.pk}/")
    assert list(AuditEvent.objects.filter(action="safety_event.read").values_list("actor__username", "is_read")) == [
        ("thecmo", True)
    ]


def test_just_culture_page_is_the_safety_leads_only(people, submit):
    event = submit().event
    services.do_record_just_culture_review(
        event, individual="RN, nights", behaviour="reckless", response="remedial", actor=people["lead"]
    )
    assert client_of(people, "lead").get(f"/safety/events/{event.pk}/just-culture/").status_code == 200
    for role in ["safety", "cmo", "manager", "reporter"]:
        response = client_of(people, role).get(f"/safety/events/{event.pk}/just-culture/")
        assert response.status_code in {403, 404}
        assert "Reckless" not in client_of(people, role).get(f"/safety/events/{event.pk}/").content.decode()


def test_api_reporting_refuses_bad_input_and_stores_nothing(people, units):
    client = client_of(people, "reporter")
    payload = {
        "event_class": "incident",
        "category": "fall",
        "occurred_at": (timezone.now() + dt.timedelta(days=1)).isoformat(),
        "unit": "XX",
        "description": "<b>x</b>",
        "reported_harm": "mild",
    }
    response = client.post("/api/safety/events", json.dumps(payload), content_type="application/json")
    assert response.status_code == 422
    assert sorted(response.json()["errors"]) == ["description", "occurred_at", "unit"]
    assert SafetyEvent.objects.count() == 0
    payload.update(
        occurred_at=(timezone.now() - dt.timedelta(hours=1)).isoformat(), unit="4W", description="Fell.", anonymous=True
    )
    created = client.post("/api/safety/events", json.dumps(payload), content_type="application/json")
    assert created.status_code == 201
    assert SafetyEvent.objects.get().reporter is None
    assert (
        client_of(people, "board")
        .post("/api/safety/events", json.dumps(payload), content_type="application/json")
        .status_code
        == 403
    )
