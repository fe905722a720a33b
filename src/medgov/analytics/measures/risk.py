"""Risk models for the measure engine: fit on a reference period, apply to the measured period.

Binary outcomes use the project's logistic models (:mod:`medgov.analytics.statistics.risk`: statsmodels GLM,
binomial family, c statistic, calibration intercept and slope). Continuous outcomes (length of stay) use a
log-linear Poisson GLM on the same covariates (quasi-likelihood: the point estimates are those of any
log-link model whose variance is proportional to the mean; McCullagh & Nelder 1989, section 8.4), so the
expected total of a stratum is the sum of its predicted values.

Categorical covariates met in the measured period but not in the reference period are mapped to the
reference period's most frequent level, so a new ward or payer does not break prediction. Levels too sparse to
estimate (fewer than :data:`MINIMUM_LEVEL_EVENTS` events or non-events in a logistic model, fewer than
:data:`MINIMUM_LEVEL_CASES` cases) are pooled into one level ``other`` before fitting, so a rare diagnosis group
with no deaths does not produce an infinite coefficient (complete separation).

Hospital is a covariate the engine can supply but the library's models do not use: the synthetic and real
question is whether a hospital, and a unit or attending within it, does worse than its case mix predicts;
with hospital in the model every hospital's O/E is 1 by construction on the reference period, and units and
attendings are compared only within their hospital. That is right for a within-hospital league table (OPPE of
one medical staff) and wrong for a system-wide one, so a measure that wants it must declare it.
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

CATEGORICAL: frozenset[str] = frozenset({"sex", "admission_type", "principal_group", "hospital"})
OUTCOME = "outcome"
POOLED = "other"
MINIMUM_LEVEL_EVENTS = 5
MINIMUM_LEVEL_CASES = 30

# Principal-diagnosis groups after AHRQ's Clinical Classifications Software Refined (CCSR) body-system and
# condition categories, reduced to the conditions that drive inpatient mortality, readmission and length of
# stay (the CMS condition-specific cohorts and the large CCSR categories); everything else falls back to its
# ICD-10-CM chapter. First match wins, so specific prefixes come before their chapter.
PRINCIPAL_DIAGNOSIS_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sepsis", ("A40", "A41", "R65.2")),
    ("acute-myocardial-infarction", ("I21", "I22")),
    ("heart-failure", ("I50", "I11.0", "I13.0", "I13.2")),
    ("dysrhythmia", ("I47", "I48", "I49")),
    ("stroke", ("I60", "I61", "I62", "I63")),
    ("pneumonia", ("J12", "J13", "J14", "J15", "J16", "J17", "J18")),
    ("copd", ("J44", "J43")),
    ("hip-fracture", ("S72.0", "S72.1", "S72.2")),
    ("osteoarthritis", ("M15", "M16", "M17", "M18", "M19")),
    ("gastrointestinal-haemorrhage", ("K92.0", "K92.1", "K92.2", "K25", "K26", "K27", "K28")),
    ("urinary-tract-infection", ("N39.0", "N10", "N30")),
    ("acute-kidney-injury", ("N17",)),
    ("skin-infection", ("L03", "L02")),
    ("biliary-and-appendix", ("K80", "K81", "K82", "K83", "K35", "K36", "K37")),
    ("diverticular-disease", ("K57",)),
    ("colorectal-cancer", ("C18", "C19", "C20")),
    ("diabetes-with-complication", ("E10.1", "E11.0", "E11.1", "E13.1")),
    ("mental-disorder", ("F",)),
)
ICD10_CHAPTERS: tuple[tuple[str, str, str], ...] = (
    ("A00", "B99", "infectious"), ("C00", "D49", "neoplasm"), ("D50", "D89", "blood"), ("E00", "E89", "endocrine"),
    ("G00", "G99", "nervous"), ("H00", "H95", "eye-and-ear"), ("I00", "I99", "circulatory"),
    ("J00", "J99", "respiratory"), ("K00", "K95", "digestive"), ("L00", "L99", "skin"),
    ("M00", "M99", "musculoskeletal"), ("N00", "N99", "genitourinary"), ("O00", "O9A", "pregnancy"),
    ("P00", "P96", "perinatal"), ("Q00", "Q99", "congenital"), ("R00", "R99", "symptoms"),
    ("S00", "T88", "injury"), ("Z00", "Z99", "health-services"),
)  # fmt: skip


def principal_diagnosis_group(code: str | None) -> str:
    """The principal-diagnosis group of an ICD-10-CM code (:data:`PRINCIPAL_DIAGNOSIS_GROUPS`, else the
    code's chapter, else ``unknown``)."""
    if not code:
        return "unknown"
    normalised = code.strip().upper()
    for group, prefixes in PRINCIPAL_DIAGNOSIS_GROUPS:
        if normalised.startswith(prefixes):
            return group
    category = normalised[:3]
    for first, last, chapter in ICD10_CHAPTERS:
        if first <= category <= last:
            return chapter
    return "unknown"


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
    for name in covariates:
        if name in CATEGORICAL:
            frame[name] = _pool_sparse_levels(frame[name], frame[OUTCOME], logistic=kind is RiskModelKind.LOGISTIC)
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


def _pool_sparse_levels(values: pd.Series, outcome: pd.Series, *, logistic: bool) -> pd.Series:
    """``values`` with the levels too sparse to estimate replaced by :data:`POOLED` (see the module docstring)."""
    counts = values.value_counts()
    sparse = counts.index[counts < MINIMUM_LEVEL_CASES]
    if logistic:
        events = outcome.groupby(values).sum()
        non_events = counts - events.reindex(counts.index, fill_value=0)
        sparse = sparse.union(events.index[events < MINIMUM_LEVEL_EVENTS]).union(
            non_events.index[non_events < MINIMUM_LEVEL_EVENTS]
        )
    if len(sparse) == 0:
        return values
    return values.where(~values.isin(sparse), POOLED)


def _harmonise(frame: pd.DataFrame, covariates: Sequence[str], levels: Mapping[str, tuple[str, ...]]) -> pd.DataFrame:
    result = _categorical(frame, covariates)
    for name, known in levels.items():
        if known:
            fallback = POOLED if POOLED in known else known[0]
            result[name] = result[name].where(result[name].isin(known), fallback)
    return result
