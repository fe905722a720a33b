import datetime as dt

import pytest

from medgov.governance.staff import rules

D = dt.date


@pytest.mark.parametrize(
    ("npi", "error"),
    [
        pytest.param("1234567893", None, id="cms-example-valid"),
        pytest.param("1234567890", "NPI 1234567890 fails the check digit (Luhn with prefix 80840)", id="bad-check"),
        pytest.param("123456789", "NPI '123456789' must be exactly 10 digits", id="nine-digits"),
        pytest.param("12345678A3", "NPI '12345678A3' must be exactly 10 digits", id="letter"),
        pytest.param("", "NPI '' must be exactly 10 digits", id="empty"),
    ],
)
def test_npi_check_digit(npi, error):
    assert rules.npi_error(npi) == error


@pytest.mark.parametrize(
    ("appointed", "months", "due", "application"),
    [
        pytest.param(D(2024, 3, 15), 36, D(2027, 3, 15), D(2026, 11, 15), id="36-months"),
        pytest.param(D(2024, 2, 29), 36, D(2027, 2, 28), D(2026, 10, 31), id="leap-day-clamped"),
        pytest.param(D(2023, 8, 31), 24, D(2025, 8, 31), D(2025, 5, 3), id="24-months-state-law"),
        pytest.param(D(2025, 1, 31), 1, D(2025, 2, 28), D(2024, 10, 31), id="month-end"),
    ],
)
def test_reappointment_due_date_and_application_date(appointed, months, due, application):
    assert rules.reappointment_due_on(appointed, months) == due
    assert rules.reappointment_application_sent_on(due) == application


def test_the_strictest_state_shortens_the_reappointment_cycle():
    limits = {"NY": 24, "CA": 30}
    assert rules.reappointment_cycle_months(36, limits, ["MA"]) == 36
    assert rules.reappointment_cycle_months(36, limits, ["ma", "ca"]) == 30
    assert rules.reappointment_cycle_months(36, limits, ["CA", "NY"]) == 24
    assert rules.reappointment_cycle_months(18, limits, ["NY"]) == 18


@pytest.mark.parametrize(
    ("starts", "ends", "clean", "errors"),
    [
        pytest.param(D(2026, 1, 1), D(2026, 4, 30), True, [], id="120-days-exactly"),
        pytest.param(
            D(2026, 1, 1),
            D(2026, 5, 1),
            True,
            ["temporary privileges for a pending application last at most 120 days, not 121"],
            id="121-days",
        ),
        pytest.param(
            D(2026, 1, 1),
            D(2026, 2, 1),
            False,
            ["there is no complete, clean application awaiting approval for this practitioner"],
            id="not-clean",
        ),
        pytest.param(D(2026, 1, 1), None, True, ["temporary privileges need an end date"], id="no-end"),
    ],
)
def test_temporary_privileges_for_a_pending_application_last_at_most_120_days(starts, ends, clean, errors):
    assert (
        rules.temporary_privilege_errors(
            reason="pending_clean_application", starts_on=starts, ends_on=ends, has_pending_clean_application=clean
        )
        == errors
    )


def test_temporary_privileges_only_for_the_two_permitted_reasons():
    assert rules.temporary_privilege_errors(
        reason="locum_convenience", starts_on=D(2026, 1, 1), ends_on=D(2026, 1, 5), has_pending_clean_application=True
    ) == [
        "temporary privileges are granted only for 'patient_care_need' or 'pending_clean_application', not "
        "'locum_convenience'"
    ]
    assert (
        rules.temporary_privilege_errors(
            reason="patient_care_need",
            starts_on=D(2026, 1, 1),
            ends_on=D(2026, 1, 5),
            has_pending_clean_application=False,
        )
        == []
    )


@pytest.mark.parametrize(
    ("verified", "decision", "stale"),
    [
        pytest.param(D(2026, 1, 1), D(2026, 5, 1), False, id="120-days-old"),
        pytest.param(D(2026, 1, 1), D(2026, 5, 2), True, id="121-days-old"),
        pytest.param(None, D(2026, 5, 2), True, id="never-verified"),
    ],
)
def test_verification_goes_stale_after_the_window(verified, decision, stale):
    assert rules.is_verification_stale(verified, decision, 120) is stale


@pytest.mark.parametrize(
    ("queried", "decision", "too_old"),
    [
        pytest.param(D(2024, 3, 10), D(2026, 3, 10), False, id="two-years-to-the-day"),
        pytest.param(D(2024, 3, 10), D(2026, 3, 11), True, id="two-years-and-a-day"),
        pytest.param(D(2024, 2, 29), D(2026, 2, 28), False, id="leap-day"),
        pytest.param(D(2024, 2, 29), D(2026, 3, 1), True, id="leap-day-plus-one"),
        pytest.param(None, D(2026, 3, 1), True, id="never-queried"),
    ],
)
def test_npdb_query_older_than_two_years(queried, decision, too_old):
    assert rules.is_npdb_query_too_old(queried, decision) is too_old


@pytest.mark.parametrize(
    ("last_end", "first_grant", "due"),
    [
        pytest.param(None, D(2025, 4, 15), D(2026, 4, 15), id="first-after-grant"),
        pytest.param(D(2025, 12, 31), D(2020, 1, 1), D(2026, 12, 31), id="after-last-period"),
    ],
)
def test_oppe_interval_is_at_most_twelve_months(last_end, first_grant, due):
    assert rules.oppe_due_on(last_end, first_grant) == due
    assert rules.is_oppe_overdue(last_end, first_grant, due) is False
    assert rules.is_oppe_overdue(last_end, first_grant, due + dt.timedelta(days=1)) is True


@pytest.mark.parametrize(
    ("expires", "today", "window"),
    [
        pytest.param(D(2026, 9, 1), D(2026, 5, 4), 120, id="120-days"),
        pytest.param(D(2026, 9, 1), D(2026, 5, 3), None, id="121-days"),
        pytest.param(D(2026, 9, 1), D(2026, 6, 3), 90, id="90-days"),
        pytest.param(D(2026, 9, 1), D(2026, 8, 2), 30, id="30-days"),
        pytest.param(D(2026, 9, 1), D(2026, 8, 31), 30, id="1-day"),
        pytest.param(D(2026, 9, 1), D(2026, 9, 1), None, id="expired-today"),
    ],
)
def test_expiry_warning_windows(expires, today, window):
    assert rules.expiry_window(expires, today, (120, 90, 60, 30)) == window


def test_reminder_goes_once_per_window_and_only_the_innermost():
    expires = D(2026, 9, 1)
    assert rules.reminder_due(expires, D(2026, 7, 18), (120, 90, 60, 30), []) == 60
    assert rules.reminder_due(expires, D(2026, 7, 18), (120, 90, 60, 30), [60]) is None
    assert rules.reminder_due(expires, D(2026, 8, 2), (120, 90, 60, 30), [60]) == 30


def test_a_credential_lapses_on_its_expiry_date():
    assert rules.is_lapsed(D(2026, 6, 30), D(2026, 6, 29)) is False
    assert rules.is_lapsed(D(2026, 6, 30), D(2026, 6, 30)) is True
    assert rules.is_lapsed(None, D(2026, 6, 30)) is False


def test_disaster_deadlines_are_72_hours():
    presented = dt.datetime(2026, 2, 1, 8, 30, tzinfo=dt.UTC)
    assert rules.disaster_licence_verification_due(presented) == dt.datetime(2026, 2, 4, 8, 30, tzinfo=dt.UTC)
    assert rules.disaster_continuation_due(presented) == dt.datetime(2026, 2, 4, 8, 30, tzinfo=dt.UTC)


def test_expiry_before_issue_is_named():
    assert (
        rules.expiry_error(D(2026, 1, 2), D(2026, 1, 1)) == "expiry date 2026-01-01 is before the issue date 2026-01-02"
    )
    assert rules.expiry_error(D(2026, 1, 1), D(2026, 1, 1)) is None


def test_periods_overlap_on_shared_days_only():
    assert rules.periods_overlap(D(2026, 1, 1), D(2026, 12, 31), D(2026, 12, 31), D(2027, 12, 31)) is True
    assert rules.periods_overlap(D(2026, 1, 1), D(2026, 12, 31), D(2027, 1, 1), D(2027, 12, 31)) is False
    assert rules.periods_overlap(D(2026, 1, 1), None, D(2030, 1, 1), D(2030, 2, 1)) is True


@pytest.mark.parametrize(
    ("value", "lower", "upper", "cases", "position"),
    [
        pytest.param(2.4, 0.5, 1.8, 40, "above", id="above"),
        pytest.param(1.0, 0.5, 1.8, 40, "within", id="within"),
        pytest.param(0.2, 0.5, 1.8, 40, "below", id="below"),
        pytest.param(None, None, None, 0, "no_cases", id="no-cases"),
    ],
)
def test_funnel_position(value, lower, upper, cases, position):
    assert rules.funnel_position(value, lower, upper, cases) == position
