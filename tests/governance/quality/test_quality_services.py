from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.quality import services
from medgov.governance.quality.choices import ImprovementDirection, SignalDirection, SignalKind, SignalState
from medgov.governance.quality.models import MeasureResult, Signal, Target


@pytest.fixture
def mortality(db):
    (measure,) = services.do_register_measures(
        [
            services.MeasureDescription(
                measure_id="inpatient-mortality",
                version="1.0.0",
                title="In-hospital mortality",
                description="",
                rationale="",
                source="CMS",
                scoring="proportion",
                improvement_direction="decrease",
                unit_label="%",
            )
        ],
        actor=None,
    )
    return measure


def _candidate(measure, first=dt.date(2025, 3, 1), last=dt.date(2025, 9, 1)):
    return services.SignalCandidate(
        measure=measure,
        dimension="department",
        stratum_key="dept-cardiology",
        stratum_label="Cardiology",
        kind=SignalKind.SPC,
        direction=SignalDirection.CONCERN,
        rule="shift",
        detail="7 points above the mean",
        first_period=first,
        last_period=last,
        chart={"x": ["2025-03-01"], "y": [0.05]},
    )


def test_the_same_special_cause_is_not_raised_twice(mortality):
    first = services.do_raise_signals([_candidate(mortality)], refresh=None, actor=None)
    again = services.do_raise_signals([_candidate(mortality, last=dt.date(2025, 10, 1))], refresh=None, actor=None)
    assert (len(first), len(again)) == (1, 0)
    signal = Signal.objects.get()
    assert signal.last_period == dt.date(2025, 10, 1)
    assert AuditEvent.objects.filter(action="signal.raise").count() == 1


def test_signal_workflow_new_acknowledged_review_closed(mortality, make_user):
    officer = make_user(Role.QUALITY_SAFETY)
    (signal,) = services.do_raise_signals([_candidate(mortality)], refresh=None, actor=None)
    signal = services.do_acknowledge_signal(signal, actor=officer)
    signal = services.do_start_signal_review(signal, actor=officer)
    with pytest.raises(ValidationError, match="give a reason for closing the signal"):
        services.do_close_signal(signal, actor=officer)
    signal = services.do_close_signal(signal, action_reference="safety.rcaaction:7", actor=officer)
    assert signal.state == SignalState.CLOSED
    events = list(
        AuditEvent.objects.filter(object_type="quality.signal").order_by("id").values_list("action", "before", "after")
    )
    assert events == [
        (
            "signal.raise",
            None,
            {
                "measure": mortality.pk,
                "dimension": "department",
                "stratum_key": "dept-cardiology",
                "kind": "spc",
                "direction": "concern",
                "rule": "shift",
                "first_period": "2025-03-01",
            },
        ),
        ("signal.acknowledged", {"state": "new"}, {"state": "acknowledged"}),
        ("signal.under_review", {"state": "acknowledged"}, {"state": "under_review"}),
        (
            "signal.closed",
            {"state": "under_review", "action_reference": ""},
            {"state": "closed", "action_reference": "safety.rcaaction:7"},
        ),
    ]
    with pytest.raises(ValidationError, match="already closed"):
        services.do_close_signal(signal, reason="again", actor=officer)


def test_board_member_cannot_change_a_signal(mortality, make_user):
    board = make_user(Role.BOARD_MEMBER)
    (signal,) = services.do_raise_signals([_candidate(mortality)], refresh=None, actor=None)
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.do_acknowledge_signal(signal, actor=board)
    signal.refresh_from_db()
    assert (signal.state, AuditEvent.objects.count()) == (SignalState.NEW, before)


def test_target_changes_are_versioned_with_who_when_why(mortality, make_user, time_machine):
    cmo = make_user(Role.CMO)
    time_machine.move_to(dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC), tick=False)
    services.do_set_target(
        mortality,
        value=0.03,
        direction=ImprovementDirection.DECREASE,
        owner=cmo,
        effective_from=dt.date(2026, 1, 1),
        reason="Board goal FY26",
        actor=cmo,
    )
    time_machine.move_to(dt.datetime(2026, 4, 2, 10, tzinfo=dt.UTC), tick=False)
    target = services.do_set_target(
        mortality,
        value=0.025,
        direction=ImprovementDirection.DECREASE,
        owner=cmo,
        effective_from=dt.date(2026, 4, 1),
        reason="Tightened after Q1",
        actor=cmo,
    )
    history = list(
        target.changes.order_by("changed_at").values_list(
            "changed_at", "changed_by", "reason", "old_value", "new_value"
        )
    )
    assert history == [
        (dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC), cmo.pk, "Board goal FY26", None, 0.03),
        (dt.datetime(2026, 4, 2, 10, tzinfo=dt.UTC), cmo.pk, "Tightened after Q1", 0.03, 0.025),
    ]
    assert Target.objects.count() == 1


def test_target_bad_input_is_refused_and_nothing_is_stored(mortality, make_user):
    cmo = make_user(Role.CMO)
    with pytest.raises(ValidationError) as error:
        services.do_set_target(
            mortality,
            value=15,
            direction=ImprovementDirection.DECREASE,
            owner=cmo,
            effective_from=dt.date(2026, 1, 1),
            reason="x",
            actor=cmo,
        )
    assert error.value.message_dict == {"value": ["a proportion target must be between 0 and 1 (e.g. 0.15 for 15 %)"]}
    with pytest.raises(ValidationError):
        services.do_set_target(
            mortality,
            value=0.1,
            direction=ImprovementDirection.DECREASE,
            owner=cmo,
            effective_from=dt.date(2026, 1, 1),
            reason=" ",
            actor=cmo,
        )
    assert Target.objects.count() == 0


def test_storing_results_replaces_the_measures_previous_results(mortality):
    refresh = services.do_start_refresh(warehouse="w.duckdb", actor=None)
    row = {
        "measure_id": "inpatient-mortality",
        "version": "1.0.0",
        "grain": "month",
        "period_start": dt.date(2025, 1, 1),
        "period_end": dt.date(2025, 1, 31),
        "dimension": "all",
        "stratum_key": "all",
        "denominator": 120,
        "numerator": 4,
        "rate": 4 / 120,
    }
    assert services.do_store_results(refresh, [row], actor=None) == 1
    assert (
        services.do_store_results(
            refresh, [row, {**row, "period_start": dt.date(2025, 2, 1), "period_end": dt.date(2025, 2, 28)}], actor=None
        )
        == 2
    )
    assert MeasureResult.objects.count() == 2
    with pytest.raises(ValidationError, match="result row 0: measure unknown v1 is not registered"):
        services.do_store_results(refresh, [{**row, "measure_id": "unknown", "version": "1"}], actor=None)
    assert MeasureResult.objects.count() == 2
