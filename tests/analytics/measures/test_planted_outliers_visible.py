"""Risk-adjusted O/E finds the outliers planted in the generated hospital of tests/fixtures/planted_hospital.py
(20,000 patients, planted effects scaled up to show at that size) and flags ordinary strata no more than chance.

The chance bound is that of test_planted_outliers.py: with a calibrated model an ordinary stratum's 95 % O/E
interval lies wholly above 1 with probability at most 2.5 %, so over ``m`` ordinary strata the number flagged is at
most Binomial(m, 0.025), of which the test allows the 99th percentile. Ordinary means sharing no patients with a
planted stratum: the other wards and attendings of a planted one's department treat its patients and carry part
of its effect (``PlantedHospital.sharing_patients``).

The step-change ward is judged after its change, against risk models fitted on the whole span, on falls with
injury. Its mortality step is left to the 100,000-patient test: the planted odds ratio acts on the modelled part of
in-hospital mortality only (deaths due in any case during the stay are not planted), and on a community ward that
part is small, so after the change the ward's death rate rises from about 5 % to about 9 % on some 220 stays --
an O/E interval that still reaches below 1.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from scipy import stats

from medgov.analytics import api
from tests.fixtures.planted_hospital import EFFECTS, WHOLE_SPAN, PlantedHospital


@pytest.fixture(scope="module")
def whole_span_results(planted_hospital: PlantedHospital) -> pd.DataFrame:
    run = api.run_measures(planted_hospital.warehouse, WHOLE_SPAN, list(EFFECTS), stratifiers=("practitioner", "unit"))
    return run.results.to_pandas()


def test_every_planted_practitioner_and_ward_has_an_o_e_interval_above_one(
    planted_hospital: PlantedHospital, whole_span_results: pd.DataFrame
) -> None:
    rows = whole_span_results.set_index(["measure_id", "stratum"])
    step = planted_hospital.step_unit()
    after_change = (
        api.run_measures(
            planted_hospital.warehouse,
            api.Period(dt.date.fromisoformat(step["changes_on"]), WHOLE_SPAN.end),
            ["falls-with-injury"],
            stratifiers=("unit",),
            reference_period=WHOLE_SPAN,
        )
        .results.to_pandas()
        .set_index(["measure_id", "stratum"])
    )
    judged = [
        (measure, stratum, rows)
        for stratum, effects in planted_hospital.effects().items()
        for measure, effect in EFFECTS.items()
        if effects[effect] != 1.0 and stratum != step["location_id"]
    ] + [("falls-with-injury", step["location_id"], after_change)]
    assert len(judged) == 9
    missed = [
        (measure, stratum) for measure, stratum, table in judged if not table.loc[(measure, stratum), "oe_lower"] > 1
    ]
    assert missed == []


def test_ordinary_practitioners_and_wards_are_flagged_no_more_than_chance(
    planted_hospital: PlantedHospital, whole_span_results: pd.DataFrame
) -> None:
    parents = api.organisation_structure(planted_hospital.warehouse).parents
    sharing = planted_hospital.sharing_patients()
    rows = whole_span_results
    rows = rows[rows["stratifier"].isin(["practitioner", "unit"]) & rows["oe_ratio"].notna()]
    ordinary = rows[
        [
            stratum not in planted_hospital.effects() and parents[stratifier].get(stratum) not in sharing
            for stratifier, stratum in zip(rows["stratifier"], rows["stratum"], strict=True)
        ]
    ]
    assert ordinary.groupby("stratifier")["stratum"].nunique().to_dict() == {"practitioner": 41, "unit": 14}
    over_bound = []
    for (measure, stratifier), group in ordinary.groupby(["measure_id", "stratifier"]):
        flagged = int((group["oe_lower"] > 1).sum())
        allowed = int(stats.binom.ppf(0.99, len(group), 0.025))
        if flagged > allowed:
            over_bound.append((measure, stratifier, flagged, len(group), allowed))
    assert over_bound == []
