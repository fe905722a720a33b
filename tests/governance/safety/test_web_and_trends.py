import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from medgov.analytics import api as analytics
from medgov.governance.core.models import AuditEvent
from medgov.governance.safety import selectors, services
from medgov.governance.safety.models import SafetyEvent
from tests.governance.safety.conftest import triage_input


def _form(**overrides):
    data = {
        "event_class": "incident",
        "category": "fall",
        "occurred_at": (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "unit": "4W",
        "description": "Found on the floor.",
        "reported_harm": "mild",
        "identity": "named",
        "action": "submit",
    }
    data.update(overrides)
    return data


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"occurred_at": (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")},
            "The event cannot be in the future",
        ),
        ({"unit": "MARS"}, "Select a valid choice. That choice is not one of the available choices."),
        ({"description": "<script>alert(1)</script>"}, "Remove the HTML markup (such as &lt;script&gt; or &lt;b&gt;)"),
        (
            {"patient_mrn": "MRN4242"},
            "MRN &#x27;MRN4242&#x27; cannot be verified because the clinical warehouse is not available",
        ),
        ({"identity": "anonymous", "action": "draft"}, "An anonymous report cannot be saved as a draft"),
    ],
    ids=["future", "unknown-unit", "script", "mrn-unverifiable", "anonymous-draft"],
)
def test_the_report_form_shows_a_clear_error_and_stores_nothing(people, units, no_warehouse, overrides, message):
    audit_before = AuditEvent.objects.count()
    response = _client(people["reporter"]).post("/safety/report/", _form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (SafetyEvent.objects.count(), AuditEvent.objects.count()) == (0, audit_before)


def test_a_wrong_type_attachment_is_refused_on_the_form(people, units):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("notes.html", b"<html><script>x</script></html>", content_type="text/html")
    response = _client(people["reporter"]).post("/safety/report/", {**_form(), "attachment": upload})
    assert (
        "&#x27;notes.html&#x27; is not an accepted file type; attach JPEG, JPG, PDF, PNG files."
        in response.content.decode()
    )
    assert SafetyEvent.objects.count() == 0


def test_the_report_form_submits_and_shows_the_follow_up_code_once(people, units):
    response = _client(people["reporter"]).post("/safety/report/", _form(identity="anonymous"))
    event = SafetyEvent.objects.get()
    assert event.reporter is None
    body = response.content.decode()
    assert f"Thank you: report {event.reference} submitted" in body
    code = body.split('id="followup-code">')[1].split("<")[0]
    assert services.event_for_followup_code(code) == event
    follow = _client(people["other_clinician"]).post("/safety/follow-up/", {"code": code, "text": "It was bay 3."})
    assert follow.status_code == 200
    assert list(event.messages.values_list("from_reporter", "author", "text")) == [(True, None, "It was bay 3.")]


def test_patient_days_come_from_inpatient_encounters_per_month(warehouse):
    days = analytics.patient_days_by_location_month(warehouse, ["L-4W"], dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    assert days == {("L-4W", dt.date(2026, 1, 1)): 2.0, ("L-4W", dt.date(2026, 2, 1)): 2.5}


def test_patient_days_without_a_warehouse_raise_a_clear_error(no_warehouse):
    with pytest.raises(analytics.WarehouseUnavailable, match="does not exist"):
        analytics.patient_days_by_location_month(no_warehouse, ["L-4W"], dt.date(2026, 1, 1), dt.date(2026, 2, 1))


def test_trends_use_a_u_chart_per_1000_patient_days_when_the_warehouse_has_them(people, submit, warehouse):
    occurred = timezone.make_aware(dt.datetime(2026, 2, 10, 13, 0))
    submit(occurred_at=occurred)
    series, note = selectors.event_trends(
        people["safety"], months=6, unit=selectors.units().get(code="4W"), today=dt.date(2026, 3, 15)
    )
    assert note == ""
    assert series.months == (
        *tuple(dt.date(2025, m, 1) for m in (9, 10, 11, 12)),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    )
    assert series.counts == (0, 0, 0, 0, 0, 1)
    assert series.patient_days == (0.0, 0.0, 0.0, 0.0, 2.0, 2.5)
    assert series.chart.chart == "u"
    assert series.chart.values[-1] == pytest.approx(400.0)


def test_trends_fall_back_to_counts_on_a_c_chart_without_patient_days(people, submit, no_warehouse):
    submit()
    series, note = selectors.event_trends(people["safety"], months=12)
    assert series.chart.chart == "c"
    assert note.startswith("Rates per 1,000 patient days are not available: the clinical warehouse")


def test_a_category_shift_is_signalled(people, units):
    from medgov.governance.safety.models import Unit

    unit = Unit.objects.get(code="4W")
    today = dt.date(2026, 3, 15)
    events = []
    for index in range(24):
        month = dt.date(2024 + (2 + index) // 12, (2 + index) % 12 + 1, 1)
        for _ in range(2 if index < 16 else 12):
            events.append(
                SafetyEvent(
                    status="in_review",
                    event_class="incident",
                    category="pressure_injury",
                    unit=unit,
                    reported_harm="mild",
                    description="x",
                    occurred_at=timezone.make_aware(dt.datetime.combine(month, dt.time(12))),
                )
            )
    SafetyEvent.objects.bulk_create(events)
    signals = {series.category: series.signal for series in selectors.category_signals(people["safety"], today=today)}
    assert signals["pressure_injury"] is True
    assert signals["fall"] is False


def test_an_action_effect_is_verified_on_its_spc_chart(people, submit):
    verification = analytics.verify_effect(
        [9, 10, 8, 11, 9, 10, 3, 2, 4, 3, 2, 3, 2], 6, improvement="decrease", chart="c"
    )
    assert (verification.shifted, verification.points_after) == (True, 7)
    assert verification.message == "Shift in the intended direction (decrease) after the implementation."
    flat = analytics.verify_effect([5, 6, 5, 4, 6, 5, 5, 6, 4, 5, 6, 5, 5], 6, improvement="decrease", chart="c")
    assert (flat.shifted, flat.message) == (
        False,
        "No shift in the intended direction (decrease) after the implementation.",
    )


def test_the_action_page_shows_the_chart_with_the_implementation_marked(people, submit):
    event = services.do_triage_event(submit().event, triage_input(harm_level="severe"), actor=people["safety"])
    rca = services.do_confirm_sentinel_event(event, aware_on=timezone.localdate(), actor=people["safety"])
    implemented = (timezone.localdate().replace(day=1) - dt.timedelta(days=100)).replace(day=1)
    action = services.do_add_action(
        rca,
        services.ActionInput(
            description="Alarms on",
            strength="stronger",
            owner_id=people["safety"].pk,
            due_on=implemented,
            status="implemented",
            implemented_on=implemented,
            measure_id="safety-events",
            measure_stratum="category:fall/unit:4W",
        ),
        actor=people["safety"],
    )
    body = _client(people["safety"]).get(f"/safety/actions/{action.pk}/").content.decode()
    assert f'"marker": "{implemented.isoformat()}"' in body
    assert 'id="effect-verdict"' in body
    assert "a shift needs 7" in body
