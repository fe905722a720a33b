"""Logistic risk models, discrimination, calibration, O/E by stratum and the AHRQ PSI 90 composite.

There are no third-party logistic-model vectors in the anchors; these tests assert exact mathematical properties
(the maximum-likelihood score equations, Mann-Whitney equivalence of the c statistic) and hand-worked values.
PSI 90 weights are checked against methods/psi/ahrq_sas_qi; that folder has no patient-level vectors.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from medgov.analytics.statistics.intervals import observed_expected_ratio
from medgov.analytics.statistics.psi import psi90_composite, psi90_weights, psi_component
from medgov.analytics.statistics.risk import (
    c_statistic,
    calibration,
    expected_from_reference_rates,
    fit_logistic_model,
    hosmer_lemeshow,
    observed_expected_by_risk_group,
    observed_expected_by_stratum,
    poisson_calibration,
    predict_risk,
)
from tests.anchors import ANCHORS

PSI_FOLDER = ANCHORS / "methods" / "psi" / "ahrq_sas_qi"


def _cohort(seed: int, size: int = 2000) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    age = generator.uniform(40, 90, size)
    sex = generator.choice(["F", "M"], size)
    linear = -9.0 + 0.09 * age + 0.4 * (sex == "M")
    died = (generator.uniform(size=size) < 1 / (1 + np.exp(-linear))).astype(int)
    ward = generator.choice(["A", "B", "C"], size)
    return pd.DataFrame({"age": age, "sex": sex, "died": died, "ward": ward})


REFERENCE = _cohort(1)
MEASURED = _cohort(2)
MODEL = fit_logistic_model(REFERENCE, "died ~ age + C(sex)")


def test_fitted_model_reproduces_the_observed_deaths_in_its_own_reference_period() -> None:
    predicted = predict_risk(MODEL, REFERENCE)
    assert MODEL.converged
    assert predicted.sum() == pytest.approx(REFERENCE["died"].sum(), rel=1e-8)
    assert list(MODEL.coefficients) == ["Intercept", "C(sex)[T.M]", "age"]
    assert (MODEL.n, MODEL.events) == (2000, int(REFERENCE["died"].sum()))


def test_in_sample_calibration_has_intercept_zero_and_slope_one() -> None:
    result = calibration(REFERENCE["died"], predict_risk(MODEL, REFERENCE))
    assert result.intercept == pytest.approx(0.0, abs=1e-7)
    assert result.slope == pytest.approx(1.0, rel=1e-7)


def test_c_statistic_equals_mann_whitney_u_over_pairs() -> None:
    predicted = predict_risk(MODEL, MEASURED)
    outcomes = MEASURED["died"].to_numpy()
    result = c_statistic(outcomes, predicted)
    u = stats.mannwhitneyu(predicted[outcomes == 1], predicted[outcomes == 0]).statistic
    assert result.value == pytest.approx(u / (result.events * result.non_events), rel=1e-12)


@pytest.mark.parametrize(
    ("outcomes", "predicted", "expected"),
    [
        pytest.param([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75, id="three-of-four-pairs-concordant"),
        pytest.param([0, 1], [0.5, 0.5], 0.5, id="tie-counts-one-half"),
        pytest.param([1, 0], [0.9, 0.1], 1.0, id="perfect"),
    ],
)
def test_c_statistic_small_cases(outcomes: list[int], predicted: list[float], expected: float) -> None:
    assert c_statistic(outcomes, predicted).value == expected


def test_c_statistic_without_events_gives_a_reason() -> None:
    result = c_statistic([0, 0, 0], [0.1, 0.2, 0.3])
    assert (result.value, result.reason) == (None, "needs at least one event and one non-event")


def test_hosmer_lemeshow_table_and_statistic_by_hand() -> None:
    outcomes = [0, 0, 1, 0, 1, 1]
    predicted = [0.1, 0.2, 0.3, 0.4, 0.6, 0.9]
    result = hosmer_lemeshow(outcomes, predicted, groups=3)
    assert result.table[["group", "n", "observed"]].to_numpy().tolist() == [[1, 2, 0], [2, 2, 1], [3, 2, 2]]
    assert result.table["expected"].tolist() == pytest.approx([0.3, 0.7, 1.5], rel=1e-12)
    by_hand = 0.3**2 / (0.3 * (1 - 0.15)) + 0.3**2 / (0.7 * (1 - 0.35)) + 0.5**2 / (1.5 * (1 - 0.75))
    assert result.statistic == pytest.approx(by_hand, rel=1e-12)
    assert result.degrees_of_freedom == 1
    assert result.p_value == pytest.approx(stats.chi2.sf(by_hand, 1), rel=1e-12)


def test_hosmer_lemeshow_on_a_well_specified_model_has_ten_groups_summing_to_the_total() -> None:
    predicted = predict_risk(MODEL, MEASURED)
    result = hosmer_lemeshow(MEASURED["died"], predicted)
    assert result.table["n"].tolist() == [200] * 10
    assert result.table["observed"].sum() == MEASURED["died"].sum()
    assert result.degrees_of_freedom == 8


def test_hosmer_lemeshow_with_too_few_rows_gives_a_reason() -> None:
    assert hosmer_lemeshow([0, 1], [0.2, 0.7]).reason == "fewer rows than groups"


def test_observed_expected_by_stratum_uses_the_poisson_interval() -> None:
    measured = MEASURED.assign(risk=predict_risk(MODEL, MEASURED))
    table = observed_expected_by_stratum(measured, stratum_column="ward", outcome_column="died", risk_column="risk")
    assert table["ward"].tolist() == ["A", "B", "C"]
    for _, row in table.iterrows():
        subset = measured[measured["ward"] == row["ward"]]
        assert row["n"] == len(subset)
        assert row["observed"] == subset["died"].sum()
        assert row["expected"] == pytest.approx(subset["risk"].sum(), rel=1e-12)
        interval = observed_expected_ratio(row["observed"], row["expected"])
        assert (row["oe_ratio"], row["lower"], row["upper"]) == (interval.estimate, interval.lower, interval.upper)


def test_observed_expected_by_stratum_with_zero_expected_gives_a_reason() -> None:
    frame = pd.DataFrame({"unit": ["x"], "died": [0], "risk": [0.0]})
    table = observed_expected_by_stratum(frame, stratum_column="unit", outcome_column="died", risk_column="risk")
    assert table.loc[0, "reason"] == "expected count is zero"


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        pytest.param(lambda: c_statistic([0, 2], [0.1, 0.2]), "outcomes", id="outcome-not-binary"),
        pytest.param(lambda: calibration([0, 1], [0.1, 1.2]), "predicted", id="risk-above-one"),
        pytest.param(lambda: fit_logistic_model(REFERENCE, "alive ~ age"), "alive", id="unknown-outcome"),
        pytest.param(lambda: expected_from_reference_rates([-1], [1], [10]), "populations", id="negative-population"),
    ],
)
def test_invalid_input_raises_naming_the_argument(call: object, argument: str) -> None:
    with pytest.raises(ValueError, match=argument):
        call()  # type: ignore[operator]


# --- PSI 90 -----------------------------------------------------------------------------------------------

PSI_REFERENCE = json.loads((PSI_FOLDER / "psi90_weights_and_formulas.json").read_text())


@pytest.mark.parametrize("version", ["v2024", "v2025"])
def test_psi90_weights_equal_ahrq_and_sum_to_one(version: str) -> None:
    weights = psi90_weights(version)  # type: ignore[arg-type]
    assert dict(weights) == PSI_REFERENCE["psi90_weights"][version]
    assert sum(weights.values()) == pytest.approx(1.0, rel=1e-9)


def test_psi_component_formulas_by_hand() -> None:
    component = psi_component(
        "PSI_03",
        numerator=6,
        denominator=1000,
        expected_sum=4.0,
        expected_variance_sum=3.9,
        reference_rate=0.005,
        signal_variance=0.00001,
    )
    risk_adjusted = (0.006 / 0.004) * 0.005
    se = (0.005 / 0.004) * (1 / 1000) * np.sqrt(3.9)
    reliability = 0.00001 / (0.00001 + se**2)
    assert component.risk_adjusted_rate == pytest.approx(risk_adjusted, rel=1e-12)
    assert component.standard_error == pytest.approx(se, rel=1e-12)
    assert component.smoothed_rate == pytest.approx(reliability * risk_adjusted + (1 - reliability) * 0.005, rel=1e-12)
    assert component.lower == pytest.approx(max(0.0, risk_adjusted - 1.96 * se), rel=1e-12)


def test_psi90_is_one_at_the_reference_and_weights_small_components_as_one() -> None:
    at_reference = {
        name: psi_component(
            name,
            numerator=5,
            denominator=1000,
            expected_sum=5.0,
            expected_variance_sum=4.9,
            reference_rate=0.005,
            signal_variance=0.00002,
        )
        for name in psi90_weights("v2025")
    }
    assert psi90_composite(at_reference) == pytest.approx(1.0, rel=1e-12)
    doubled = dict(at_reference)
    doubled["PSI_03"] = psi_component(
        "PSI_03", numerator=10, denominator=1000, expected_sum=5.0, expected_variance_sum=4.9,
        reference_rate=0.005, signal_variance=0.00002,
    )  # fmt: skip
    reliability = doubled["PSI_03"].reliability
    assert reliability is not None
    expected = 1.0 + psi90_weights("v2025")["PSI_03"] * reliability * (2.0 - 1.0)
    assert psi90_composite(doubled) == pytest.approx(expected, rel=1e-12)
    small = dict(doubled)
    small["PSI_03"] = psi_component(
        "PSI_03", numerator=2, denominator=2, expected_sum=0.1, expected_variance_sum=0.09,
        reference_rate=0.005, signal_variance=0.00002,
    )  # fmt: skip
    assert psi90_composite(small) == pytest.approx(1.0, rel=1e-12)


def test_psi_component_with_zero_denominator_gives_a_reason() -> None:
    component = psi_component(
        "PSI_06", numerator=0, denominator=0, expected_sum=0, expected_variance_sum=0,
        reference_rate=0.001, signal_variance=0.0,
    )  # fmt: skip
    assert (component.risk_adjusted_rate, component.reason) == (None, "denominator is zero")


def test_poisson_calibration_slope_is_the_log_linear_coefficient_of_the_log_prediction() -> None:
    observed, means = np.array([1.0, 3.0, 3.0, 9.0, 4.0]), np.array([1.0, 2.0, 4.0, 8.0, 3.0])
    direct = sm.GLM(observed, sm.add_constant(np.log(means)), family=sm.families.Poisson()).fit()
    assert poisson_calibration(observed, means).slope == pytest.approx(float(direct.params[1]), rel=1e-12)


def test_poisson_calibration_in_the_large_is_the_log_observed_over_expected() -> None:
    result = poisson_calibration([3.0, 0.0, 5.0, 9.0], [2.0, 2.0, 4.0, 8.0])
    assert result.intercept == pytest.approx(np.log(17.0 / 16.0), rel=1e-15)


def test_poisson_calibration_needs_positive_predictions() -> None:
    assert poisson_calibration([1.0, 2.0], [0.0, 2.0]).reason == "predicted means must be positive"


def test_observed_expected_by_risk_group_splits_by_increasing_prediction() -> None:
    table = observed_expected_by_risk_group([1, 0, 1, 1, 0], [0.9, 0.1, 0.5, 0.7, 0.2], groups=2)
    assert table[["group", "n", "observed"]].to_dict("list") == {"group": [1, 2], "n": [3, 2], "observed": [1.0, 2.0]}
    assert table["expected"].tolist() == pytest.approx([0.8, 1.6], rel=1e-15)
    assert table["oe_ratio"].tolist() == pytest.approx([1.25, 1.25], rel=1e-15)
