import datetime as dt

import pytest

from medgov.governance.accounts.choices import Role
from medgov.governance.reports.providers.safety import sentinel_events, serious_events
from medgov.governance.reports.rules import Quarter
from medgov.governance.safety import services as safety
from medgov.governance.safety.choices import ActionStatus

Q3 = Quarter(2026, 3)
PATIENT_MRN = "MRN-7730019"
PATIENT_NAME = "Oswin Pemberton-Clarke"


def occurred(month, day):
    return dt.datetime(2026, month, day, 14, 30, tzinfo=dt.UTC)


@pytest.fixture
def safety_events(make_user, time_machine):
    time_machine.move_to(dt.datetime(2026, 10, 20, 9, tzinfo=dt.UTC), tick=False)
    reporter = make_user(Role.CLINICIAN)
    officer = make_user(Role.QUALITY_SAFETY)
    safety.do_create_unit(code="4W", name="4 West Medical", hospital="General", actor=None)

    def report(category, harm, when, **fields):
        submitted = safety.do_submit_event(
            safety.ReportInput(
                event_class="incident",
                category=category,
                occurred_at=when,
                unit_code="4W",
                description=fields.get("description", "Found on the floor."),
                reported_harm="mild",
            ),
            actor=reporter,
        )
        return safety.do_triage_event(
            submitted.event,
            safety.TriageInput(
                event_class="incident",
                category=category,
                harm_level=harm,
                ncc_merp=("F" if harm != "no_harm" else "C") if category == "medication" else "",
            ),
            actor=officer,
        )

    for index in range(12):
        report("fall", "moderate" if index < 2 else "mild", occurred(7, 1 + index))
    for index in range(15):
        report("medication", "severe" if index < 11 else "no_harm", occurred(8, 1 + index))
    for index in range(11):
        report("surgery", "no_harm", occurred(9, 1 + index))
    report("fall", "moderate", occurred(10, 2))  # after the quarter
    sentinel = report(
        "surgery",
        "death",
        occurred(9, 14),
        description=f"{PATIENT_NAME} ({PATIENT_MRN}) died after the wrong-site procedure.",
    )
    rca = safety.do_confirm_sentinel_event(sentinel, aware_on=dt.date(2026, 9, 15), actor=officer)
    safety.do_add_action(
        rca,
        safety.ActionInput(description=f"Time-out hard stop for {PATIENT_NAME}'s theatre", strength="stronger"),
        actor=officer,
    )
    safety.do_add_action(
        rca,
        safety.ActionInput(
            description="Retrain",
            strength="weaker",
            status=ActionStatus.IMPLEMENTED,
            implemented_on=dt.date(2026, 10, 1),
        ),
        actor=officer,
    )
    return {"sentinel": sentinel, "rca": rca}


def test_sentinel_events_show_rca_status_and_no_patient_details(safety_events):
    data = sentinel_events(Q3).data
    assert data["rows"] == [
        {
            "reference": safety_events["sentinel"].reference,
            "month": "2026-09",
            "type": "Death",
            "category": "Surgery or invasive procedure",
            "rca_status": "open",
            "rca_due_on": safety_events["rca"].due_on.isoformat(),
            "actions": 2,
            "actions_implemented": 1,
            "actions_stronger": 1,
        }
    ]


def test_serious_events_are_counted_by_category_with_small_cells_suppressed(safety_events):
    data = serious_events(Q3).data
    assert data["rows"] == [
        {"category": "Fall", "reported": "12", "serious": "<11", "percent": "suppressed"},
        {"category": "Medication or other substance", "reported": "15", "serious": "<11", "percent": "suppressed"},
        {"category": "Surgery or invasive procedure", "reported": "12", "serious": "<11", "percent": "suppressed"},
    ]
    assert (data["total_reported"], data["total_serious"]) == ("39", "14")


def test_the_pdf_has_the_safety_sections_and_no_patient_identifiers(safety_events, board_data):
    from tests.governance.reports.test_board_report import generate, pdf_text

    report = generate(Q3)
    words = " ".join(pdf_text(report).split())
    assert "Sentinel events and root-cause analyses" in words
    assert "Serious safety events" in words
    assert safety_events["sentinel"].reference in words
    for identifier in (PATIENT_MRN, "Pemberton", "Oswin", "wrong-site", "4 West"):
        assert identifier not in words
    assert report.snapshot["not_included"] == []
