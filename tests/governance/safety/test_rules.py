import datetime as dt

import pytest

from medgov.governance.safety import rules
from medgov.governance.safety.choices import SentinelType
from medgov.governance.safety.rules import ActionFacts

D = dt.date


@pytest.mark.parametrize(
    ("start", "days", "holidays", "expected"),
    [
        (D(2026, 3, 2), 1, (), D(2026, 3, 3)),  # Monday -> Tuesday
        (D(2026, 3, 6), 1, (), D(2026, 3, 9)),  # Friday -> Monday
        (D(2026, 3, 7), 1, (), D(2026, 3, 9)),  # Saturday -> Monday
        (D(2026, 3, 6), 5, (), D(2026, 3, 13)),
        (D(2026, 3, 6), 1, (D(2026, 3, 9),), D(2026, 3, 10)),  # holiday Monday skipped
        (D(2026, 3, 2), 0, (), D(2026, 3, 2)),
        (D(2026, 3, 2), 45, (), D(2026, 5, 4)),  # 9 whole weeks
        (
            D(2026, 3, 2),
            45,
            (D(2026, 4, 3), D(2026, 5, 25), D(2026, 3, 7)),
            D(2026, 5, 5),
        ),  # a weekend holiday costs nothing
    ],
    ids=[
        "mon",
        "fri-over-weekend",
        "from-saturday",
        "a-week",
        "holiday-monday",
        "zero",
        "45-plain",
        "45-with-holidays",
    ],
)
def test_add_business_days(start, days, holidays, expected):
    assert rules.add_business_days(start, days, holidays) == expected


def test_rca_due_date_is_45_business_days_after_awareness_over_weekends_and_holidays():
    holidays = {D(2026, 12, 25), D(2027, 1, 1), D(2027, 1, 18)}
    # Aware on Friday 2026-12-18: 45 business days, skipping 3 holidays and 9 weekends.
    assert rules.rca_due_on(D(2026, 12, 18), holidays) == D(2027, 2, 24)
    assert rules.rca_due_on(D(2026, 12, 18)) == D(2027, 2, 19)


def test_business_days_between_counts_after_start_up_to_end():
    assert rules.business_days_between(D(2026, 3, 6), D(2026, 3, 9)) == 1
    assert rules.business_days_between(D(2026, 3, 9), D(2026, 3, 9)) == 0


def test_negative_business_days_are_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        rules.add_business_days(D(2026, 3, 2), -1)


@pytest.mark.parametrize(
    ("event_class", "merp", "harm"),
    [
        ("unsafe_condition", "A", "no_harm"),
        ("near_miss", "B", "no_harm"),
        ("incident", "C", "no_harm"),
        ("incident", "D", "no_harm"),
        ("incident", "E", "mild"),
        ("incident", "F", "moderate"),
        ("incident", "G", "severe"),
        ("incident", "H", "severe"),
        ("incident", "I", "death"),
    ],
)
def test_consistent_medication_classifications_pass(event_class, merp, harm):
    assert (
        rules.classification_errors(event_class=event_class, category="medication", harm_level=harm, ncc_merp=merp)
        == {}
    )


@pytest.mark.parametrize(
    ("event_class", "merp", "harm", "field", "message"),
    [
        (
            "near_miss",
            "C",
            "no_harm",
            "ncc_merp",
            "NCC MERP category C does not fit the class 'Near miss (did not reach the patient)': use B.",
        ),
        (
            "unsafe_condition",
            "B",
            "no_harm",
            "ncc_merp",
            "NCC MERP category B does not fit the class 'Unsafe condition': use A.",
        ),
        (
            "incident",
            "A",
            "no_harm",
            "ncc_merp",
            "NCC MERP category A does not fit the class 'Incident (reached the patient)': use C, D, E, F, G, H, I.",
        ),
        (
            "incident",
            "I",
            "severe",
            "harm_level",
            "NCC MERP category I means harm 'Death', which contradicts the harm level 'Severe harm'.",
        ),
        (
            "incident",
            "E",
            "no_harm",
            "harm_level",
            "NCC MERP category E means harm 'Severe harm or Moderate harm or Mild harm', which contradicts the harm level 'No harm'.",
        ),
        (
            "incident",
            "C",
            "moderate",
            "harm_level",
            "NCC MERP category C means harm 'No harm', which contradicts the harm level 'Moderate harm'.",
        ),
        (
            "incident",
            "G",
            "death",
            "harm_level",
            "NCC MERP category G means harm 'Severe harm or Moderate harm or Mild harm', which contradicts the harm level 'Death'.",
        ),
        ("incident", "", "mild", "ncc_merp", "A medication event needs its NCC MERP category (A to I)."),
    ],
    ids=["near-miss-C", "unsafe-B", "incident-A", "I-not-death", "E-no-harm", "C-harm", "G-death", "missing"],
)
def test_inconsistent_medication_classifications_are_refused(event_class, merp, harm, field, message):
    errors = rules.classification_errors(event_class=event_class, category="medication", harm_level=harm, ncc_merp=merp)
    assert errors == {field: message}


def test_harm_on_an_event_that_did_not_reach_the_patient_is_refused():
    assert rules.classification_errors(event_class="near_miss", category="fall", harm_level="moderate") == {
        "harm_level": "A near miss did not reach the patient, so its harm level is 'No harm', not 'Moderate harm'."
    }


def test_ncc_merp_on_a_non_medication_event_is_refused():
    assert rules.classification_errors(event_class="incident", category="fall", harm_level="mild", ncc_merp="E") == {
        "ncc_merp": "NCC MERP categories apply to medication events only; leave it empty."
    }


def test_sentinel_type_on_a_near_miss_is_refused():
    errors = rules.classification_errors(
        event_class="near_miss", category="surgery", harm_level="no_harm", sentinel_type="wrong_site"
    )
    assert list(errors) == ["sentinel_type"]


@pytest.mark.parametrize("sentinel_type", SentinelType.values)
def test_every_listed_type_flags_a_potential_sentinel_event_even_without_harm(sentinel_type):
    assert rules.is_potential_sentinel(event_class="incident", harm_level="no_harm", sentinel_type=sentinel_type)
    assert not rules.is_potential_sentinel(event_class="near_miss", harm_level="no_harm", sentinel_type=sentinel_type)


@pytest.mark.parametrize(
    ("harm", "permanent", "expected"),
    [
        ("death", False, True),
        ("severe", False, True),
        ("moderate", True, True),
        ("mild", True, True),
        ("moderate", False, False),
        ("mild", False, False),
        ("no_harm", True, False),
        ("unknown", False, False),
    ],
)
def test_harm_flags_a_potential_sentinel_event(harm, permanent, expected):
    assert rules.is_potential_sentinel(event_class="incident", harm_level=harm, permanent_harm=permanent) is expected


def test_unsafe_conditions_are_never_sentinel_events():
    assert not rules.is_potential_sentinel(event_class="unsafe_condition", harm_level="death")


@pytest.mark.parametrize(
    ("severity", "probability", "score"),
    [
        ("catastrophic", "remote", 3),
        ("major", "frequent", 3),
        ("major", "occasional", 2),
        ("moderate", "frequent", 2),
        ("moderate", "uncommon", 1),
        ("minor", "frequent", 1),
    ],
)
def test_safety_assessment_code_follows_the_va_matrix(severity, probability, score):
    assert rules.safety_assessment_code(severity, probability) == score


def _action(**overrides):
    values = {
        "description": "Install bed alarms",
        "strength": "stronger",
        "has_owner": True,
        "due_on": D(2026, 5, 1),
        "has_effectiveness_measure": True,
    }
    values.update(overrides)
    return ActionFacts(**values)


def test_an_rca_with_complete_actions_and_a_causal_statement_may_close():
    assert rules.rca_closure_errors([_action()], 1) == []


def test_rca_closure_names_each_missing_part():
    errors = rules.rca_closure_errors(
        [_action(has_owner=False, due_on=None), _action(has_effectiveness_measure=False)], 0
    )
    assert errors == [
        "Add at least one causal statement.",
        "Action 1 ('Install bed alarms') lacks an owner, a due date.",
        "Action 2 ('Install bed alarms') lacks a measure of effectiveness.",
    ]


def test_rca_without_actions_cannot_close():
    assert rules.rca_closure_errors([], 1) == ["Add at least one action to the action plan."]


def test_only_weaker_actions_warns():
    assert rules.only_weaker_actions([_action(strength="weaker"), _action(strength="weaker")])
    assert not rules.only_weaker_actions([_action(strength="weaker"), _action(strength="intermediate")])
    assert not rules.only_weaker_actions([])


@pytest.mark.parametrize(
    ("behaviour", "response"), [("human_error", "console"), ("at_risk", "coach"), ("reckless", "remedial")]
)
def test_just_culture_response(behaviour, response):
    assert rules.just_culture_response(behaviour) == response


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<script>alert(1)</script>", True),
        ("see <b>here</b>", True),
        ('<img src=x onerror="alert(1)">', True),
        ("javascript:alert(1)", True),
        ("BP < 90 and HR > 120", False),
        ("INR >4, K+ <3.0", False),
        ("Given 5 mg instead of 0.5 mg", False),
    ],
)
def test_markup_detection(text, expected):
    assert rules.contains_markup(text) is expected


@pytest.mark.parametrize(
    ("name", "size", "head", "expected"),
    [
        ("photo.png", 100, b"\x89PNG\r\n\x1a\n", None),
        ("scan.PDF", 100, b"%PDF-1.7", None),
        ("run.exe", 100, b"MZ", "'run.exe' is not an accepted file type; attach JPEG, JPG, PDF, PNG files."),
        ("big.pdf", 11 * 1024 * 1024, b"%PDF-1.7", "'big.pdf' is 11.0 MB; attachments may be at most 10 MB."),
        ("fake.pdf", 100, b"<html>", "'fake.pdf' does not contain PDF data; its content does not match its name."),
        ("empty.png", 0, b"", "'empty.png' is empty."),
    ],
)
def test_attachment_checks(name, size, head, expected):
    assert rules.attachment_error(name, size, head, max_bytes=10 * 1024 * 1024) == expected
