"""Pure rules of the medical staff office: identifiers, due dates, limits and eligibility.

No database: every function takes plain values, so each rule is tested with exact dates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping

from medgov.governance.staff.choices import FunnelPosition, TemporaryReason

NPI_PREFIX = "80840"
DEFAULT_REAPPOINTMENT_MONTHS = 36  # TJC MS.07.01.01 / 42 CFR 482.22(a)(1): at least every 36 months
REAPPOINTMENT_APPLICATION_LEAD_DAYS = 120
DEFAULT_VERIFICATION_WINDOW_DAYS = 120  # NCQA CR 3: verification time limit
DEFAULT_EXPIRY_WARNING_DAYS = (120, 90, 60, 30)
TEMPORARY_PRIVILEGE_MAX_DAYS = 120  # TJC MS.06.01.13 EP 2: pending application, not to exceed 120 days
NPDB_QUERY_MAX_AGE_MONTHS = 24  # 45 CFR 60.17(a)(2): query at least every two years
OPPE_INTERVAL_MONTHS = 12
DISASTER_DEADLINE = dt.timedelta(hours=72)  # TJC EM.02.02.13 EP 6 and EP 7
DISASTER_REMINDER_HOURS = 24  # the last day of each 72-hour clock is reminded once
SAFETY_EVENT_PREFIX = "SE-"  # the safety module prints event 12 as SE-00012
SAFETY_EVENT_REFERENCE = re.compile(r"^SE-([0-9]{5,})$")


def npi_error(npi: str) -> str | None:
    """Why ``npi`` is not a valid NPI, or None when it is.

    The NPI is ten digits whose last is a Luhn check digit computed over ``80840`` followed by the first nine
    (CMS, "Requirements for National Provider Identifier (NPI) and NPI Enumeration", check digit).
    """
    if len(npi) != 10 or not npi.isdigit():
        return f"NPI {npi!r} must be exactly 10 digits"
    total = 0
    for position, character in enumerate(reversed(NPI_PREFIX + npi)):
        value = int(character)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    if total % 10 != 0:
        return f"NPI {npi} fails the check digit (Luhn with prefix 80840)"
    return None


def is_valid_npi(npi: str) -> bool:
    return npi_error(npi) is None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def reappointment_cycle_months(
    organisation_months: int, state_limits: Mapping[str, int], licence_states: Iterable[str]
) -> int:
    """The organisation's cycle, shortened to the strictest limit of any state where the practitioner is licensed."""
    months = organisation_months
    for state in licence_states:
        limit = state_limits.get(state.upper())
        if limit is not None:
            months = min(months, limit)
    return months


def reappointment_due_on(appointed_on: dt.date, cycle_months: int) -> dt.date:
    """Reappointment is due ``cycle_months`` after the start of the previous appointment."""
    return add_months(appointed_on, cycle_months)


def reappointment_application_sent_on(due_on: dt.date, lead_days: int = REAPPOINTMENT_APPLICATION_LEAD_DAYS) -> dt.date:
    return due_on - dt.timedelta(days=lead_days)


def periods_overlap(start_a: dt.date, end_a: dt.date | None, start_b: dt.date, end_b: dt.date | None) -> bool:
    """Closed intervals; an open end runs for ever."""
    return (end_b is None or start_a <= end_b) and (end_a is None or start_b <= end_a)


def expiry_error(issued_on: dt.date | None, expires_on: dt.date | None) -> str | None:
    if issued_on is not None and expires_on is not None and expires_on < issued_on:
        return f"expiry date {expires_on.isoformat()} is before the issue date {issued_on.isoformat()}"
    return None


def is_verification_stale(verified_on: dt.date | None, decision_on: dt.date, window_days: int) -> bool:
    """A verification more than ``window_days`` old on the day of the decision is stale; none at all is too."""
    return verified_on is None or (decision_on - verified_on).days > window_days


def npdb_query_valid_until(queried_on: dt.date) -> dt.date:
    return add_months(queried_on, NPDB_QUERY_MAX_AGE_MONTHS)


def is_npdb_query_too_old(queried_on: dt.date | None, decision_on: dt.date) -> bool:
    """An NPDB query more than two years before the decision (or none) blocks appointment and reappointment."""
    return queried_on is None or decision_on > npdb_query_valid_until(queried_on)


def is_lapsed(expires_on: dt.date | None, today: dt.date) -> bool:
    """A credential lapses on its expiry date: the practitioner is suspended that day, not the day after."""
    return expires_on is not None and today >= expires_on


def expiry_window(expires_on: dt.date | None, today: dt.date, warning_days: Iterable[int]) -> int | None:
    """The smallest warning window (e.g. 30 of 120/90/60/30) the expiry date falls in; None when beyond them."""
    if expires_on is None:
        return None
    days_left = (expires_on - today).days
    windows = sorted(day for day in warning_days if days_left <= day)
    return windows[0] if windows and days_left > 0 else None


def reminder_due(
    expires_on: dt.date | None, today: dt.date, warning_days: Iterable[int], already_sent: Iterable[int]
) -> int | None:
    """The warning window whose reminder is due today, if not sent yet.

    Only the innermost window is sent: a credential found at 45 days gets the 60-day reminder, not 120 and 90 too.
    """
    window = expiry_window(expires_on, today, warning_days)
    if window is None or window in set(already_sent):
        return None
    return window


def temporary_privilege_errors(
    *,
    reason: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
    has_pending_clean_application: bool,
    max_days: int = TEMPORARY_PRIVILEGE_MAX_DAYS,
) -> list[str]:
    """Why temporary privileges cannot be granted (TJC MS.06.01.13): an empty list means they can."""
    errors: list[str] = []
    if reason not in TemporaryReason.values:
        allowed = " or ".join(f"'{value}'" for value in TemporaryReason.values)
        errors.append(f"temporary privileges are granted only for {allowed}, not {reason!r}")
        return errors
    if ends_on is None:
        errors.append("temporary privileges need an end date")
        return errors
    if ends_on < starts_on:
        errors.append("temporary privileges cannot end before they start")
    if reason == TemporaryReason.PENDING_CLEAN_APPLICATION:
        if not has_pending_clean_application:
            errors.append("there is no complete, clean application awaiting approval for this practitioner")
        days = (ends_on - starts_on).days + 1
        if days > max_days:
            errors.append(f"temporary privileges for a pending application last at most {max_days} days, not {days}")
    return errors


def fppe_ends_on(starts_on: dt.date, duration_days: int) -> dt.date:
    return starts_on + dt.timedelta(days=duration_days)


def oppe_due_on(last_period_end: dt.date | None, first_granted_on: dt.date) -> dt.date:
    """The next OPPE is due twelve months after the last one's period ended, or after privileges were first granted."""
    return add_months(last_period_end or first_granted_on, OPPE_INTERVAL_MONTHS)


def is_oppe_overdue(last_period_end: dt.date | None, first_granted_on: dt.date, today: dt.date) -> bool:
    return today > oppe_due_on(last_period_end, first_granted_on)


def disaster_licence_verification_due(presented_at: dt.datetime) -> dt.datetime:
    return presented_at + DISASTER_DEADLINE


def disaster_continuation_due(arrived_at: dt.datetime) -> dt.datetime:
    return arrived_at + DISASTER_DEADLINE


def disaster_reminder_due(due_at: dt.datetime, now: dt.datetime, *, hours_before: int, done: bool) -> bool:
    """A 72-hour clock is reminded once it has ``hours_before`` hours or fewer left, until it is done or overdue.

    An overdue clock is not reminded: the scan ends those privileges instead.
    """
    return not done and due_at - dt.timedelta(hours=hours_before) <= now <= due_at


def safety_event_id(reference: str) -> int:
    """The id in a safety event reference as the safety module prints it (``SE-00012`` is event 12).

    Raises ValueError naming the reference when it is not one."""
    match = SAFETY_EVENT_REFERENCE.match(reference.strip().upper())
    if match is None:
        raise ValueError(f"{reference.strip().upper()!r} is not a safety event reference such as SE-00012")
    return int(match.group(1))


def funnel_position(value: float | None, lower: float | None, upper: float | None, cases: int) -> str:
    """Where a practitioner's value sits in the department funnel at their number of cases."""
    if cases == 0:
        return FunnelPosition.NO_CASES
    if value is None or lower is None or upper is None:
        return FunnelPosition.NOT_APPLICABLE
    if value > upper:
        return FunnelPosition.ABOVE
    if value < lower:
        return FunnelPosition.BELOW
    return FunnelPosition.WITHIN


def oppe_period_ending(today: dt.date) -> tuple[dt.date, dt.date]:
    """The period an OPPE recorded on ``today`` covers: the twelve full calendar months before today's month."""
    period_end = today.replace(day=1) - dt.timedelta(days=1)
    return add_months(period_end.replace(day=1), -(OPPE_INTERVAL_MONTHS - 1)), period_end


def is_oppe_due(last_period_end: dt.date | None, first_granted_on: dt.date, today: dt.date) -> bool:
    """Due on or after its due date; never twice for the same period."""
    period_end = oppe_period_ending(today)[1]
    if last_period_end is not None and last_period_end >= period_end:
        return False
    return today >= oppe_due_on(last_period_end, first_granted_on)
