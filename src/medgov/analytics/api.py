"""The analytics facade: the only door from governance and the web into the analytics core.

Everything returned here is a contract: a frozen dataclass, an Arrow table or plain values; never a connection
or an Ibis expression.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _stats

from medgov.analytics.contracts import LoadReport, WarehouseInfo
from medgov.analytics.ingest.landing import ProgressCallback
from medgov.analytics.ingest.load import DEFAULT_CHUNK_SIZE
from medgov.analytics.ingest.load import ingest as _ingest
from medgov.analytics.practitioner_contracts import AttendedEncounter as AttendedEncounter
from medgov.analytics.practitioner_contracts import DepartmentFunnel as DepartmentFunnel
from medgov.analytics.practitioner_contracts import DepartmentOppeResults as DepartmentOppeResults
from medgov.analytics.practitioner_contracts import FunnelLimit as FunnelLimit
from medgov.analytics.practitioner_contracts import FunnelPoint as FunnelPoint
from medgov.analytics.practitioner_contracts import IndicatorDefinition as IndicatorDefinition
from medgov.analytics.practitioner_contracts import PractitionerIndicatorResult as PractitionerIndicatorResult
from medgov.analytics.practitioner_contracts import PractitionerResults as PractitionerResults
from medgov.analytics.practitioner_contracts import WarehousePractitioner as WarehousePractitioner
from medgov.analytics.statistics.funnel import FunnelDataType, FunnelLimits, FunnelPlot, funnel_limits, funnel_plot
from medgov.analytics.statistics.spc import (
    ChartType,
    ControlChart,
    MakingDataCountChart,
    control_chart,
    making_data_count_chart,
)
from medgov.analytics.statistics.spc_rules import ImprovementDirection, MakingDataCountRules
from medgov.analytics.statistics.suppression import suppress_small_cells as suppress_table
from medgov.analytics.statistics.surveillance import ears
from medgov.analytics.warehouse.info import warehouse_info as _warehouse_info
from medgov.analytics.warehouse.structure import Structure, read_structure

# --- clinical data: ingest and the warehouse --------------------------------------------------------------------


def ingest(
    paths: Sequence[Path | str],
    warehouse: Path | str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
) -> LoadReport:
    """Load FHIR R4 files or folders (Bulk Data NDJSON, Bundles, single resources; plain or gzip) into the
    warehouse, idempotently and atomically, and rebuild its canonical tables. See ``analytics.ingest``."""
    return _ingest(paths, warehouse, chunk_size=chunk_size, progress=progress)


def warehouse_info(warehouse: Path | str) -> WarehouseInfo:
    """Tables and row counts of the warehouse, landed resources per type, quarantine size and the last load."""
    return _warehouse_info(warehouse)


# --- statistics: SPC -----------------------------------------------------------------------------------------


def measure_control_chart(
    values: Sequence[float],
    *,
    improvement_direction: str,
    target: float | None = None,
    rebase_at: Sequence[int] = (),
    baseline_points: int | None = None,
) -> MakingDataCountChart:
    """An XmR chart of a measure's series with NHS Making Data Count rules, classification and assurance.

    ``improvement_direction`` is FHIR's improvementNotation (``increase`` or ``decrease``). Missing periods are
    ``nan`` and the chart explains in ``reason`` when no limits can be drawn. ``baseline_points`` fixes the
    mean and limits on the first points (Making Data Count's "fix after n points"), so later change shows
    against the baseline instead of pulling the limits towards itself.
    """
    return making_data_count_chart(
        values,
        improvement_direction=ImprovementDirection(improvement_direction),
        target=target,
        rebase_at=rebase_at,
        fix_after_n_points=baseline_points,
    )


# --- statistics: funnel plots ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelView:
    """What a page needs to draw a funnel: limit curves by name (x, lower, upper), a flag per unit and the centre.

    Flags are ``"high"``, ``"low"`` or ``""`` (within the 99.8 % overdispersion-adjusted limits). A flag also needs
    the unit's count to be improbable as a count: its exact one-sided tail (Poisson at the expected count for
    ratios, binomial at the centre for proportions) under 0.1 %. The limits are continuous, and where a unit
    expects a fraction of one event the lower limit sits a hair above zero, so a unit with no events would be
    "low" although no events is what such a unit usually has (0 deaths where 0.25 were expected: probability
    0.78); the count test keeps those from being flagged, and never adds a flag.
    ``unit_limits`` are the same limits (by name: lower and upper per unit) at each unit's own denominator, in the
    caller's order (``nan`` where a unit cannot be placed), so a unit's value can be shown beside its limits.
    """

    centre: float
    limits: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]]
    flags: tuple[str, ...]
    overdispersion_phi: float
    reason: str | None
    unit_limits: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = field(default_factory=dict)


FUNNEL_COUNT_TAIL = 0.001  # one side of the 99.8 % limits


def _improbable_counts(
    counts: Sequence[float], sizes: Sequence[float], *, kind: FunnelDataType, centre: float
) -> tuple[bool, ...]:
    """Whether each count lies in an exact tail under 0.1 % (below or above) at its unit's size."""
    observed = np.rint(np.asarray(counts, dtype=float))
    size = np.asarray(sizes, dtype=float)
    if kind == FunnelDataType.STANDARDISED_RATIO:
        below = _stats.poisson.cdf(observed, size)
        above = _stats.poisson.sf(observed - 1, size)
    else:
        trials = np.rint(size)
        below = _stats.binom.cdf(observed, trials, centre)
        above = _stats.binom.sf(observed - 1, trials, centre)
    return tuple(bool(value) for value in (np.minimum(below, above) < FUNNEL_COUNT_TAIL))


def _funnel_view(plot: FunnelPlot, denominators: Sequence[float], centre: float, counts: Sequence[float]) -> FunnelView:
    grid = np.linspace(max(min(denominators), 1e-9) * 0.8, max(denominators) * 1.1, 60)
    kind = plot.data_type
    curves = funnel_limits(
        grid,
        data_type=kind,
        sr_method=plot.sr_method,
        target=plot.target,
        tau2=plot.tau2,
        phi=plot.phi,
        overdispersion=plot.overdispersion,
    )
    xs = tuple(float(x) for x in grid)
    improbable = _improbable_counts(counts, denominators, kind=kind, centre=plot.target)
    flags = []
    for ratio, is_outlier, is_improbable in zip(plot.ratios, plot.outlier, improbable, strict=True):
        flags.append(("high" if ratio > plot.target else "low") if is_outlier and is_improbable else "")
    judged = plot.adjusted_limits if plot.adjusted else plot.limits
    return FunnelView(
        centre=centre,
        limits={"95 %": (xs, curves.lower_95, curves.upper_95), "99.8 %": (xs, curves.lower_998, curves.upper_998)},
        flags=tuple(flags),
        overdispersion_phi=plot.phi,
        reason=plot.reason,
        unit_limits={"95 %": (judged.lower_95, judged.upper_95), "99.8 %": (judged.lower_998, judged.upper_998)},
    )


def funnel_for_ratios(observed: Sequence[float], expected: Sequence[float]) -> FunnelView:
    """Funnel plot of O/E ratios (indirect standardisation) with exact Poisson limits and additive
    overdispersion (Spiegelhalter 2005), plotted against expected events."""
    groups = [str(index) for index in range(len(observed))]
    plot = funnel_plot(observed, expected, groups, data_type=FunnelDataType.STANDARDISED_RATIO, sr_method="CQC")
    return _funnel_view(_in_input_order(plot, groups), expected, 1.0, observed)


def funnel_for_proportions(numerators: Sequence[float], denominators: Sequence[float]) -> FunnelView:
    """Funnel plot of proportions around the pooled proportion, with additive overdispersion."""
    groups = [str(index) for index in range(len(numerators))]
    plot = funnel_plot(numerators, denominators, groups, data_type=FunnelDataType.PROPORTION, sr_method="CQC")
    return _funnel_view(_in_input_order(plot, groups), denominators, plot.target, numerators)


def _in_input_order(plot: FunnelPlot, groups: Sequence[str]) -> FunnelPlot:
    # funnel_plot orders units by group label; put them back in the caller's order.
    position = {group: index for index, group in enumerate(plot.groups)}
    order = [position[group] for group in groups]

    def reordered(limits: FunnelLimits) -> FunnelLimits:
        return FunnelLimits(*(tuple(column[i] for i in order) for column in astuple(limits)))

    return replace(
        plot,
        groups=tuple(plot.groups[i] for i in order),
        ratios=tuple(plot.ratios[i] for i in order),
        outlier=tuple(plot.outlier[i] for i in order),
        limits=reordered(plot.limits),
        adjusted_limits=reordered(plot.adjusted_limits),
    )


# --- statistics: signals from a series -------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecialCause:
    """A stretch of consecutive points breaking the same Making Data Count rule with one classification."""

    first_index: int
    last_index: int
    rule: str
    direction: str  # "improvement", "concern" or "neutral"


def special_causes(
    values: Sequence[float], *, improvement_direction: str, baseline_points: int | None = None
) -> tuple[SpecialCause, ...]:
    """Group the special-cause points of a measure's XmR chart into runs (NHS Making Data Count rules).

    Consecutive points with the same rule label and the same classification form one special cause; its first
    point identifies it, so a refresh that extends the run does not make it a new one.
    """
    chart = measure_control_chart(values, improvement_direction=improvement_direction, baseline_points=baseline_points)
    causes: list[SpecialCause] = []
    start: int | None = None
    for index, (label, kind) in enumerate(zip(chart.special_cause_type, chart.point_type, strict=True)):
        direction = _direction_of(str(kind))
        same_as_open = (
            start is not None
            and chart.special_cause_type[start] == label
            and _direction_of(str(chart.point_type[start])) == direction
        )
        if start is not None and not same_as_open:
            causes.append(_cause(chart, start, index - 1))
            start = None
        if direction and start is None:
            start = index
    if start is not None:
        causes.append(_cause(chart, start, len(chart.values) - 1))
    return tuple(causes)


def _direction_of(point_type: str) -> str:
    if point_type == "special_cause_improvement":
        return "improvement"
    if point_type == "special_cause_concern":
        return "concern"
    if point_type.startswith("special_cause_neutral"):
        return "neutral"
    return ""


def _cause(chart: MakingDataCountChart, start: int, stop: int) -> SpecialCause:
    return SpecialCause(start, stop, chart.special_cause_type[start], _direction_of(str(chart.point_type[start])))


# --- statistics: small-cell suppression ------------------------------------------------------------------------


@dataclass(frozen=True)
class SuppressedRow:
    """One group of a rate table as it may be shown: counts as text, suppressed ones as "<11"."""

    label: str
    numerator: str
    denominator: str
    rate: str
    suppressed: bool


def suppress_small_cells(
    labels: Sequence[str], numerators: Sequence[float], denominators: Sequence[float], *, rate_scale: float = 100.0
) -> tuple[SuppressedRow, ...]:
    """A group x (events, non-events) table with counts 1 to 10 hidden and complementary cells hidden so no
    hidden count can be recovered from row or column totals; a group with any hidden count shows no rate."""
    events = [round(n) for n in numerators]
    non_events = [max(round(d) - e, 0) for d, e in zip(denominators, events, strict=True)]
    table = suppress_table(pd.DataFrame({"events": events, "non_events": non_events}, index=list(labels)))
    hidden = table.suppressed
    rows = []
    for position, label in enumerate(labels):
        events_hidden = bool(hidden.iloc[position]["events"])
        total_hidden = bool(hidden.iloc[position]["Total"])
        any_hidden = events_hidden or total_hidden or bool(hidden.iloc[position]["non_events"])
        total = events[position] + non_events[position]
        rate = "" if any_hidden or total == 0 else f"{events[position] / total * rate_scale:.1f}"
        rows.append(
            SuppressedRow(
                label=str(label),
                numerator="<11" if events_hidden else str(events[position]),
                denominator="<11" if total_hidden else str(total),
                rate="suppressed" if any_hidden else rate,
                suppressed=any_hidden,
            )
        )
    return tuple(rows)


def organisation_structure(warehouse: Path | str) -> Structure:
    """Names and the hierarchy (hospital > department > unit, practitioner > department) from the warehouse,
    plus the standard labels of the equity dimensions' codes. An absent warehouse gives only the code labels."""
    return read_structure(warehouse)


# --- medical staff office: practitioner directory and OPPE results -------------------------------------------


def practitioner_directory(warehouse: Path) -> tuple[WarehousePractitioner, ...]:
    """Practitioners in the warehouse with the specialty and organisation of their first role (by role id)."""
    import duckdb

    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            """
            SELECT p.id, coalesce(p.npi, ''), coalesce(p.family, ''), coalesce(p.given, ''),
                   coalesce(r.specialty_code, ''), coalesce(r.specialty_display, ''), coalesce(r.organization_id, '')
            FROM practitioner p
            LEFT JOIN (
                SELECT *, row_number() OVER (PARTITION BY practitioner_id ORDER BY id) AS position
                FROM practitioner_role
            ) r ON r.practitioner_id = p.id AND r.position = 1
            ORDER BY p.id
            """
        ).fetchall()
    return tuple(WarehousePractitioner(*(str(value) for value in row)) for row in rows)


def practitioner_oppe_results(
    warehouse: Path | str,
    *,
    department_id: str,
    period_start: dt.date,
    period_end: dt.date,
    extra_measure_ids: Sequence[str] = (),
) -> DepartmentOppeResults:
    """Per-practitioner volume, risk-adjusted mortality/readmission/LOS O/E with intervals, hospital-acquired
    condition counts and the department's chosen measures, each against the department's peers in a funnel.

    One :func:`run_measures` call (``oppe_measure_ids(extra_measure_ids)``, stratified by ``OPPE_STRATIFIERS``)
    gives every number; the funnels are :func:`funnel_for_ratios` / :func:`funnel_for_proportions`. Practitioners
    without stays in the department and period are absent. Raises ``NoDataError`` when the warehouse has no data
    for the period. See :mod:`medgov.analytics.oppe`.
    """
    from medgov.analytics import oppe

    return oppe.department_oppe_results(
        warehouse,
        department_id=department_id,
        period_start=period_start,
        period_end=period_end,
        extra_measure_ids=extra_measure_ids,
    )


def oppe_results_from_run(
    run: MeasureRun,
    *,
    department_id: str,
    period_start: dt.date,
    period_end: dt.date,
    extra_measure_ids: Sequence[str] = (),
) -> DepartmentOppeResults:
    """What :func:`practitioner_oppe_results` returns, read from a run the caller already has (of
    ``oppe_measure_ids(extra_measure_ids)`` stratified by ``OPPE_STRATIFIERS`` over the period)."""
    from medgov.analytics import oppe

    return oppe.results_from_run(
        run,
        department_id=department_id,
        period_start=period_start,
        period_end=period_end,
        extra_measure_ids=extra_measure_ids,
    )


def oppe_measure_ids(extra_measure_ids: Sequence[str] = ()) -> tuple[str, ...]:
    """The measures an OPPE run evaluates: the standard OPPE measures, then the department's chosen ones."""
    from medgov.analytics import oppe

    return oppe.oppe_measure_ids(extra_measure_ids)


OPPE_STRATIFIERS: tuple[str, ...] = ("department", "department+practitioner")
"""How an OPPE run stratifies the measures: the department overall, and each attending within it."""


# --- patient safety: MRN look-up, patient days, SPC charts of event counts and of an action's measure ----------


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


def attended_encounters(
    warehouse: Path, practitioner_ids: Sequence[str], period_start: dt.date, period_end: dt.date
) -> tuple[AttendedEncounter, ...]:
    """Encounters attended by any of ``practitioner_ids`` that overlap the period (both dates included), with
    the patient's MRN and the encounter's location, so events recorded against a patient and a unit can be
    joined to the practitioner's care. Timestamps are UTC as the warehouse holds them."""
    import duckdb

    if not practitioner_ids:
        return ()
    connection = _connect_read_only(warehouse)
    placeholders = ", ".join("?" for _ in practitioner_ids)
    sql = f"""
        SELECT e.attending_practitioner_id, coalesce(p.mrn, ''), coalesce(e.location_id, ''),
               e.period_start, e.period_end
        FROM encounter e LEFT JOIN patient p ON p.id = e.patient_id
        WHERE e.attending_practitioner_id IN ({placeholders})
          AND e.period_start < CAST(? AS DATE) + INTERVAL 1 DAY
          AND coalesce(e.period_end, e.period_start) >= CAST(? AS DATE)
        ORDER BY 1, 4
    """
    try:
        rows = connection.execute(sql, [*practitioner_ids, period_end, period_start]).fetchall()
    except duckdb.CatalogException:
        raise WarehouseUnavailable(f"the clinical warehouse {warehouse} has no encounter table yet") from None
    finally:
        connection.close()
    return tuple(
        AttendedEncounter(str(practitioner), str(mrn), str(location), start, end)
        for practitioner, mrn, location, start, end in rows
    )


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


# --- statistics: aberrations in event counts --------------------------------------------------------------------


def count_aberrations(counts: Sequence[float], *, method: str = "C2") -> tuple[int, ...]:
    """Positions where a series of event counts (falls, infections) rises above the CDC EARS upper bound
    (Hutwagner 2003; ``C2`` by default: a seven-period baseline behind a two-period guard band). A series too
    short to have a baseline has no aberrations."""
    result = ears(counts, method="C3" if method == "C3" else "C1" if method == "C1" else "C2")
    if result.reason is not None or result.table.empty:
        return ()
    alarms = result.table[result.table["alarm"].astype(bool)]
    return tuple(int(position) for position in alarms["position"])


# --- measures ---------------------------------------------------------------------------------------------
# Measure definitions, evaluation and FHIR MeasureReports (analytics.measures). Results are tidy Arrow tables:
# one row per measure x period bucket x stratum, ready for the operational store.

from medgov.analytics.measures.contracts import MeasureInfo as MeasureInfo  # noqa: E402
from medgov.analytics.measures.contracts import MeasureRun as MeasureRun  # noqa: E402
from medgov.analytics.measures.engine import DIMENSIONS as DIMENSIONS  # noqa: E402
from medgov.analytics.measures.engine import GRAINS as GRAINS  # noqa: E402
from medgov.analytics.measures.engine import RESULT_SCHEMA as RESULT_SCHEMA  # noqa: E402
from medgov.analytics.measures.engine import MeasureInputError as MeasureInputError  # noqa: E402
from medgov.analytics.measures.engine import NoDataError as NoDataError  # noqa: E402
from medgov.analytics.measures.engine import RiskModelReport as RiskModelReport  # noqa: E402
from medgov.analytics.measures.engine import UnknownDimensionError as UnknownDimensionError  # noqa: E402
from medgov.analytics.measures.registry import UnknownMeasureError as UnknownMeasureError  # noqa: E402
from medgov.analytics.measures.risk import ModelCheck as ModelCheck  # noqa: E402
from medgov.analytics.measures.risk import RiskGroup as RiskGroup  # noqa: E402
from medgov.analytics.measures.spec import Period as Period  # noqa: E402


def list_measures() -> tuple[MeasureInfo, ...]:
    """Every registered measure version, ordered by id then version."""
    from medgov.analytics.measures import registry

    return tuple(MeasureInfo.from_spec(spec) for spec in registry.all_measures())


def measure_info(measure_id: str, version: str | None = None) -> MeasureInfo:
    """One measure's metadata (latest version unless ``version``); raises ``UnknownMeasureError``."""
    from medgov.analytics.measures import registry

    return MeasureInfo.from_spec(registry.get(measure_id, version))


def run_measures(
    warehouse: Path | str,
    period: Period | str,
    measure_ids: Sequence[str] | None = None,
    *,
    grains: Sequence[str] = ("period",),
    stratifiers: Sequence[str | Sequence[str]] = (),
    reference_period: Period | str | None = None,
    subject_lists: bool = False,
    confidence: float = 0.95,
    measure_reports: bool = False,
) -> MeasureRun:
    """Evaluate measures (all registered ones when ``measure_ids`` is None; ``id`` or ``id@version``) on the
        DuckDB warehouse at ``warehouse`` for ``period`` (a :class:`Period` or ``YYYY``, ``YYYY-MM``,
        ``YYYY-MM-DD..YYYY-MM-DD``), by ``grains`` (period, month, quarter, year) and ``stratifiers`` (dimension
        names from ``DIMENSIONS``, or combinations as ``"hospital+unit"``). Risk models are fitted on
        ``reference_period`` (default: ``period``). FHIR MeasureReports are built only when ``measure_reports`` or
    ``subject_lists`` is set (otherwise ``MeasureRun.measure_reports`` is empty): they cost more than the
    evaluation itself when there are many strata. Raises ``UnknownMeasureError``, ``UnknownDimensionError``,
        ``NoDataError`` (subclasses of ``LookupError``/``ValueError``) with a message naming the input.
    """
    import ibis

    from medgov.analytics.measures import engine, fhir, registry
    from medgov.analytics.warehouse.connection import connect

    measured = Period.parse(period) if isinstance(period, str) else period
    reference = Period.parse(reference_period) if isinstance(reference_period, str) else reference_period
    if measure_ids is None:
        specs = registry.all_measures()
    else:
        specs = []
        for item in measure_ids:
            name, _, version = item.partition("@")
            specs.append(registry.get(name, version or None))
    path = Path(warehouse)
    if not path.exists():
        raise NoDataError(f"no warehouse at {path}: run medgov ingest first")
    connection = connect(path, read_only=True)
    try:
        backend = ibis.duckdb.from_connection(connection)
        evaluations = engine.evaluate(
            backend, specs, measured, grains=grains, stratifiers=stratifiers, reference_period=reference,
            confidence=confidence,
        )  # fmt: skip
    finally:
        connection.close()
    reports: tuple[dict[str, Any], ...] = ()
    if measure_reports or subject_lists:
        reports = tuple(
            report
            for evaluation in evaluations
            for grain in dict.fromkeys(grains or ("period",))
            for report in fhir.measure_reports(evaluation, subject_lists=subject_lists, grain=grain)
        )
    models = tuple(evaluation.model for evaluation in evaluations if evaluation.model is not None)
    return MeasureRun(engine.results_table(evaluations), models, reports)


def clinical_period(warehouse: Path | str) -> tuple[dt.date, dt.date] | None:
    """First and last day with an encounter in the warehouse (None when it is empty or absent)."""
    import ibis

    from medgov.analytics.measures import engine
    from medgov.analytics.warehouse.connection import connect

    path = Path(warehouse)
    if not path.exists():
        return None
    connection = connect(path, read_only=True)
    try:
        return engine.data_span(ibis.duckdb.from_connection(connection))
    finally:
        connection.close()


def whole_quarters(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date] | None:
    """The longest span of whole calendar quarters within ``first``..``last`` (None if there is none)."""
    start_month = ((first.month - 1) // 3) * 3 + 1
    start = dt.date(first.year, start_month, 1)
    if start < first:
        start = dt.date(start.year + (start_month + 2) // 12, (start_month + 2) % 12 + 1, 1)
    end_quarter_month = ((last.month - 1) // 3) * 3 + 3
    end = dt.date(last.year, end_quarter_month, 1)
    end = dt.date(end.year + end.month // 12, end.month % 12 + 1, 1) - dt.timedelta(days=1)
    if end > last:
        end = dt.date(end.year, ((end.month - 1) // 3) * 3 + 1, 1) - dt.timedelta(days=1)
    return (start, end) if start < end else None
