import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from medgov.governance.core.models import AuditEvent, Notice
from medgov.governance.safety import rules, services
from medgov.governance.safety.models import Holiday, RootCauseAnalysis, SafetyEvent
from medgov.governance.safety.tasks import send_safety_reminders
from tests.governance.safety.conftest import triage_input


def test_triage_classifies_and_computes_the_safety_assessment_code(people, submit):
    event = submit().event
    triaged = services.do_triage_event(
        event,
        triage_input(harm_level="moderate", sac_severity="major", sac_probability="occasional"),
        actor=people["safety"],
    )
    assert (triaged.status, triaged.harm_level, triaged.sac_score, triaged.is_potential_sentinel) == (
        "in_review",
        "moderate",
        2,
        False,
    )
    entry = AuditEvent.objects.get(action="safety_event.triage")
    assert entry.after == {
        "status": "in_review",
        "harm_level": "moderate",
        "sac_severity": "major",
        "sac_probability": "occasional",
        "sac_score": 2,
    }


def test_inconsistent_triage_is_refused_with_a_clear_message_and_changes_nothing(people, submit):
    event = submit(category="medication").event
    audit_before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.do_triage_event(
            event,
            triage_input(category="medication", event_class="near_miss", harm_level="no_harm", ncc_merp="E"),
            actor=people["safety"],
        )
    assert caught.value.message_dict == {
        "ncc_merp": ["NCC MERP category E does not fit the class 'Near miss (did not reach the patient)': use B."]
    }
    event.refresh_from_db()
    assert (event.status, event.ncc_merp, AuditEvent.objects.count()) == ("submitted", "", audit_before)


@pytest.mark.parametrize("role", ["reporter", "manager", "board", "cmo_without_access"])
def test_only_the_safety_team_may_triage(people, submit, role):
    event = submit().event
    actor = people["cmo"] if role == "cmo_without_access" else people[role]
    if role == "cmo_without_access":
        # The CMO holds the triage permission: the refusal case is users without it.
        actor = people["other_clinician"]
    audit_before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.do_triage_event(event, triage_input(), actor=actor)
    event.refresh_from_db()
    assert (event.status, AuditEvent.objects.count()) == ("submitted", audit_before)


@pytest.mark.parametrize(
    ("overrides", "flagged"),
    [
        ({"harm_level": "death"}, True),
        ({"harm_level": "severe"}, True),
        ({"harm_level": "moderate", "permanent_harm": True}, True),
        ({"harm_level": "no_harm", "category": "surgery", "sentinel_type": "retained_object"}, True),
        ({"harm_level": "moderate"}, False),
        ({"harm_level": "mild", "potential_sentinel": True}, True),
    ],
    ids=["death", "severe", "permanent", "retained-object", "moderate", "manual"],
)
def test_triage_flags_potential_sentinel_events(people, submit, overrides, flagged):
    event = services.do_triage_event(submit().event, triage_input(**overrides), actor=people["safety"])
    assert event.is_potential_sentinel is flagged


def test_a_report_of_severe_harm_is_flagged_on_submission(people, submit):
    assert submit(reported_harm="severe").event.is_potential_sentinel is True
    assert submit(reported_harm="moderate").event.is_potential_sentinel is False


def test_confirming_a_sentinel_event_notifies_leaders_at_once_and_opens_the_rca(
    people, submit, django_capture_on_commit_callbacks
):
    Holiday.objects.create(date=dt.date(2026, 5, 25), name="Memorial Day")
    event = services.do_triage_event(submit().event, triage_input(harm_level="death"), actor=people["safety"])
    Notice.objects.all().delete()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        rca = services.do_confirm_sentinel_event(event, aware_on=dt.date(2026, 3, 2), actor=people["safety"])
    assert (rca.aware_on, rca.due_on, rca.leader) == (dt.date(2026, 3, 2), dt.date(2026, 5, 4), people["safety"])
    event.refresh_from_db()
    assert (event.status, event.is_sentinel_confirmed) == ("rca", True)
    assert set(Notice.objects.values_list("recipient__username", flat=True)) == {"thecmo", "safetylead"}
    assert sorted(message.to[0] for message in mail.outbox) == ["cmo@example.org", "lead@example.org"]
    assert [e.action for e in AuditEvent.objects.filter(object_id__in=[str(event.pk), str(rca.pk)]).order_by("id")][
        -2:
    ] == [
        "safety_event.confirm_sentinel",
        "rca.open",
    ]


def test_rca_due_date_skips_holidays(people, submit):
    Holiday.objects.create(date=dt.date(2026, 4, 3), name="Good Friday")
    event = services.do_triage_event(submit().event, triage_input(harm_level="death"), actor=people["safety"])
    rca = services.do_confirm_sentinel_event(event, aware_on=dt.date(2026, 3, 2), actor=people["safety"])
    assert rca.due_on == dt.date(2026, 5, 5)


def test_an_event_that_is_not_a_potential_sentinel_cannot_be_confirmed(people, submit):
    event = services.do_triage_event(submit().event, triage_input(), actor=people["safety"])
    with pytest.raises(ValidationError, match="must be in review and flagged"):
        services.do_confirm_sentinel_event(event, aware_on=timezone.localdate(), actor=people["safety"])
    assert RootCauseAnalysis.objects.count() == 0


def _rca(people, submit):
    event = services.do_triage_event(submit().event, triage_input(harm_level="severe"), actor=people["safety"])
    return services.do_confirm_sentinel_event(event, aware_on=timezone.localdate(), actor=people["safety"])


def test_an_rca_cannot_close_while_an_action_lacks_owner_due_date_or_measure(people, submit):
    rca = _rca(people, submit)
    services.do_add_causal_statement(
        rca, text="Bed alarms were off, which led to an unobserved exit, which led to the fall.", actor=people["safety"]
    )
    action = services.do_add_action(
        rca, services.ActionInput(description="Bed alarm by default", strength="stronger"), actor=people["safety"]
    )
    with pytest.raises(ValidationError) as caught:
        services.do_close_rca(rca, actor=people["safety"])
    assert caught.value.messages == [
        "The RCA cannot be closed yet.",
        "Action 1 ('Bed alarm by default') lacks an owner, a due date, a measure of effectiveness.",
    ]
    rca.refresh_from_db()
    assert rca.status == "open"
    services.do_update_action(
        action,
        services.ActionInput(
            description="Bed alarm by default",
            strength="stronger",
            owner_id=people["manager"].pk,
            due_on=timezone.localdate() + dt.timedelta(days=30),
            measure_id="safety-events",
            measure_stratum="category:fall/unit:4W",
        ),
        actor=people["safety"],
    )
    services.do_close_rca(rca, actor=people["safety"])
    rca.refresh_from_db()
    assert (rca.status, rca.event.status) == ("closed", "actions_in_progress")


def test_only_weaker_actions_are_flagged(people, submit):
    rca = _rca(people, submit)
    services.do_add_action(
        rca, services.ActionInput(description="Remind staff", strength="weaker"), actor=people["safety"]
    )
    facts = [rules.ActionFacts(a.description, a.strength, False, None, False) for a in rca.actions.all()]
    assert rules.only_weaker_actions(facts)


def test_workflow_close_reopen_and_soft_delete(people, submit):
    event = services.do_triage_event(submit().event, triage_input(), actor=people["safety"])
    services.do_close_event(event, actor=people["safety"])
    event.refresh_from_db()
    assert event.status == "closed"
    services.do_reopen_event(event, reason="New information from the family.", actor=people["safety"])
    event.refresh_from_db()
    assert event.status == "in_review"
    with pytest.raises(PermissionDenied):
        services.do_remove_event(event, reason="duplicate", actor=people["cmo"])
    services.do_remove_event(event, reason="Duplicate of another report.", actor=people["safety"])
    assert SafetyEvent.objects.filter(pk=event.pk, deleted_at__isnull=False).count() == 1
    assert [
        e.action
        for e in AuditEvent.objects.filter(object_type="safety.safetyevent", object_id=str(event.pk)).order_by("id")
    ] == [
        "safety_event.submit",
        "safety_event.triage",
        "safety_event.close",
        "safety_event.reopen",
        "safety_event.remove",
    ]


def test_just_culture_review_is_the_safety_leads_and_follows_the_algorithm(people, submit):
    event = submit().event
    with pytest.raises(PermissionDenied):
        services.do_record_just_culture_review(
            event, individual="RN", behaviour="at_risk", response="coach", actor=people["safety"]
        )
    with pytest.raises(ValidationError) as caught:
        services.do_record_just_culture_review(
            event, individual="RN", behaviour="at_risk", response="remedial", actor=people["lead"]
        )
    assert caught.value.message_dict == {
        "response": ["Just Culture answers at-risk behaviour with 'coach', not 'remedial or disciplinary action'."]
    }
    review = services.do_record_just_culture_review(
        event, individual="RN, nights", behaviour="at_risk", response="coach", actor=people["lead"]
    )
    assert AuditEvent.objects.get(action="just_culture.record").after == {"review": review.pk}


def test_reminders_for_overdue_triage_rca_and_actions(people, submit, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    stale = submit().event
    SafetyEvent.objects.filter(pk=stale.pk).update(submitted_at=timezone.now() - dt.timedelta(days=10))
    rca = _rca(people, submit)
    RootCauseAnalysis.objects.filter(pk=rca.pk).update(due_on=timezone.localdate() - dt.timedelta(days=1))
    services.do_add_action(
        rca,
        services.ActionInput(
            description="Alarm",
            strength="stronger",
            owner_id=people["manager"].pk,
            due_on=timezone.localdate() - dt.timedelta(days=2),
        ),
        actor=people["safety"],
    )
    Notice.objects.all().delete()
    result = send_safety_reminders.enqueue()
    assert result.return_value == {"triage": 1, "rca": 1, "action": 1}
    subjects = sorted(Notice.objects.values_list("recipient__username", "subject"))
    assert [s for s in subjects if s[0] == "wardmanager"] == [
        ("wardmanager", "Action overdue (" + rca.event.reference + "): Alarm"),
        ("wardmanager", f"Triage overdue: {stale.reference} (Fall, 4 West Medical)"),
    ]
    assert send_safety_reminders.enqueue().return_value == {"triage": 0, "rca": 0, "action": 0}
