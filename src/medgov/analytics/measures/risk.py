"""Risk models for the measure engine: fit on a reference period, apply to the measured period.

Binary outcomes use the project's logistic models (:mod:`medgov.analytics.statistics.risk`: statsmodels GLM,
binomial family, c statistic, calibration intercept and slope). Continuous outcomes (length of stay) use a
log-linear Poisson GLM on the same covariates (quasi-likelihood: the point estimates are those of any
log-link model whose variance is proportional to the mean; McCullagh & Nelder 1989, section 8.4), so the
expected total of a stratum is the sum of its predicted values.

Categorical covariates met in the measured period but not in the reference period are mapped to the
reference period's most frequent level, so a new ward or payer does not break prediction.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from medgov.analytics.measures.spec import RiskModelKind
from medgov.analytics.statistics import risk

CATEGORICAL: frozenset[str] = frozenset({"sex", "admission_type"})
OUTCOME = "outcome"


@dataclass(frozen=True)
class FittedModel:
    """A model fitted on the reference period, with its discrimination and calibration there."""

    kind: RiskModelKind
    formula: str
    coefficients: Mapping[str, float]
    n: int
    events: float
    converged: bool
    c_statistic: float | None
    calibration_intercept: float | None
    calibration_slope: float | None
    notes: tuple[str, ...]
    covariates: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]] = field(repr=False)
    _predict: object = field(repr=False, compare=False)

    def predict(self, measured: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Predicted risk (logistic) or expected value (Poisson) for each row of ``measured``."""
        frame = _harmonise(measured, self.covariates, self.levels)
        with warnings.catch_warnings():
            # Overflow in exp() for extreme linear predictors yields risks of 0 or 1, which is what is meant.
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(self._predict(frame), dtype=np.float64)  # type: ignore[operator]


def formula_for(covariates: Sequence[str], reference: pd.DataFrame) -> str:
    """``outcome ~ ...`` with categorical covariates in ``C()``; a covariate with one level is left out."""
    terms = []
    for name in covariates:
        if name in CATEGORICAL:
            if reference[name].nunique() > 1:
                terms.append(f"C({name})")
        elif reference[name].nunique() > 1:
            terms.append(name)
    return f"{OUTCOME} ~ " + (" + ".join(terms) if terms else "1")


def fit(kind: RiskModelKind, covariates: Sequence[str], reference: pd.DataFrame) -> FittedModel | str:
    """Fit the model on ``reference`` (columns ``outcome`` and the covariates); a string says why it cannot."""
    if len(reference) < 2:
        return "the reference period has fewer than 2 cases"
    frame = _categorical(reference, covariates)
    levels = {name: tuple(frame[name].value_counts().index.astype(str)) for name in covariates if name in CATEGORICAL}
    formula = formula_for(covariates, frame)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind is RiskModelKind.LOGISTIC:
            events = float(frame[OUTCOME].sum())
            if events == 0 or events == len(frame):
                return "the reference period needs at least one event and one non-event"
            model = risk.fit_logistic_model(frame, formula)
            predicted = risk.predict_risk(model, frame)
            c_stat = risk.c_statistic(frame[OUTCOME].to_numpy(), predicted)
            calibration = risk.calibration(frame[OUTCOME].to_numpy(), predicted)
            fitted = FittedModel(
                kind, formula, dict(model.coefficients), model.n, events, model.converged, c_stat.value,
                calibration.intercept, calibration.slope, (), tuple(covariates), levels,
                lambda measured: risk.predict_risk(model, measured),
            )  # fmt: skip
        else:
            result = smf.glm(formula, data=frame, family=sm.families.Poisson()).fit(scale="X2")
            fitted = FittedModel(
                kind, formula, {str(k): float(v) for k, v in result.params.items()}, int(result.nobs),
                float(frame[OUTCOME].sum()), bool(result.converged), None, None, None, (), tuple(covariates), levels,
                result.predict,
            )  # fmt: skip
    notes.extend(sorted({f"{type(item.message).__name__}: {item.message}" for item in caught}))
    if not fitted.converged:
        notes.append("the model did not converge")
    return FittedModel(
        fitted.kind, fitted.formula, fitted.coefficients, fitted.n, fitted.events, fitted.converged,
        fitted.c_statistic, fitted.calibration_intercept, fitted.calibration_slope, tuple(notes), fitted.covariates,
        fitted.levels,
        fitted._predict,
    )  # fmt: skip


def _categorical(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    result = frame.copy()
    for name in covariates:
        if name in CATEGORICAL:
            result[name] = result[name].fillna("unknown").astype(str)
        else:
            result[name] = pd.to_numeric(result[name]).astype(float).fillna(0.0)
    return result


def _harmonise(frame: pd.DataFrame, covariates: Sequence[str], levels: Mapping[str, tuple[str, ...]]) -> pd.DataFrame:
    result = _categorical(frame, covariates)
    for name, known in levels.items():
        if known:
            result[name] = result[name].where(result[name].isin(known), known[0])
    return result
