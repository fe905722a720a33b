"""Risk adjustment: logistic risk models, discrimination, calibration and observed/expected by stratum.

A model is fitted on a reference period (:func:`fit_logistic_model`) and applied to a measured period
(:func:`predict_risk`); the measured period's expected count is the sum of predicted risks, compared with the
observed count by :func:`observed_expected_by_stratum`. Degenerate input (no events, no non-events, empty
strata) gives results whose ``reason`` says why; it never raises for that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from medgov.analytics.statistics.intervals import RateMethod, observed_expected_ratio

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RiskModel:
    """A fitted logistic model: ``logit P(y = 1) = x'beta``.

    ``coefficients`` and ``standard_errors`` are keyed by the design-matrix column names of ``formula``
    (statsmodels/patsy naming, e.g. ``C(sex)[T.M]``); ``n`` and ``events`` describe the reference data.
    """

    formula: str
    coefficients: Mapping[str, float]
    standard_errors: Mapping[str, float]
    n: int
    events: int
    converged: bool
    _result: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class CStatistic:
    """Area under the ROC curve; ``value`` is ``None`` with a ``reason`` when it is undefined."""

    value: float | None
    events: int
    non_events: int
    reason: str | None = None


@dataclass(frozen=True)
class HosmerLemeshow:
    """Hosmer-Lemeshow goodness of fit.

    ``table`` has one row per risk group: ``group`` (1 = lowest risk), ``n``, ``min_risk``, ``max_risk``,
    ``observed`` (events), ``expected`` (sum of predicted risks), ``observed_rate``, ``mean_risk``.
    """

    table: pd.DataFrame
    statistic: float | None
    degrees_of_freedom: int
    p_value: float | None
    reason: str | None = None


@dataclass(frozen=True)
class Calibration:
    """Calibration intercept (calibration-in-the-large) and slope; ``None`` with a ``reason`` if undefined."""

    intercept: float | None
    slope: float | None
    reason: str | None = None


def fit_logistic_model(reference: pd.DataFrame, formula: str) -> RiskModel:
    """Fit ``formula`` (e.g. ``"died ~ age + C(sex) + charlson"``) by maximum likelihood, binomial with logit link.

    Iteratively reweighted least squares as in statsmodels ``GLM(family=Binomial())`` (McCullagh & Nelder 1989,
    section 4.4). The outcome must be 0/1. Fit on the reference period, then apply with :func:`predict_risk`.
    """
    outcome = formula.split("~", 1)[0].strip()
    if outcome not in reference.columns:
        raise ValueError(f"reference has no outcome column {outcome!r} named in formula")
    values = reference[outcome]
    if values.isna().any() or not values.isin([0, 1]).all():
        raise ValueError(f"outcome column {outcome!r} must hold only 0 and 1")
    result = smf.glm(formula, data=reference, family=sm.families.Binomial()).fit()
    return _risk_model(formula, result, result.params.index, int(values.sum()))


def fit_logistic_design(
    outcomes: npt.ArrayLike, design: npt.ArrayLike, names: Sequence[str], *, formula: str
) -> RiskModel:
    """Fit a logistic model on a ready design matrix (one row per case, one column per name in ``names``).

    The same estimator as :func:`fit_logistic_model` (binomial GLM, logit link, IRLS) without a formula: the
    caller builds the design once and reuses it, e.g. for the reference fit and for predicting the measured
    period. ``formula`` only describes the model. Apply it with :func:`predict_risk` on a design matrix with the
    same columns.
    """
    y = np.asarray(outcomes, dtype=np.float64)
    x = np.asarray(design, dtype=np.float64)
    if x.ndim != 2 or x.shape != (len(y), len(names)):
        raise ValueError(f"design must have one row per outcome and {len(names)} columns, not shape {x.shape}")
    if np.isnan(y).any() or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("outcomes must hold only 0 and 1")
    result = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    return _risk_model(formula, result, names, int(y.sum()))


def _risk_model(formula: str, result: Any, names: Sequence[str], events: int) -> RiskModel:
    params, errors = np.asarray(result.params, dtype=np.float64), np.asarray(result.bse, dtype=np.float64)
    return RiskModel(
        formula=formula,
        coefficients={str(name): float(value) for name, value in zip(names, params, strict=True)},
        standard_errors={str(name): float(value) for name, value in zip(names, errors, strict=True)},
        n=int(result.nobs),
        events=events,
        converged=bool(result.converged),
        _result=result,
    )


def predict_risk(model: RiskModel, measured: pd.DataFrame | FloatArray) -> FloatArray:
    """Predicted probability ``1 / (1 + exp(-x'beta))`` for each row of the measured period: a frame with the
    formula's columns for a model from :func:`fit_logistic_model`, a design matrix for one from
    :func:`fit_logistic_design`."""
    return np.asarray(model._result.predict(measured), dtype=np.float64)


def c_statistic(outcomes: Sequence[int] | npt.ArrayLike, predicted: Sequence[float] | npt.ArrayLike) -> CStatistic:
    """Concordance (c) statistic = area under the ROC curve.

    ``C = (sum of ranks of events - n1 (n1 + 1) / 2) / (n1 n0)`` with mid-ranks for ties, i.e. the probability
    that a random event has a higher predicted risk than a random non-event, ties counting one half
    (Hanley & McNeil, Radiology 1982;143:29-36; Mann-Whitney U).
    """
    y, p = _outcomes_and_risks(outcomes, predicted)
    events = int(y.sum())
    non_events = int(len(y) - events)
    if events == 0 or non_events == 0:
        return CStatistic(None, events, non_events, "needs at least one event and one non-event")
    ranks = stats.rankdata(p)
    value = (ranks[y == 1].sum() - events * (events + 1) / 2.0) / (events * non_events)
    return CStatistic(float(value), events, non_events)


def hosmer_lemeshow(
    outcomes: Sequence[int] | npt.ArrayLike, predicted: Sequence[float] | npt.ArrayLike, *, groups: int = 10
) -> HosmerLemeshow:
    """Hosmer-Lemeshow statistic over ``groups`` groups of increasing predicted risk ("deciles of risk").

    Rows are sorted by predicted risk and split into ``groups`` groups of as equal size as possible;
    ``H = sum_g (O_g - E_g)^2 / (E_g (1 - E_g / n_g))``, referred to chi-squared with ``groups - 2`` degrees
    of freedom (Hosmer & Lemeshow, Applied Logistic Regression, 2nd ed. 2000, section 5.2.2).
    """
    if groups < 3:
        raise ValueError(f"groups must be at least 3, not {groups}")
    y, p = _outcomes_and_risks(outcomes, predicted)
    columns = ["group", "n", "min_risk", "max_risk", "observed", "expected", "observed_rate", "mean_risk"]
    if len(y) < groups:
        return HosmerLemeshow(pd.DataFrame(columns=columns), None, groups - 2, None, "fewer rows than groups")
    order = np.argsort(p, kind="stable")
    records = []
    for number, index in enumerate(np.array_split(order, groups), start=1):
        n = len(index)
        records.append(
            (
                number,
                n,
                p[index].min(),
                p[index].max(),
                y[index].sum(),
                p[index].sum(),
                y[index].mean(),
                p[index].mean(),
            )
        )
    table = pd.DataFrame.from_records(records, columns=columns)
    expected = table["expected"].to_numpy(dtype=float)
    variance = expected * (1.0 - expected / table["n"].to_numpy(dtype=float))
    if (variance <= 0).any():
        return HosmerLemeshow(table, None, groups - 2, None, "a group has an expected count of 0 or of n")
    statistic = float((((table["observed"] - expected) ** 2) / variance).sum())
    return HosmerLemeshow(table, statistic, groups - 2, float(stats.chi2.sf(statistic, groups - 2)))


def calibration(outcomes: Sequence[int] | npt.ArrayLike, predicted: Sequence[float] | npt.ArrayLike) -> Calibration:
    """Calibration intercept and slope of predicted risks against observed outcomes.

    Slope: ``b`` in ``logit P(y) = a + b logit(p)``; intercept (calibration-in-the-large): ``a`` in
    ``logit P(y) = a + offset(logit(p))`` (Cox 1958; Steyerberg, Clinical Prediction Models, 2009, ch. 15).
    A perfectly calibrated model has intercept 0 and slope 1.
    """
    y, p = _outcomes_and_risks(outcomes, predicted)
    if y.sum() == 0 or y.sum() == len(y):
        return Calibration(None, None, "needs at least one event and one non-event")
    if ((p <= 0) | (p >= 1)).any():
        return Calibration(None, None, "predicted risks must lie strictly between 0 and 1")
    linear = np.log(p / (1.0 - p))
    binomial = sm.families.Binomial()
    slope_fit = sm.GLM(y, sm.add_constant(linear, has_constant="add"), family=binomial).fit()
    intercept_fit = sm.GLM(y, np.ones((len(y), 1)), family=binomial, offset=linear).fit()
    return Calibration(float(intercept_fit.params[0]), float(slope_fit.params[1]))


def poisson_calibration(observed: npt.ArrayLike, predicted: npt.ArrayLike) -> Calibration:
    """Calibration intercept and slope of predicted means (a log-linear model, e.g. length of stay) against
    observed values, the log-link analogue of :func:`calibration`.

    Slope: ``b`` in ``log E(y) = a + b log(mu)``; intercept (calibration-in-the-large): ``a`` in
    ``log E(y) = a + offset(log(mu))``, which is ``log(sum y / sum mu)``, the log of the overall observed/expected
    ratio. Both by Poisson quasi-likelihood, so ``y`` may be any non-negative value (Steyerberg, Clinical
    Prediction Models, 2nd ed. 2019, section 15.3). A perfectly calibrated model has intercept 0 and slope 1.
    """
    y = np.asarray(observed, dtype=np.float64)
    mu = np.asarray(predicted, dtype=np.float64)
    if y.shape != mu.shape or y.ndim != 1:
        raise ValueError("observed and predicted must be one-dimensional and of the same length")
    if np.isnan(y).any() or (y < 0).any():
        raise ValueError("observed must hold non-negative numbers")
    if np.isnan(mu).any() or (mu <= 0).any():
        return Calibration(None, None, "predicted means must be positive")
    if len(y) < 2 or y.sum() == 0:
        return Calibration(None, None, "needs at least two cases and a positive observed total")
    linear = np.log(mu)
    intercept = float(np.log(y.sum() / mu.sum()))
    if np.ptp(linear) == 0:
        return Calibration(intercept, None, "every predicted mean is the same")
    slope_fit = sm.GLM(y, sm.add_constant(linear, has_constant="add"), family=sm.families.Poisson()).fit()
    return Calibration(intercept, float(slope_fit.params[1]))


def observed_expected_by_risk_group(
    observed: npt.ArrayLike, predicted: npt.ArrayLike, *, groups: int = 10
) -> pd.DataFrame:
    """Observed and expected totals over ``groups`` groups of increasing prediction ("deciles of risk").

    Rows are sorted by prediction and split into groups of as equal size as possible, as in
    :func:`hosmer_lemeshow`, for any outcome (events or a continuous observation such as days). Columns:
    ``group`` (1 = lowest prediction), ``n``, ``observed``, ``expected``, ``oe_ratio`` (NaN when expected is 0).
    """
    if groups < 1:
        raise ValueError(f"groups must be at least 1, not {groups}")
    y = np.asarray(observed, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError("observed and predicted must be one-dimensional and of the same length")
    if np.isnan(y).any() or np.isnan(p).any():
        raise ValueError("observed and predicted must not hold missing values")
    order = np.argsort(p, kind="stable")
    records = []
    for number, index in enumerate(np.array_split(order, min(groups, len(y)) or 1), start=1):
        observed_total, expected_total = float(y[index].sum()), float(p[index].sum())
        ratio = observed_total / expected_total if expected_total > 0 else float("nan")
        records.append((number, len(index), observed_total, expected_total, ratio))
    return pd.DataFrame.from_records(records, columns=["group", "n", "observed", "expected", "oe_ratio"])


def observed_expected_by_stratum(
    frame: pd.DataFrame,
    *,
    stratum_column: str,
    outcome_column: str,
    risk_column: str,
    confidence: float = 0.95,
    method: RateMethod = "auto",
) -> pd.DataFrame:
    """Observed and expected events per stratum with the O/E ratio and its Poisson interval.

    ``O = sum y``, ``E = sum p`` (predicted risks) per stratum; interval from
    :func:`~medgov.analytics.statistics.intervals.observed_expected_ratio` (exact below 10 events, Byar's
    otherwise). Columns: ``stratum_column``, ``n``, ``observed``, ``expected``, ``oe_ratio``, ``lower``,
    ``upper``, ``method``, ``reason``.
    """
    for column in (stratum_column, outcome_column, risk_column):
        if column not in frame.columns:
            raise ValueError(f"frame has no column {column!r}")
    if (frame[outcome_column] < 0).any():
        raise ValueError(f"{outcome_column} must not be negative")
    if ((frame[risk_column] < 0) | (frame[risk_column] > 1)).any():
        raise ValueError(f"{risk_column} must lie between 0 and 1")
    grouped = frame.groupby(stratum_column, sort=True).agg(
        n=(outcome_column, "size"), observed=(outcome_column, "sum"), expected=(risk_column, "sum")
    )
    records = []
    for stratum, row in grouped.iterrows():
        interval = observed_expected_ratio(
            float(row["observed"]), float(row["expected"]), confidence=confidence, method=method
        )
        records.append(
            (stratum, int(row["n"]), float(row["observed"]), float(row["expected"]), interval.estimate,
             interval.lower, interval.upper, interval.method, interval.reason)
        )  # fmt: skip
    return pd.DataFrame.from_records(
        records,
        columns=[stratum_column, "n", "observed", "expected", "oe_ratio", "lower", "upper", "method", "reason"],
    )


def expected_from_reference_rates(
    populations: Sequence[float], reference_counts: Sequence[float], reference_populations: Sequence[float]
) -> float:
    """Expected events under indirect standardisation: ``E = sum_i n_i * (d_i / N_i)`` over strata ``i``.

    ``n_i`` is the local population (or person-time) of stratum ``i`` and ``d_i / N_i`` the reference rate of that
    stratum (Breslow & Day 1987, vol. II, section 2.3). A reference stratum with no population contributes
    nothing.
    """
    n = np.asarray(populations, dtype=float)
    d = np.asarray(reference_counts, dtype=float)
    big_n = np.asarray(reference_populations, dtype=float)
    if not n.shape == d.shape == big_n.shape:
        raise ValueError("populations, reference_counts and reference_populations must have the same length")
    for name, array in (("populations", n), ("reference_counts", d), ("reference_populations", big_n)):
        if np.isnan(array).any() or (array < 0).any():
            raise ValueError(f"{name} must be non-negative numbers")
    rates = np.divide(d, big_n, out=np.zeros_like(d), where=big_n > 0)
    return float(np.sum(n * rates))


def _outcomes_and_risks(outcomes: npt.ArrayLike, predicted: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(outcomes, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError("outcomes and predicted must be one-dimensional and of the same length")
    if np.isnan(y).any() or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("outcomes must hold only 0 and 1")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("predicted must hold risks between 0 and 1")
    return y, p
