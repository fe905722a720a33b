"""The analytics facade: the only door from governance into the analytics core.

Functions here take plain values and return contracts (frozen dataclasses, plain mappings); they never hand out
connections or Ibis expressions. Each consumer's functions sit in their own section.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------------------------------
# Patient safety: MRN look-up, patient days, SPC charts of event counts and of an action's measure.
# ---------------------------------------------------------------------------------------------------------------
from medgov.analytics.statistics.spc import ChartType, ControlChart, control_chart
from medgov.analytics.statistics.spc_rules import MakingDataCountRules


class WarehouseUnavailable(Exception):
    """The clinical warehouse file does not exist (or cannot be opened), so nothing can be looked up in it."""


def _connect_read_only(warehouse: Path):  # type: ignore[no-untyped-def]
    import duckdb

    if not warehouse.exists():
        raise WarehouseUnavailable(f"the clinical warehouse {warehouse} does not exist")
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as error:
        raise WarehouseUnavailable(f"the clinical warehouse {warehouse} cannot be opened: {error}") from None


def patient_mrn_exists(warehouse: Path, mrn: str) -> bool:
    """True when the warehouse's ``patient`` table holds a patient with this MRN (read-only query)."""
    import duckdb

    connection = _connect_read_only(warehouse)
    try:
        row = connection.execute("SELECT count(*) FROM patient WHERE mrn = ?", [mrn]).fetchone()
    except duckdb.CatalogException:
        raise WarehouseUnavailable(f"the clinical warehouse {warehouse} has no patient table yet") from None
    finally:
        connection.close()
    return bool(row and row[0])


def patient_days_by_location_month(
    warehouse: Path, location_ids: Sequence[str], first_month: dt.date, last_month: dt.date
) -> dict[tuple[str, dt.date], float]:
    """Inpatient days per unit and calendar month: the overlap, in days, of each inpatient encounter
    (class IMP or ACUTE) at the unit with the month. Months are keyed by their first day."""
    import duckdb

    if not location_ids:
        return {}
    connection = _connect_read_only(warehouse)
    placeholders = ", ".join("?" for _ in location_ids)
    sql = f"""
        WITH months AS (
            SELECT CAST(m AS DATE) AS month_start, CAST(m + INTERVAL 1 MONTH AS DATE) AS month_end
            FROM range(CAST(? AS DATE), CAST(? AS DATE) + INTERVAL 1 MONTH, INTERVAL 1 MONTH) AS t(m)
        )
        SELECT e.location_id, months.month_start,
               sum(date_diff('second',
                             greatest(e.period_start, CAST(months.month_start AS TIMESTAMP)),
                             least(coalesce(e.period_end, CAST(months.month_end AS TIMESTAMP)),
                                   CAST(months.month_end AS TIMESTAMP))) / 86400.0) AS days
        FROM encounter e JOIN months
          ON e.period_start < CAST(months.month_end AS TIMESTAMP)
         AND coalesce(e.period_end, CAST(months.month_end AS TIMESTAMP)) > CAST(months.month_start AS TIMESTAMP)
        WHERE e.class_code IN ('IMP', 'ACUTE') AND e.location_id IN ({placeholders})
        GROUP BY 1, 2
    """
    try:
        rows = connection.execute(
            sql, [first_month.replace(day=1), last_month.replace(day=1), *location_ids]
        ).fetchall()
    except duckdb.CatalogException:
        raise WarehouseUnavailable(f"the clinical warehouse {warehouse} has no encounter table yet") from None
    finally:
        connection.close()
    return {(str(location), month): float(days) for location, month, days in rows}


def event_count_chart(counts: Sequence[float], patient_days: Sequence[float] | None = None) -> ControlChart:
    """SPC chart of monthly event counts: a C chart, or a U chart of events per 1,000 patient days when the
    patient days are known (Montgomery, Introduction to SQC, 6th ed., section 7.3)."""
    if patient_days is None:
        return control_chart(ChartType.C, counts)
    return control_chart(ChartType.U, counts, patient_days, multiplier=1000.0)


@dataclass(frozen=True)
class EffectVerification:
    """Whether a series shifted in the intended direction after an action was implemented.

    ``shifted`` is True when, after the change, a run of consecutive points on the improving side of the
    pre-change centre line reaches the Making Data Count shift length (7 points, NHS England), or a point falls
    beyond the pre-change control limit on the improving side.
    """

    chart: ControlChart
    change_index: int
    points_after: int
    shifted: bool
    message: str


def verify_effect(
    values: Sequence[float],
    change_index: int,
    *,
    improvement: str,
    denominators: Sequence[float] | None = None,
    chart: str = "i",
    multiplier: float = 1.0,
) -> EffectVerification:
    """Freeze centre and limits on the points before ``change_index`` (the implementation) and test the points
    from it onwards for a shift in the ``improvement`` direction ("increase" or "decrease")."""
    if improvement not in {"increase", "decrease"}:
        raise ValueError("improvement must be 'increase' or 'decrease'")
    if not 1 <= change_index <= len(values):
        raise ValueError("change_index must leave at least one point before the change")
    result = control_chart(chart, values, denominators, baseline_points=change_index, multiplier=multiplier)
    sign = 1 if improvement == "increase" else -1
    after = range(change_index, len(result.values))
    centre = result.centre[0]
    longest = current = 0
    beyond_limit = False
    for index in after:
        value = result.values[index]
        if value != value:  # NaN: a missing period breaks no run and adds none
            continue
        if sign * (value - centre) > 0:
            current += 1
            longest = max(longest, current)
        elif value != centre:
            current = 0
        limit = result.upper_limit[index] if sign > 0 else result.lower_limit[index]
        if limit == limit and sign * (value - limit) > 0:
            beyond_limit = True
    points_after = len(after)
    shift_points = MakingDataCountRules().shift_points
    shifted = beyond_limit or longest >= shift_points
    if points_after == 0:
        message = "No data after the implementation date yet."
    elif shifted:
        message = f"Shift in the intended direction ({improvement}) after the implementation."
    elif points_after < shift_points:
        message = f"Only {points_after} point(s) after the implementation; a shift needs {shift_points}."
    else:
        message = f"No shift in the intended direction ({improvement}) after the implementation."
    return EffectVerification(result, change_index, points_after, shifted, message)


__all__ = [
    "ChartType",
    "ControlChart",
    "EffectVerification",
    "WarehouseUnavailable",
    "event_count_chart",
    "patient_days_by_location_month",
    "patient_mrn_exists",
    "verify_effect",
]
