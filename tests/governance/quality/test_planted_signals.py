"""``medgov quality refresh`` on a generated hospital raises signals for the planted wards and, on stable wards, no
more than the rule set raises by chance.

The chance bound is computed, not assumed. The stored results of every stable ward -- one that shares no patients
with a planted ward or attending (``PlantedHospital.sharing_patients``) -- are redrawn in control and passed through
the same detection as the refresh (``spc_candidates``, ``funnel_candidates``): each charted point's events are
Poisson around the ward's own level in the two baseline years, on the point's expected count where the measure is
risk-adjusted (case mix may vary, performance does not) and on its denominator otherwise; the funnel's latest year
is Poisson around the wards' common level. The mean number of concern signals over the redraws is what the rules
raise on these wards when nothing has changed; the real count may not pass the 99.9th percentile of a Poisson count
with that mean. Small wards make the rules' real false-alarm rate several times the nominal one (a funnel with
99.8 % limits flags a ward with 2 expected events and 6 observed), which the redraws include. Length of stay is
left out of the count: its points are sums of days, not counts of events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
from scipy import stats
from typer.testing import CliRunner

from medgov.governance.quality import detection
from medgov.governance.quality.choices import SignalDirection, SignalKind
from medgov.governance.quality.models import Measure, MeasureResult, Signal
from medgov.interfaces.cli.main import app
from tests.fixtures.planted_hospital import BASELINE_END, EFFECTS, PlantedHospital

NULL_DRAWS = 20


def _redrawn(rows: Iterable[MeasureResult], level: float, generator: np.random.Generator, *, by_expected: bool):
    redrawn = []
    for row in rows:
        exposure = (row.expected or 0.0) if by_expected else row.denominator
        events = float(generator.poisson(level * exposure))
        redrawn.append(
            MeasureResult(
                measure_id=row.measure_id,
                grain=row.grain,
                period_start=row.period_start,
                period_end=row.period_end,
                dimension=row.dimension,
                stratum_key=row.stratum_key,
                stratum_label=row.stratum_label,
                denominator=row.denominator,
                numerator=events,
                observed=events if row.expected else None,
                expected=row.expected,
                rate=events / row.denominator if row.calculable and row.denominator else None,
                oe_ratio=events / row.expected if row.calculable and row.expected else None,
                calculable=row.calculable,
            )
        )
    return redrawn


def _level(rows: list[MeasureResult], *, by_expected: bool) -> float:
    events = sum((row.observed or 0.0) if by_expected else row.numerator for row in rows)
    exposure = sum((row.expected or 0.0) if by_expected else row.denominator for row in rows)
    return events / exposure if exposure else 0.0


def _chance_signals(measure: Measure, stable_units: set[str], generator: np.random.Generator) -> float:
    """Mean number of concern signals that in-control redraws of the stable wards' results raise."""
    rows = list(MeasureResult.objects.filter(measure=measure, dimension="unit").order_by("period_start"))
    by_expected = all(row.expected for row in rows if row.grain == "year" and row.calculable)
    by_grain: dict[str, dict[str, list[MeasureResult]]] = {}
    for row in rows:
        if row.grain in detection.MONTHS_PER_POINT and row.stratum_key in stable_units:
            by_grain.setdefault(row.stratum_key, {}).setdefault(row.grain, []).append(row)
    # Redraws keep each point's calculability, so each ward is charted at the grain the refresh charted it.
    series = {unit: grains[detection.charted_grain(grains)] for unit, grains in by_grain.items()}
    latest_year = max(row.period_start for row in rows if row.grain == "year")
    year = [row for row in rows if row.grain == "year" and row.period_start == latest_year]
    year_level = _level([row for row in year if row.calculable], by_expected=by_expected)
    levels = {
        key: _level([row for row in points if row.period_start < BASELINE_END], by_expected=by_expected)
        for key, points in series.items()
    }
    raised = 0
    for _ in range(NULL_DRAWS):
        redrawn = [
            row
            for key, points in series.items()
            for row in _redrawn(points, levels[key], generator, by_expected=by_expected)
        ]
        redrawn += _redrawn(year, year_level, generator, by_expected=by_expected)
        candidates = detection.spc_candidates(measure, redrawn) + detection.funnel_candidates(measure, redrawn)
        raised += sum(
            1
            for candidate in candidates
            if candidate.dimension == "unit"
            and candidate.stratum_key in stable_units
            and candidate.direction == SignalDirection.CONCERN
        )
    return raised / NULL_DRAWS


def test_the_refresh_signals_the_planted_wards_and_stable_wards_no_more_than_chance(db, settings, planted_hospital):
    hospital: PlantedHospital = planted_hospital
    settings.MEDGOV_WAREHOUSE = hospital.warehouse
    result = CliRunner().invoke(app, ["quality", "refresh"])
    assert result.exit_code == 0, result.output

    concerns = Signal.objects.filter(dimension="unit", direction=SignalDirection.CONCERN)
    funnel_units = set(
        concerns.filter(kind=SignalKind.FUNNEL, measure__measure_id__in=list(EFFECTS)).values_list(
            "stratum_key", "measure__measure_id"
        )
    )
    planted_effects = {
        (unit["location_id"], measure)
        for unit in hospital.planted["units"]
        for measure, effect in EFFECTS.items()
        if unit["effects"][effect] != 1.0
    }
    assert {unit["location_id"] for unit in hospital.planted["units"]} == {
        unit for unit, measure in funnel_units & planted_effects
    }

    step = hospital.step_unit()
    changes_on = dt.date.fromisoformat(step["changes_on"])
    step_signals = concerns.filter(
        kind=SignalKind.SPC,
        stratum_key=step["location_id"],
        measure__measure_id__in=[m for m, effect in EFFECTS.items() if step["effects"][effect] != 1.0],
        last_period__gte=changes_on,
        first_period__gte=changes_on.replace(month=(changes_on.month - 1) // 3 * 3 + 1),
    )
    assert step_signals.exists()

    stable_units = {
        unit
        for unit, department in hospital.unit_departments().items()
        if department not in hospital.sharing_patients()
    }
    counted = [
        measure for measure in Measure.objects.order_by("measure_id") if measure.scoring != "continuous-variable"
    ]
    generator = np.random.default_rng(2026)
    chance = sum(_chance_signals(measure, stable_units, generator) for measure in counted)
    allowed = int(stats.poisson.ppf(0.999, chance))
    on_stable_units = concerns.filter(
        kind__in=[SignalKind.SPC, SignalKind.FUNNEL], stratum_key__in=stable_units, measure__in=counted
    ).count()
    assert on_stable_units <= allowed, (on_stable_units, chance, allowed)
