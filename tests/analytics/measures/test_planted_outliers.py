"""Risk-adjusted O/E finds the outliers planted in a generated hospital and flags others no more than chance.

Chance bound: with a calibrated model and Poisson-distributed observed counts, an ordinary stratum's 95 % O/E
interval lies wholly above 1 with probability at most 2.5 %. Over ``m`` ordinary strata the number flagged is
then at most Binomial(m, 0.025); the test allows its 99th percentile, so a correct model fails the check for
one measure and stratifier in 100. Ordinary attendings carry a small real practice effect (log-odds SD 0.1,
docs/synth.md), which the bound absorbs at these sizes.

Generating and loading 100,000 patients takes about 12 minutes on 2 cores, hence ``slow``.
"""

import datetime as dt
import json
from pathlib import Path

import pytest
from scipy import stats

from medgov.analytics import api
from medgov.analytics.synth import SynthConfig, generate

EFFECTS = {
    "in-hospital-mortality": "mortality_odds_ratio",
    "readmission-30-day": "readmission_odds_ratio",
    "falls-with-injury": "fall_rate_ratio",
    "pressure-injuries": "pressure_injury_rate_ratio",
}
START = dt.date(2020, 10, 1)
WHOLE_SPAN = api.Period(START, dt.date(2026, 9, 30))


@pytest.fixture(scope="module")
def generated_hospital(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    folder = tmp_path_factory.mktemp("planted")
    generate(SynthConfig(patients=100_000, seed=1, start=START, years=6), folder / "ndjson")
    warehouse = folder / "warehouse.duckdb"
    api.ingest([folder / "ndjson"], warehouse)
    return warehouse, json.loads((folder / "ndjson" / "planted.json").read_text())


def _planted_effects(planted: dict[str, object]) -> dict[str, dict[str, float]]:
    entries = [*planted["practitioners"], *planted["units"]]  # type: ignore[misc]
    return {entry.get("practitioner_id") or entry["location_id"]: entry["effects"] for entry in entries}


@pytest.mark.slow
def test_planted_practitioners_and_units_have_o_e_intervals_above_one(
    generated_hospital: tuple[Path, dict[str, object]],
) -> None:
    warehouse, planted = generated_hospital
    effects = _planted_effects(planted)
    run = api.run_measures(warehouse, WHOLE_SPAN, list(EFFECTS), stratifiers=("practitioner", "unit"))
    rows = run.results.to_pandas().set_index(["measure_id", "stratum"])
    step_units = {unit["location_id"] for unit in planted["units"] if unit["changes_on"]}  # type: ignore[attr-defined]
    missed = [
        (measure, stratum)
        for stratum, entity_effects in effects.items()
        for measure, effect in EFFECTS.items()
        if entity_effects[effect] != 1.0
        and not (stratum in step_units and measure == "in-hospital-mortality")
        and not rows.loc[(measure, stratum), "oe_lower"] > 1
    ]
    assert missed == []


@pytest.mark.slow
def test_the_step_change_unit_is_found_after_the_change(generated_hospital: tuple[Path, dict[str, object]]) -> None:
    warehouse, planted = generated_hospital
    (unit,) = [unit for unit in planted["units"] if unit["changes_on"]]  # type: ignore[attr-defined]
    after = api.Period(dt.date.fromisoformat(unit["changes_on"]), WHOLE_SPAN.end)
    run = api.run_measures(
        warehouse, after, ["in-hospital-mortality"], stratifiers=("unit",), reference_period=WHOLE_SPAN
    )
    rows = run.results.to_pandas().set_index("stratum")
    assert rows.loc[unit["location_id"], "oe_lower"] > 1


@pytest.mark.slow
def test_ordinary_practitioners_and_units_are_flagged_no_more_than_chance(
    generated_hospital: tuple[Path, dict[str, object]],
) -> None:
    warehouse, planted = generated_hospital
    effects = _planted_effects(planted)
    run = api.run_measures(warehouse, WHOLE_SPAN, list(EFFECTS), stratifiers=("practitioner", "unit"))
    rows = run.results.to_pandas()
    ordinary = rows[rows["stratifier"].isin(["practitioner", "unit"]) & rows["oe_ratio"].notna()]
    ordinary = ordinary[~ordinary["stratum"].isin(effects)]
    over_bound = []
    for (measure, stratifier), group in ordinary.groupby(["measure_id", "stratifier"]):
        flagged = int((group["oe_lower"] > 1).sum())
        allowed = int(stats.binom.ppf(0.99, len(group), 0.025))
        if flagged > allowed:
            over_bound.append((measure, stratifier, flagged, len(group), allowed))
    assert over_bound == []
