import datetime as dt

import numpy as np
import pandas as pd
import patsy
import pytest
from ibis.backends import BaseBackend

from medgov.analytics.measures import engine, registry, risk
from medgov.analytics.measures.spec import MeasureContext, Period, RiskModelKind
from medgov.analytics.statistics import risk as statistics
from tests.fixtures import hospital

PERIOD = Period(hospital.PERIOD_START, hospital.PERIOD_END)
FIRST_HALF = Period(hospital.PERIOD_START, dt.date(2025, 6, 30))
COVARIATES = ("age_years", "sex", "admission_type", "principal_group", "elixhauser", "charlson")


def _cases(rows: int = 600, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age_years": rng.integers(18, 95, rows).astype(float),
            "sex": rng.choice(["female", "male"], rows),
            "admission_type": rng.choice(["EL", "EM", "UR"], rows),
            "principal_group": rng.choice(["sepsis", "heart-failure", "pneumonia", "stroke"], rows),
            "elixhauser": rng.integers(-5, 20, rows).astype(float),
            "charlson": rng.integers(0, 8, rows).astype(float),
        }
    )
    linear = -6 + 0.05 * frame["age_years"] + 0.1 * frame["charlson"] + (frame["sex"] == "male") * 0.3
    frame["outcome"] = (rng.random(rows) < 1 / (1 + np.exp(-linear))).astype(float)
    return frame


def test_the_design_matrix_is_the_one_the_formula_builds() -> None:
    cases = _cases()
    design = risk.design_for(COVARIATES, cases)
    expected = patsy.dmatrix(design.formula.split("~", 1)[1], cases, return_type="dataframe")
    assert design.names == tuple(expected.columns)
    assert np.array_equal(design.matrix(cases), expected.to_numpy())


def test_a_model_on_the_design_matrix_equals_the_formula_fit() -> None:
    cases = _cases()
    fitted = risk.fit(RiskModelKind.LOGISTIC, COVARIATES, cases)
    assert isinstance(fitted, risk.FittedModel)
    formula_fit = statistics.fit_logistic_model(cases, fitted.formula)
    assert list(fitted.coefficients) == list(formula_fit.coefficients)
    assert np.allclose(list(fitted.coefficients.values()), list(formula_fit.coefficients.values()), rtol=1e-9)
    assert np.allclose(fitted.predict(cases), statistics.predict_risk(formula_fit, cases), rtol=1e-9, atol=0)


def test_a_level_the_model_never_saw_is_named() -> None:
    design = risk.design_for(("sex",), pd.DataFrame({"sex": ["female", "male"]}))
    with pytest.raises(ValueError, match=r"covariate 'sex' has levels the model does not know: \['unknown'\]"):
        design.matrix(pd.DataFrame({"sex": ["female", "unknown"]}))


@pytest.mark.parametrize("spec", registry.all_measures(), ids=lambda spec: spec.id)
def test_a_period_s_subjects_are_the_span_s_subjects_anchored_in_it(hospital_backend: BaseBackend, spec) -> None:  # type: ignore[no-untyped-def]
    context = MeasureContext(hospital_backend, PERIOD)
    try:
        span = engine.subject_frame(spec, context)
        first_half = engine.subject_frame(spec, context.for_period(FIRST_HALF))
    finally:
        context.release()
    anchored = span[span["anchor_date"] <= pd.Timestamp(FIRST_HALF.end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(first_half, anchored)


def test_the_held_out_check_is_on_the_measured_cases_outside_the_reference_period(
    hospital_backend: BaseBackend,
) -> None:
    [evaluation] = engine.evaluate(
        hospital_backend, [registry.get("in-hospital-mortality")], PERIOD, reference_period=FIRST_HALF
    )
    model = evaluation.model
    assert model is not None and model.held_out is not None and model.in_sample is not None
    subjects = evaluation.subjects
    held_out = subjects[subjects["measure_population"] & (subjects["anchor_date"] > pd.Timestamp(FIRST_HALF.end))]
    outcome, expected = held_out["outcome"].to_numpy(), held_out["expected"].to_numpy()
    check = model.held_out
    assert (check.n, check.observed) == (len(held_out), outcome.sum()) == (73, 8.0)
    assert check.expected == pytest.approx(expected.sum(), rel=1e-12)
    assert check.c_statistic == statistics.c_statistic(outcome, expected).value
    calibration = statistics.calibration(outcome, expected)
    assert (check.calibration_intercept, check.calibration_slope) == (calibration.intercept, calibration.slope)
    assert check.hosmer_lemeshow == statistics.hosmer_lemeshow(outcome, expected).statistic
    assert [group.n for group in check.groups] == [8, 8, 8, 7, 7, 7, 7, 7, 7, 7]
    assert sum(group.observed for group in check.groups) == 8.0
    assert (model.in_sample.n, model.in_sample.observed, model.in_sample.c_statistic) == (
        model.n, model.events, model.c_statistic
    )  # fmt: skip


def test_a_model_fitted_on_the_measured_period_has_no_held_out_check(hospital_backend: BaseBackend) -> None:
    evaluations = engine.evaluate(
        hospital_backend, [registry.get("in-hospital-mortality"), registry.get("length-of-stay")], PERIOD
    )
    assert [(item.model.held_out, item.model.in_sample.n) for item in evaluations if item.model] == [
        (None, evaluations[0].model.n if evaluations[0].model else 0),
        (None, evaluations[1].model.n if evaluations[1].model else 0),
    ]


def test_a_length_of_stay_model_is_checked_on_the_log_scale(hospital_backend: BaseBackend) -> None:
    [evaluation] = engine.evaluate(
        hospital_backend, [registry.get("length-of-stay")], PERIOD, reference_period=FIRST_HALF
    )
    assert evaluation.model is not None and evaluation.model.held_out is not None
    check = evaluation.model.held_out
    assert check.c_statistic is None and check.hosmer_lemeshow is None
    assert check.calibration_intercept == pytest.approx(np.log(check.observed / check.expected), rel=1e-12)
    assert check.oe_ratio == pytest.approx(check.observed / check.expected)
