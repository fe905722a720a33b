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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import statsmodels.api as sm

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
class Design:
    """The design matrix of ``formula``, built with numpy as patsy builds it for the formula.

    Columns: ``Intercept``; then each categorical covariate in treatment coding against its first level in
    sorted order, one column ``C(name)[T.level]`` per other level; then the numeric covariates as they are.
    That is patsy's order and naming (terms without numeric factors before those with), so coefficients are
    named and ordered as a formula fit would name them. Built once per model and reused for every prediction.
    """

    formula: str
    categorical: tuple[tuple[str, tuple[str, ...]], ...]
    numeric: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        dummies = [f"C({name})[T.{level}]" for name, levels in self.categorical for level in levels[1:]]
        return ("Intercept", *dummies, *self.numeric)

    def matrix(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The design rows of ``frame`` (covariates already harmonised: no missing values, known levels)."""
        rows = len(frame)
        # Column-major, as a formula fit hands the design to statsmodels (a pandas frame's values), so the
        # floating-point sums in the fit run in the same order.
        result = np.zeros((rows, len(self.names)), dtype=np.float64, order="F")
        result[:, 0] = 1.0
        column = 1
        for name, levels in self.categorical:
            codes = pd.Index(levels).get_indexer(pd.Index(frame[name]))
            if (codes < 0).any():
                unknown = sorted(set(frame[name][codes < 0].astype(str)))
                raise ValueError(f"covariate {name!r} has levels the model does not know: {unknown[:5]}")
            dummy = codes > 0
            result[np.flatnonzero(dummy), column + codes[dummy] - 1] = 1.0
            column += len(levels) - 1
        for name in self.numeric:
            result[:, column] = frame[name].to_numpy(dtype=np.float64)
            column += 1
        return result


@dataclass(frozen=True)
class RiskGroup:
    """One group of increasing prediction ("decile of risk"): cases, observed and expected totals."""

    group: int
    n: int
    observed: float
    expected: float


@dataclass(frozen=True)
class ModelCheck:
    """How well a fitted model describes a set of cases: discrimination and calibration.

    ``c_statistic`` (logistic models only); calibration-in-the-large (``calibration_intercept``) and
    ``calibration_slope`` (logit scale for logistic models, log scale for Poisson ones; 0 and 1 when perfect);
    observed and expected totals and their ratio; the ten groups of increasing prediction with their observed and
    expected totals, and for logistic models the Hosmer-Lemeshow statistic over them (8 degrees of freedom).
    """

    n: int
    observed: float
    expected: float
    c_statistic: float | None
    calibration_intercept: float | None
    calibration_slope: float | None
    hosmer_lemeshow: float | None
    hosmer_lemeshow_p: float | None
    groups: tuple[RiskGroup, ...]
    notes: tuple[str, ...] = ()

    @property
    def oe_ratio(self) -> float | None:
        return self.observed / self.expected if self.expected > 0 else None


def check_model(kind: RiskModelKind, outcomes: npt.ArrayLike, predicted: npt.ArrayLike) -> ModelCheck:
    """Discrimination and calibration of ``predicted`` against ``outcomes`` (:class:`ModelCheck`)."""
    y = np.asarray(outcomes, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        groups = risk.observed_expected_by_risk_group(y, p)
        c_value = hl_statistic = hl_p = None
        if kind is RiskModelKind.LOGISTIC:
            c_stat = risk.c_statistic(y, p)
            c_value = c_stat.value
            calibration = risk.calibration(y, p)
            lemeshow = risk.hosmer_lemeshow(y, p)
            hl_statistic, hl_p = lemeshow.statistic, lemeshow.p_value
            notes.extend(reason for reason in (c_stat.reason, calibration.reason, lemeshow.reason) if reason)
        else:
            calibration = risk.poisson_calibration(y, p)
            notes.extend([calibration.reason] if calibration.reason else [])
    notes.extend(sorted({f"{type(item.message).__name__}: {item.message}" for item in caught}))
    return ModelCheck(
        len(y), float(y.sum()), float(p.sum()), c_value, calibration.intercept, calibration.slope, hl_statistic,
        hl_p,
        tuple(RiskGroup(int(group), int(n), float(observed), float(expected)) for group, n, observed, expected
              in zip(groups["group"], groups["n"], groups["observed"], groups["expected"], strict=True)),
        tuple(dict.fromkeys(notes)),
    )  # fmt: skip


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
    design: Design = field(repr=False)
    in_sample: ModelCheck | None = field(default=None, repr=False)
    _predict: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]] | None = field(
        default=None, repr=False, compare=False
    )

    def predict(self, measured: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Predicted risk (logistic) or expected value (Poisson) for each row of ``measured``."""
        assert self._predict is not None
        matrix = self.design.matrix(_harmonise(measured, self.covariates, self.levels))
        with warnings.catch_warnings():
            # Overflow in exp() for extreme linear predictors yields risks of 0 or 1, which is what is meant.
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(self._predict(matrix), dtype=np.float64)


def formula_for(covariates: Sequence[str], reference: pd.DataFrame) -> str:
    """``outcome ~ ...`` with categorical covariates in ``C()``; a covariate with one level is left out."""
    terms = [f"C({name})" if name in CATEGORICAL else name for name in _model_terms(covariates, reference)]
    return f"{OUTCOME} ~ " + (" + ".join(terms) if terms else "1")


def _model_terms(covariates: Sequence[str], reference: pd.DataFrame) -> list[str]:
    return [name for name in covariates if reference[name].nunique() > 1]


def design_for(covariates: Sequence[str], reference: pd.DataFrame) -> Design:
    """The :class:`Design` of :func:`formula_for` on ``reference``: levels sorted, the first the reference."""
    terms = _model_terms(covariates, reference)
    return Design(
        formula_for(covariates, reference),
        tuple((name, tuple(sorted(reference[name].unique()))) for name in terms if name in CATEGORICAL),
        tuple(name for name in terms if name not in CATEGORICAL),
    )


def fit(kind: RiskModelKind, covariates: Sequence[str], reference: pd.DataFrame) -> FittedModel | str:
    """Fit the model on ``reference`` (columns ``outcome`` and the covariates); a string says why it cannot.

    The design matrix is built once with numpy (:class:`Design`) rather than through a formula, and the fit's
    own predictions give its in-sample discrimination and calibration (:func:`check_model`).
    """
    if len(reference) < 2:
        return "the reference period has fewer than 2 cases"
    frame = _categorical(reference, covariates)
    for name in covariates:
        if name in CATEGORICAL:
            frame[name] = _pool_sparse_levels(frame[name], frame[OUTCOME], logistic=kind is RiskModelKind.LOGISTIC)
    levels = {name: tuple(frame[name].value_counts().index.astype(str)) for name in covariates if name in CATEGORICAL}
    design = design_for(covariates, frame)
    outcome = frame[OUTCOME].to_numpy(dtype=np.float64)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind is RiskModelKind.LOGISTIC:
            events = float(outcome.sum())
            if events == 0 or events == len(frame):
                return "the reference period needs at least one event and one non-event"
            matrix = design.matrix(frame)
            model = risk.fit_logistic_design(outcome, matrix, design.names, formula=design.formula)
            predicted = risk.predict_risk(model, matrix)
            coefficients, n, converged = dict(model.coefficients), model.n, model.converged

            def predict(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
                return risk.predict_risk(model, rows)
        else:
            # As a formula fit would, leave out cases without an observation.
            present = ~np.isnan(outcome)
            matrix = design.matrix(frame[present])
            result = sm.GLM(outcome[present], matrix, family=sm.families.Poisson()).fit(scale="X2")
            predicted = np.asarray(result.fittedvalues, dtype=np.float64)
            outcome, events = outcome[present], float(np.nansum(outcome))
            coefficients = {name: float(value) for name, value in zip(design.names, result.params, strict=True)}
            n, converged = int(result.nobs), bool(result.converged)

            def predict(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
                return np.asarray(result.predict(rows), dtype=np.float64)

    notes.extend(sorted({f"{type(item.message).__name__}: {item.message}" for item in caught}))
    if not converged:
        notes.append("the model did not converge")
    in_sample = check_model(kind, outcome, predicted)
    return FittedModel(
        kind, design.formula, coefficients, n, events, converged, in_sample.c_statistic,
        in_sample.calibration_intercept if kind is RiskModelKind.LOGISTIC else None,
        in_sample.calibration_slope if kind is RiskModelKind.LOGISTIC else None, tuple(notes), tuple(covariates),
        levels, design, in_sample, predict,
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
