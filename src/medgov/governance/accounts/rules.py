"""Pure rules for sign-in throttling."""

from __future__ import annotations

import datetime as dt


def is_locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
    return locked_until is not None and locked_until > now


def lock_after_failure(
    failures_so_far: int, now: dt.datetime, *, max_failures: int, lock_minutes: int
) -> tuple[int, dt.datetime | None]:
    """Count one more failure; at ``max_failures`` consecutive failures the account locks for the lock period.

    Returns the new failure count and the time the lock ends (None while not locked).
    """
    failures = failures_so_far + 1
    if failures >= max_failures:
        return failures, now + dt.timedelta(minutes=lock_minutes)
    return failures, None
