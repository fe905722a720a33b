"""Ongoing professional practice evaluation (OPPE) from the measure engine: each practitioner against the peers
of their department.

One ``run_measures`` call evaluates the OPPE measures for the period, stratified by department and by
department x attending practitioner. Nothing is computed a second way: a practitioner's volume, observed,
expected, O/E and interval are the engine's numbers for their stratum, and each department funnel is the
facade's funnel (``funnel_for_ratios``: exact Poisson limits with additive overdispersion, Spiegelhalter 2005;
``funnel_for_proportions`` for department-chosen proportions without a risk model).

Indicators (TJC MS.08.01.03 asks for practitioner-specific data on the quality of care):

* volume: adult inpatient stays attended (initial population of ``length-of-stay``), never flagged;
* risk-adjusted in-hospital mortality, 30-day readmission and length of stay as O/E with the engine's interval,
  judged against the department funnel at the practitioner's expected events (days for length of stay);
* hospital-acquired conditions (falls with injury, stage 2+ pressure injuries, CAUTI, CLABSI): the count, judged
  against the funnel of the summed observed and expected events, limits expressed as counts at the
  practitioner's own expected events;
* the department's chosen measures: O/E when the measure has a risk model, else the score against the
  proportion funnel.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from medgov.analytics import api
from medgov.analytics.measures import registry
from medgov.analytics.measures.engine import UNKNOWN
from medgov.analytics.measures.spec import Period, Scoring
from medgov.analytics.practitioner_contracts import (
    DepartmentFunnel,
    DepartmentOppeResults,
    FunnelLimit,
    FunnelPoint,
    IndicatorDefinition,
    PractitionerIndicatorResult,
    PractitionerResults,
)

MORTALITY = "in-hospital-mortality"
READMISSION = "readmission-30-day"
LENGTH_OF_STAY = "length-of-stay"
HOSPITAL_ACQUIRED_CONDITIONS: tuple[str, ...] = ("falls-with-injury", "pressure-injuries", "cauti", "clabsi")
OPPE_MEASURE_IDS: tuple[str, ...] = (MORTALITY, READMISSION, LENGTH_OF_STAY, *HOSPITAL_ACQUIRED_CONDITIONS)
"""The standard OPPE measures, in the order ``run_measures`` is asked for them (department measures follow)."""
OPPE_STRATIFIERS: tuple[str, ...] = api.OPPE_STRATIFIERS

VOLUME = "volume"
HOSPITAL_ACQUIRED = "hospital-acquired-conditions"
STANDARD_INDICATORS: tuple[IndicatorDefinition, ...] = (
    IndicatorDefinition(VOLUME, "Adult inpatient stays attended", "volume", higher_is_worse=False),
    IndicatorDefinition(MORTALITY, "Risk-adjusted in-hospital mortality (O/E)", "observed_expected"),
    IndicatorDefinition(READMISSION, "Risk-adjusted 30-day readmission (O/E)", "observed_expected"),
    IndicatorDefinition(LENGTH_OF_STAY, "Risk-adjusted length of stay (O/E)", "observed_expected"),
    IndicatorDefinition(
        HOSPITAL_ACQUIRED, "Hospital-acquired conditions (falls, pressure injuries, CAUTI, CLABSI)", "count"
    ),
)
FLAG_LIMIT = "95 %"


def oppe_period(period_start: dt.date, period_end: dt.date) -> Period:
    return Period(period_start, period_end)


def oppe_measure_ids(extra_measure_ids: Sequence[str] = ()) -> tuple[str, ...]:
    """The measures one OPPE run asks the engine for: the standard ones, then the department's (no repeats)."""
    return tuple(dict.fromkeys((*OPPE_MEASURE_IDS, *extra_measure_ids)))


def department_oppe_results(
    warehouse: Path | str,
    *,
    department_id: str,
    period_start: dt.date,
    period_end: dt.date,
    extra_measure_ids: Sequence[str] = (),
) -> DepartmentOppeResults:
    """The OPPE results of every practitioner who attended stays in ``department_id`` during the period."""
    measure_ids = oppe_measure_ids(extra_measure_ids)
    run = api.run_measures(warehouse, oppe_period(period_start, period_end), measure_ids, stratifiers=OPPE_STRATIFIERS)
    return results_from_run(
        run,
        department_id=department_id,
        period_start=period_start,
        period_end=period_end,
        extra_measure_ids=extra_measure_ids,
    )


def results_from_run(
    run: api.MeasureRun,
    *,
    department_id: str,
    period_start: dt.date,
    period_end: dt.date,
    extra_measure_ids: Sequence[str] = (),
) -> DepartmentOppeResults:
    """The department's OPPE results read from a run of ``oppe_measure_ids(extra_measure_ids)`` stratified by
    ``OPPE_STRATIFIERS``; every number is the run's own."""
    measure_ids = oppe_measure_ids(extra_measure_ids)
    results = run.results.to_pandas()
    results = results[(results["grain"] == "period") & (results["department"] == department_id)]
    department_rows = results[results["stratifier"] == "department"]
    practitioner_rows = results[
        (results["stratifier"] == "department+practitioner") & (results["practitioner"] != UNKNOWN)
    ]
    extra = [measure_id for measure_id in measure_ids if measure_id not in OPPE_MEASURE_IDS]
    definitions = [*STANDARD_INDICATORS]
    for measure_id in extra:
        info = api.measure_info(measure_id)
        definitions.append(IndicatorDefinition(measure_id, info.title, "department"))

    per_practitioner: dict[str, list[PractitionerIndicatorResult]] = {}
    funnels: list[DepartmentFunnel | None] = []

    def rows_of(measure_id: str) -> pd.DataFrame:
        rows: pd.DataFrame = practitioner_rows[practitioner_rows["measure_id"] == measure_id]
        return rows

    def department_row(measure_id: str) -> dict[str, object] | None:
        rows = department_rows[department_rows["measure_id"] == measure_id]
        return None if rows.empty else {str(key): value for key, value in rows.iloc[0].to_dict().items()}

    for _, row in rows_of(LENGTH_OF_STAY).iterrows():
        cases = int(row["initial_population"])
        per_practitioner.setdefault(str(row["practitioner"]), []).append(
            PractitionerIndicatorResult(VOLUME, cases, observed=float(cases), value=float(cases))
        )
    for measure_id in (MORTALITY, READMISSION, LENGTH_OF_STAY):
        funnels.append(
            _observed_expected(measure_id, rows_of(measure_id), department_row(measure_id), per_practitioner)
        )
    funnels.append(_hospital_acquired(practitioner_rows, department_rows, per_practitioner))
    for measure_id in extra:
        rows = rows_of(measure_id)
        if registry.get(measure_id).risk_model is not None:
            funnels.append(_observed_expected(measure_id, rows, department_row(measure_id), per_practitioner))
        else:
            funnels.append(_proportion(measure_id, rows, department_row(measure_id), per_practitioner))

    versions = (
        results[["measure_id", "measure_version"]].drop_duplicates().sort_values("measure_id").itertuples(index=False)
    )
    source = "measure engine, " + ", ".join(f"{item.measure_id}@{item.measure_version}" for item in versions)
    return DepartmentOppeResults(
        department_id=department_id,
        period_start=period_start,
        period_end=period_end,
        source=source,
        indicators=tuple(definitions),
        practitioners=tuple(
            PractitionerResults(practitioner_id, tuple(indicators))
            for practitioner_id, indicators in sorted(per_practitioner.items())
        ),
        funnels=tuple(funnel for funnel in funnels if funnel is not None),
    )


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class _Placed:
    """The units a funnel can place (a positive denominator and a calculable value), and their limits.

    ``centre`` is the department's own O/E (1 for proportions): the funnel is drawn on expected events scaled by
    it, so practitioners are judged against their department's peers rather than the whole system, and its
    limits are scaled back by it onto the engine's O/E scale.
    """

    practitioners: tuple[str, ...]
    view: api.FunnelView | None
    centre: float = 1.0

    def limits_of(self, practitioner_id: str) -> tuple[float | None, float | None]:
        if self.view is None or practitioner_id not in self.practitioners:
            return None, None
        index = self.practitioners.index(practitioner_id)
        lower, upper = self.view.unit_limits[FLAG_LIMIT]
        low, high = _number(lower[index]), _number(upper[index])
        return (
            None if low is None else low * self.centre,
            None if high is None else high * self.centre,
        )

    def curve(self, *, as_counts: bool = False) -> tuple[FunnelLimit, ...]:
        """The limit curves against the practitioner's (unscaled) expected events; as counts when asked."""
        if self.view is None:
            return ()
        sizes, lower, upper = self.view.limits[FLAG_LIMIT]
        limits = []
        for scaled_size, low, high in zip(sizes, lower, upper, strict=True):
            if not (math.isfinite(low) and math.isfinite(high)):
                continue
            size = scaled_size / self.centre
            factor = self.centre * (size if as_counts else 1.0)
            limits.append(FunnelLimit(size, low * factor, high * factor))
        return tuple(limits)


def _ratio_funnel(
    practitioners: list[str], observed: list[float], expected: list[float], centre: float | None
) -> _Placed:
    if not practitioners:
        return _Placed((), None)
    scale = centre if centre is not None and centre > 0 else 1.0
    return _Placed(tuple(practitioners), api.funnel_for_ratios(observed, [value * scale for value in expected]), scale)


def _observed_expected(
    measure_id: str,
    rows: pd.DataFrame,
    department: dict[str, object] | None,
    per_practitioner: dict[str, list[PractitionerIndicatorResult]],
) -> DepartmentFunnel:
    placeable = rows[(rows["status"] != "not calculable") & (rows["expected"] > 0) & rows["oe_ratio"].notna()]
    department_ratio = None if department is None else _number(department["oe_ratio"])
    placed = _ratio_funnel(
        [str(value) for value in placeable["practitioner"]],
        [float(value) for value in placeable["observed"]],
        [float(value) for value in placeable["expected"]],
        department_ratio,
    )
    points = []
    for _, row in rows.iterrows():
        practitioner_id = str(row["practitioner"])
        funnel_lower, funnel_upper = placed.limits_of(practitioner_id)
        value = _number(row["oe_ratio"])
        per_practitioner.setdefault(practitioner_id, []).append(
            PractitionerIndicatorResult(
                measure_id,
                int(row["denominator"]),
                observed=_number(row["observed"]),
                expected=_number(row["expected"]),
                value=value,
                lower=_number(row["oe_lower"]),
                upper=_number(row["oe_upper"]),
                funnel_lower=funnel_lower,
                funnel_upper=funnel_upper,
            )
        )
        if practitioner_id in placed.practitioners:
            points.append(FunnelPoint(practitioner_id, int(row["denominator"]), value, _number(row["expected"])))
    return DepartmentFunnel(
        measure_id,
        department_ratio,
        tuple(points),
        placed.curve(),
        size_label="expected events" if measure_id != LENGTH_OF_STAY else "expected bed days",
    )


def _hospital_acquired(
    practitioner_rows: pd.DataFrame,
    department_rows: pd.DataFrame,
    per_practitioner: dict[str, list[PractitionerIndicatorResult]],
) -> DepartmentFunnel:
    rows = practitioner_rows[practitioner_rows["measure_id"].isin(HOSPITAL_ACQUIRED_CONDITIONS)]
    stays = practitioner_rows[practitioner_rows["measure_id"] == HOSPITAL_ACQUIRED_CONDITIONS[0]]
    cases = {str(row["practitioner"]): int(row["denominator"]) for _, row in stays.iterrows()}
    # Python's (compensated) sum over each practitioner's rows in the engine's order: exactly reproducible.
    events: dict[str, tuple[list[float], list[float]]] = {}
    for practitioner_id, observed_events, expected_events in zip(
        rows["practitioner"], rows["observed"], rows["expected"], strict=True
    ):
        observed_list, expected_list = events.setdefault(str(practitioner_id), ([], []))
        observed_list.append(_number(observed_events) or 0.0)
        expected_list.append(_number(expected_events) or 0.0)
    totals = {key: (sum(observed), sum(expected)) for key, (observed, expected) in events.items()}
    placeable = {key: value for key, value in sorted(totals.items()) if value[1] > 0}
    department = department_rows[department_rows["measure_id"].isin(HOSPITAL_ACQUIRED_CONDITIONS)]
    department_observed = _number(department["observed"].sum(min_count=1)) if not department.empty else None
    department_expected = _number(department["expected"].sum(min_count=1)) if not department.empty else None
    department_ratio = (
        department_observed / department_expected if department_observed is not None and department_expected else None
    )
    placed = _ratio_funnel(
        list(placeable),
        [observed for observed, _ in placeable.values()],
        [expected for _, expected in placeable.values()],
        department_ratio,
    )
    points = []
    for key, (observed_total, expected_total) in sorted(totals.items()):
        observed, expected = observed_total, expected_total
        ratio_lower, ratio_upper = placed.limits_of(key)
        # The funnel judges O/E; shown as counts, its limits are the ratio limits times the expected events.
        funnel_lower = None if ratio_lower is None or expected is None else ratio_lower * expected
        funnel_upper = None if ratio_upper is None or expected is None else ratio_upper * expected
        per_practitioner.setdefault(key, []).append(
            PractitionerIndicatorResult(
                HOSPITAL_ACQUIRED,
                cases.get(key, 0),
                observed=observed,
                expected=expected,
                value=observed,
                funnel_lower=funnel_lower,
                funnel_upper=funnel_upper,
            )
        )
        if key in placed.practitioners and observed is not None:
            points.append(FunnelPoint(key, cases.get(key, 0), observed, expected))
    return DepartmentFunnel(
        HOSPITAL_ACQUIRED,
        department_observed,
        tuple(points),
        placed.curve(as_counts=True),
        size_label="expected events",
    )


def _proportion(
    measure_id: str,
    rows: pd.DataFrame,
    department: dict[str, object] | None,
    per_practitioner: dict[str, list[PractitionerIndicatorResult]],
) -> DepartmentFunnel | None:
    spec = registry.get(measure_id)
    if spec.scoring is not Scoring.PROPORTION:
        for _, row in rows.iterrows():
            per_practitioner.setdefault(str(row["practitioner"]), []).append(
                PractitionerIndicatorResult(measure_id, int(row["denominator"]), value=_number(row["score"]))
            )
        return None
    effective_denominator = rows["denominator"] - rows["denominator_exclusion"] - rows["denominator_exception"]
    effective_numerator = rows["numerator"] - rows["numerator_exclusion"]
    usable = (effective_denominator > 0) & (rows["status"] != "not calculable")
    placed_ids = [str(value) for value in rows.loc[usable, "practitioner"]]
    view = (
        api.funnel_for_proportions(
            [float(value) for value in effective_numerator[usable]],
            [float(value) for value in effective_denominator[usable]],
        )
        if placed_ids
        else None
    )
    placed = _Placed(tuple(placed_ids), view)
    multiplier = spec.rate_multiplier
    points = []
    for (_, row), denominator in zip(rows.iterrows(), effective_denominator, strict=True):
        practitioner_id = str(row["practitioner"])
        lower, upper = placed.limits_of(practitioner_id)
        value = _number(row["score"])
        per_practitioner.setdefault(practitioner_id, []).append(
            PractitionerIndicatorResult(
                measure_id,
                int(row["denominator"]),
                observed=float(row["numerator"]),
                value=value,
                lower=_number(row["score_lower"]),
                upper=_number(row["score_upper"]),
                funnel_lower=None if lower is None else lower * multiplier,
                funnel_upper=None if upper is None else upper * multiplier,
            )
        )
        if practitioner_id in placed.practitioners:
            points.append(FunnelPoint(practitioner_id, int(denominator), value, float(denominator)))
    limits = tuple(
        FunnelLimit(limit.size, limit.lower * multiplier, limit.upper * multiplier) for limit in placed.curve()
    )
    return DepartmentFunnel(
        measure_id,
        None if department is None else _number(department["score"]),
        tuple(points),
        limits,
        size_label="cases",
    )
