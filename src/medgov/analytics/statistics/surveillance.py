"""Aberration detection for count series: EARS C1/C2/C3, CUSUM, Farrington and Farrington flexible (Noufaily).

Each detector returns an :class:`AberrationResult` whose ``table`` has one row per monitored time point:

* ``position``: 0-based position in the input series;
* ``observed``: the count;
* ``upperbound``: the alarm threshold (NaN where the method gives none);
* ``alarm``: whether the point raises an alarm (the method's own rule; see each function).

Every detector evaluates the 0-based positions ``monitor_from <= t < monitor_until`` (``monitor_until``
defaults to the end of the series). A series too short for the requested baseline gives an empty table and a ``reason``; negative counts raise
``ValueError``. The algorithms reproduce R ``surveillance`` (``earsC``, ``cusum``, ``farrington``,
``farringtonFlexible``); the generalised linear models are fitted by the same iteratively reweighted least
squares as R ``glm.fit`` so that thresholds agree to rounding.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

FloatArray = npt.NDArray[np.float64]
EarsMethod = Literal["C1", "C2", "C3"]
ThresholdMethod = Literal["delta", "nbPlugin"]
COLUMNS = ["position", "observed", "upperbound", "alarm"]


@dataclass(frozen=True)
class AberrationResult:
    """Output of a detector: ``table`` (columns ``position, observed, upperbound, alarm``) and ``reason``."""

    method: str
    table: pd.DataFrame
    reason: str | None = None


# --- EARS -----------------------------------------------------------------------------------------------


def ears(
    observed: Sequence[float] | npt.ArrayLike,
    *,
    method: EarsMethod = "C1",
    monitor_from: int | None = None,
    monitor_until: int | None = None,
    baseline: int = 7,
    alpha: float | None = None,
    min_sigma: float = 0.0,
) -> AberrationResult:
    """CDC Early Aberration Reporting System C1, C2 and C3 (Hutwagner et al., J Urban Health 2003;80:i89-96).

    With ``mean_t`` and ``sd_t`` (n - 1 denominator) over the ``baseline`` previous points (C1: lags 1..7; C2
    and C3: lags 3..9, a two-point guard band) and ``z = Phi^-1(1 - alpha)``:

    * C1/C2: ``upperbound_t = mean_t + z * max(sd_t, min_sigma)``; alarm when ``y_t > upperbound_t``.
    * C3: with ``C2_t = (y_t - mean_t) / max(sd_t, min_sigma)``, ``upperbound_t = max(0, y_t + sd_t * (z -
      max(0, C2_{t-1} - 1) - max(0, C2_{t-2} - 1)))``, so the alarm (``y_t > upperbound_t``) fires when the
      excess of the two previous C2 values over 1 adds up to more than ``z``.

    The C3 variant is the one coded in R ``surveillance::earsC`` (1.20-1.26), not the textbook C3 that also
    adds today's C2 excess: we match that package because it is the reference our tests are held to, and its
    variant is what public-health users of R see. Default ``alpha`` is 0.001 for C1/C2 and 0.025 for C3.
    ``monitor_from`` is the first 0-based position to evaluate (default: the first with enough history).
    """
    y = _counts(observed)
    if method not in ("C1", "C2", "C3"):
        raise ValueError(f"method must be 'C1', 'C2' or 'C3', not {method!r}")
    if baseline < 3:
        raise ValueError(f"baseline must be at least 3, not {baseline}")
    if min_sigma < 0:
        raise ValueError(f"min_sigma must not be negative, not {min_sigma}")
    if alpha is None:
        alpha = 0.025 if method == "C3" else 0.001
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, not {alpha}")
    history = {"C1": baseline, "C2": baseline + 2, "C3": baseline + 4}[method]
    start = history if monitor_from is None else monitor_from
    if start < history or start >= len(y):
        return _empty(f"EARS {method}", f"needs {history} earlier points before the first monitored one")
    z = float(stats.norm.ppf(1.0 - alpha))
    positions = np.arange(start, _end(y, monitor_until))
    if len(positions) == 0:
        return _empty(f"EARS {method}", "monitor_until is not after monitor_from")
    guard = 0 if method == "C1" else 2

    def baseline_stats(at: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        window = y[at[:, None] - np.arange(guard + baseline, guard, -1)[None, :]]
        return window.mean(axis=1), window.std(axis=1, ddof=1)

    if method in ("C1", "C2"):
        mean, sd = baseline_stats(positions)
        upper = mean + z * np.maximum(sd, min_sigma)
    else:
        extended = np.arange(start - 2, positions[-1] + 1)
        mean, sd = baseline_stats(extended)
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 = (y[extended] - mean) / np.maximum(sd, min_sigma)
        lag2 = np.maximum(0.0, c2[:-2] - 1.0)
        lag1 = np.maximum(0.0, c2[1:-1] - 1.0)
        with np.errstate(invalid="ignore"):
            upper = np.fmax(0.0, y[positions] + np.maximum(sd[2:], min_sigma) * (z - (lag2 + lag1)))
    return AberrationResult(f"EARS {method}", _table(positions, y, upper, y[positions] > upper))


# --- CUSUM ----------------------------------------------------------------------------------------------


def cusum(
    observed: Sequence[float] | npt.ArrayLike,
    *,
    monitor_from: int,
    monitor_until: int | None = None,
    k: float = 1.04,
    h: float = 2.26,
    expected: float | None = None,
) -> AberrationResult:
    """Poisson CUSUM on standardised counts (Rossi et al., Stat Med 1999;18:3111-21; R ``surveillance::cusum``
    with ``trans = "standard"``).

    ``m`` = ``expected`` or the mean of the counts before ``monitor_from``; ``z_t = (y_t - m) / sqrt(m)``;
    ``S_t = max(0, S_{t-1} + z_t - k)`` from ``S = 0``; alarm when ``S_t >= h``. The threshold is back-transformed
    to a count: ``upperbound_t = ceil(sqrt(m) (h + k - S_{t-1}) + m)``, floored at 0. The sum is not reset
    after an alarm (as in the reference).
    """
    y = _counts(observed)
    if monitor_from < 1 or monitor_from >= len(y):
        return _empty("CUSUM", "needs at least one point before and one from monitor_from")
    m = float(np.mean(y[:monitor_from])) if expected is None else float(expected)
    if m <= 0:
        return _empty("CUSUM", "the expected count is zero, so counts cannot be standardised")
    positions = np.arange(monitor_from, _end(y, monitor_until))
    if len(positions) == 0:
        return _empty("CUSUM", "monitor_until is not after monitor_from")
    standardised = (y[positions] - m) / math.sqrt(m)
    sums = np.zeros(len(positions) + 1)
    for index, value in enumerate(standardised):
        sums[index + 1] = max(0.0, sums[index] + value - k)
    upper = np.maximum(0.0, np.ceil(math.sqrt(m) * (h + k - sums[:-1]) + m))
    table = _table(positions, y, upper, sums[1:] >= h)
    table["cusum"] = sums[1:]
    return AberrationResult("CUSUM", table)


# --- Farrington -----------------------------------------------------------------------------------------


def farrington(
    observed: Sequence[float] | npt.ArrayLike,
    dates: Sequence[dt.date],
    *,
    monitor_from: int,
    monitor_until: int | None = None,
    b: int = 5,
    w: int = 3,
    alpha: float = 0.05,
    reweight: bool = True,
    trend: bool = True,
    limit54: tuple[int, int] = (5, 4),
) -> AberrationResult:
    """Original Farrington algorithm for weekly counts (Farrington et al., JRSS A 1996;159:547-63), as R
    ``surveillance::farrington`` (``algo.farrington``) codes it.

    For week ``t``: reference weeks are the ``2w + 1`` weeks around the same date in each of the ``b`` previous
    years. A quasi-Poisson log-linear model with a linear time trend is fitted; the trend is kept only if
    significant at 5%, ``b >= 3`` and the prediction does not exceed the largest reference count. With
    reweighting, points with standardised Anscombe residual ``s_i > 1`` get weight ``gamma s_i^-2``, the others
    ``gamma``. The threshold is ``(mu0^(2/3) + z sqrt(4/9 mu0^(1/3) (phi + var(mu0)/mu0)))^(3/2)`` with
    ``z = Phi^-1(1 - alpha/2)`` and ``phi = max(dispersion, 1)``. If fewer than ``limit54[0]`` cases occurred in
    the last ``limit54[1]`` weeks, upperbound is 0 and no alarm is raised; otherwise alarm when
    ``(y - mu0) / (U - mu0) > 1``.
    """
    y, week = _weekly(observed, dates)
    if monitor_from >= len(y) or monitor_from < 0:
        return _empty("Farrington", "monitor_from is outside the series")
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    positions = np.arange(monitor_from, _end(y, monitor_until))
    if len(positions) == 0:
        return _empty("Farrington", "monitor_until is not after monitor_from")
    upper = np.zeros(len(positions))
    alarm = np.zeros(len(positions), dtype=bool)
    for row, k in enumerate(positions):
        reference = _reference_indices_by_date(dates, week, int(k), b, w)
        if reference is None:
            return _empty("Farrington", f"position {k} has reference weeks before the start of the series")
        times = reference.astype(float) + 1.0
        response = y[reference]
        fit, _ = _farrington_fit(response, times, None, trend, reweight, 1.0, 0.05, b, float(k + 1), None, False)
        if fit is None:
            upper[row] = np.nan
            continue
        mu0, se_response = fit.predict(float(k + 1), None, dispersion=fit.phi)
        tau = fit.phi + se_response**2 / mu0
        se = math.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau)
        bound = (mu0 ** (2.0 / 3.0) + z * se) ** 1.5
        enough = y[max(0, k - limit54[1] + 1) : k + 1].sum() >= limit54[0]
        upper[row] = bound if enough else 0.0
        alarm[row] = bool(enough and (y[k] - mu0) / (bound - mu0) > 1)
    return AberrationResult("Farrington", _table(positions, y, upper, alarm))


def farrington_flexible(
    observed: Sequence[float] | npt.ArrayLike,
    dates: Sequence[dt.date],
    *,
    monitor_from: int,
    monitor_until: int | None = None,
    b: int = 5,
    w: int = 3,
    no_periods: int = 1,
    weights_threshold: float = 2.58,
    past_weeks_not_included: int | None = None,
    p_threshold_trend: float = 0.05,
    threshold_method: ThresholdMethod = "delta",
    alpha: float = 0.05,
    reweight: bool = True,
    trend: bool = True,
    limit54: tuple[int, int] = (5, 4),
) -> AberrationResult:
    """Improved Farrington (Noufaily et al., Stat Med 2013;32:1206-22), as R ``surveillance::farringtonFlexible``.

    Differences from :func:`farrington`: the weeks between the reference windows enter the model as a factor
    with ``no_periods`` levels (``no_periods = 1``: windows only); the last ``past_weeks_not_included`` weeks
    (default ``w``) are left out; residuals above ``weights_threshold`` (2.58 in Noufaily 2013) are
    down-weighted; a trend is kept when its p-value is below ``p_threshold_trend`` (1 keeps it always, subject
    to the other two criteria); the threshold is either Farrington's 2/3-power ``"delta"`` one with
    ``z = Phi^-1(1 - alpha)`` or ``"nbPlugin"``: the ``1 - alpha`` quantile of a negative binomial with mean
    ``mu0 = exp(eta0)`` and variance ``phi mu0`` (Poisson when ``phi = 1``). Points with fewer than
    ``limit54[0]`` cases in the last ``limit54[1]`` weeks get upperbound NaN and no alarm; otherwise alarm when
    the exceedance score ``(y - f) / (U - f) > 1`` and ``y > 0``, where ``f`` is the prediction on the scale
    the threshold method uses (the link scale for ``nbPlugin``, as in the reference).

    As in the reference, the threshold uses ``phi = max(dispersion, 1)`` of the reweighted fit, while the trend
    p-value and the prediction's standard error use a dispersion computed with the Anscombe weights in place of
    the working weights (the reference stores those weights in the fitted model before summarising it).
    """
    y, week = _weekly(observed, dates)
    if threshold_method not in ("delta", "nbPlugin"):
        raise ValueError(f"threshold_method must be 'delta' or 'nbPlugin', not {threshold_method!r}")
    if no_periods < 1:
        raise ValueError(f"no_periods must be at least 1, not {no_periods}")
    if monitor_from >= len(y) or monitor_from < 0:
        return _empty("Farrington flexible", "monitor_from is outside the series")
    skip = w if past_weeks_not_included is None else past_weeks_not_included
    positions = np.arange(monitor_from, _end(y, monitor_until))
    if len(positions) == 0:
        return _empty("Farrington flexible", "monitor_until is not after monitor_from")
    upper = np.full(len(positions), np.nan)
    alarm = np.zeros(len(positions), dtype=bool)
    for row, k in enumerate(positions):
        blocks = _flexible_blocks(dates, int(k), b, w, no_periods)
        if blocks is None:
            return _empty("Farrington flexible", f"position {k} has reference weeks outside the series")
        blocks[max(0, k - skip) : k + 1] = np.nan
        used = np.flatnonzero(~np.isnan(blocks))
        first = week[used[0]]
        times = (week[used] - first).astype(float)
        now = float(week[k] - first)
        groups = blocks[used].astype(int) if no_periods > 1 else None
        fit, _ = _farrington_fit(
            y[used], times, groups, trend, reweight, weights_threshold, p_threshold_trend, b, now, no_periods, True
        )
        if fit is None:
            continue
        enough = y[max(0, k - limit54[1] + 1) : k + 1].sum() >= limit54[0]
        if threshold_method == "delta":
            mu0, se_response = fit.predict(now, no_periods)
            tau = fit.phi + se_response**2 / mu0
            se = math.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau)
            z = float(stats.norm.ppf(1.0 - alpha))
            with np.errstate(invalid="ignore"):
                bound = float(np.power(mu0 ** (2.0 / 3.0) + z * se, 1.5))
            scale_fit = mu0
        else:
            eta0 = fit.linear_predictor(now, no_periods)
            mean = math.exp(eta0)
            if fit.phi > 1:
                bound = float(stats.nbinom.ppf(1.0 - alpha, mean / (fit.phi - 1.0), 1.0 / fit.phi))
            else:
                bound = float(stats.poisson.ppf(1.0 - alpha, mean))
            scale_fit = eta0
        if enough:
            upper[row] = bound
            score = (y[k] - scale_fit) / (bound - scale_fit)
            alarm[row] = bool(score > 1 and y[k] != 0)
    return AberrationResult("Farrington flexible", _table(positions, y, upper, alarm))


# --- the quasi-Poisson GLM, as R glm.fit computes it ------------------------------------------------------


@dataclass(frozen=True)
class _QuasiPoissonFit:
    coefficients: FloatArray
    fitted: FloatArray
    hat: FloatArray
    cov_unscaled: FloatArray
    dispersion: float
    df_residual: int
    converged: bool
    has_trend: bool
    levels: tuple[int, ...]
    phi: float = 1.0
    summary_dispersion: float | None = None

    def design_row(self, time: float, level: int | None) -> FloatArray:
        row = [1.0]
        if self.has_trend:
            row.append(time)
        row.extend(1.0 if level == value else 0.0 for value in self.levels[1:])
        return np.array(row)

    def linear_predictor(self, time: float, level: int | None) -> float:
        return float(self.design_row(time, level) @ self.coefficients)

    def predict(self, time: float, level: int | None, dispersion: float | None = None) -> tuple[float, float]:
        """Response-scale prediction and its standard error (predict.glm, type = "response", se.fit = TRUE)."""
        x = self.design_row(time, level)
        mu = math.exp(float(x @ self.coefficients))
        scale = self._summary_dispersion() if dispersion is None else dispersion
        return mu, mu * math.sqrt(float(x @ self.cov_unscaled @ x) * scale)

    def _summary_dispersion(self) -> float:
        return self.dispersion if self.summary_dispersion is None else self.summary_dispersion

    def trend_p_value(self) -> float:
        t_value = self.coefficients[1] / math.sqrt(self._summary_dispersion() * self.cov_unscaled[1, 1])
        return float(2.0 * stats.t.sf(abs(t_value), self.df_residual))


def _design(
    times: FloatArray, groups: npt.NDArray[np.int64] | None, with_trend: bool
) -> tuple[FloatArray, tuple[int, ...]]:
    columns = [np.ones(len(times))]
    if with_trend:
        columns.append(times)
    levels: tuple[int, ...] = ()
    if groups is not None:
        levels = tuple(sorted(set(groups.tolist())))
        columns.extend((groups == value).astype(float) for value in levels[1:])
    return np.column_stack(columns), levels


def _glm_quasi_poisson(
    x: FloatArray, y: FloatArray, prior: FloatArray, has_trend: bool, levels: tuple[int, ...]
) -> _QuasiPoissonFit:
    """IRLS exactly as R ``glm.fit`` for family quasipoisson(log): start ``mu = y + 0.1``, stop when
    ``|dev - dev_old| / (|dev| + 0.1) < 1e-8`` (at most 25 iterations); the returned working weights, QR and
    hence hat values and covariance are those of the last weighted least-squares step."""

    def deviance(mu: FloatArray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(y > 0, y * np.log(y / mu), 0.0)
        return float(np.sum(2.0 * prior * (term - (y - mu))))

    mu = y + 0.1
    eta = np.log(mu)
    dev_old = deviance(mu)
    converged = False
    sqrt_w = np.sqrt(prior * mu)
    coefficients = np.zeros(x.shape[1])
    for _ in range(25):
        z = eta + (y - mu) / mu
        sqrt_w = np.sqrt(prior * mu)
        coefficients = np.linalg.lstsq(x * sqrt_w[:, None], z * sqrt_w, rcond=None)[0]
        eta = x @ coefficients
        mu = np.exp(eta)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-8:
            converged = True
            break
        dev_old = dev
    weighted = x * sqrt_w[:, None]
    q, r = np.linalg.qr(weighted)
    hat = np.sum(q * q, axis=1)
    r_inverse = np.linalg.inv(r)
    cov_unscaled = r_inverse @ r_inverse.T
    working_weights = sqrt_w**2
    working_residuals = (y - mu) / mu
    df_residual = int(np.sum(prior > 0)) - x.shape[1]
    positive = working_weights > 0
    dispersion = (
        float(np.sum((working_weights * working_residuals**2)[positive]) / df_residual)
        if df_residual > 0
        else float("nan")
    )
    return _QuasiPoissonFit(coefficients, mu, hat, cov_unscaled, dispersion, df_residual, converged, has_trend, levels)


def _fit_with_reweighting(
    y: FloatArray,
    times: FloatArray,
    groups: npt.NDArray[np.int64] | None,
    with_trend: bool,
    reweight: bool,
    weights_threshold: float,
    summary_uses_prior_weights: bool,
) -> _QuasiPoissonFit | None:
    x, levels = _design(times, groups, with_trend)
    fit = _glm_quasi_poisson(x, y, np.ones(len(y)), with_trend, levels)
    if not fit.converged:
        if with_trend:
            x, levels = _design(times, groups, False)
            with_trend = False
            fit = _glm_quasi_poisson(x, y, np.ones(len(y)), False, levels)
        if not fit.converged:
            return None
    phi = max(fit.dispersion, 1.0)
    if reweight:
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = 1.5 * (y ** (2.0 / 3.0) * fit.fitted ** (-1.0 / 6.0) - np.sqrt(fit.fitted))
            residuals = raw / np.sqrt(phi * (1.0 - fit.hat))
            above = residuals > weights_threshold
            gamma = len(residuals) / np.sum(np.where(above, residuals**-2.0, 1.0))
            omega = np.where(above, gamma * residuals**-2.0, gamma)
        fit = _glm_quasi_poisson(x, y, omega, with_trend, levels)
        phi = max(fit.dispersion, 1.0)
        if summary_uses_prior_weights:
            # farringtonFlexible stores the Anscombe weights in the model's working-weight slot, so its later
            # summary() (trend p-value, prediction standard error) computes the dispersion with them.
            residuals = (y - fit.fitted) / fit.fitted
            summary = float(np.sum((omega * residuals**2)[omega > 0]) / fit.df_residual)
            return _QuasiPoissonFit(**{**fit.__dict__, "phi": phi, "summary_dispersion": summary})
    return _QuasiPoissonFit(**{**fit.__dict__, "phi": phi})


def _farrington_fit(
    y: FloatArray,
    times: FloatArray,
    groups: npt.NDArray[np.int64] | None,
    trend: bool,
    reweight: bool,
    weights_threshold: float,
    p_threshold_trend: float,
    b: int,
    now: float,
    level: int | None,
    flexible: bool,
) -> tuple[_QuasiPoissonFit | None, bool]:
    fit = _fit_with_reweighting(y, times, groups, trend, reweight, weights_threshold, flexible)
    if fit is None:
        return None, False
    if not fit.has_trend:
        return fit, False
    significant = fit.trend_p_value() < p_threshold_trend
    no_extrapolation = fit.predict(now, level)[0] <= float(np.max(y))
    if b >= 3 and significant and no_extrapolation:
        return fit, True
    return _fit_with_reweighting(y, times, groups, False, reweight, weights_threshold, flexible), False


# --- reference weeks -----------------------------------------------------------------------------------


def _years_back(day: dt.date, years: int) -> dt.date:
    """``seq(day, by = "-1 year")`` in R: same month and day, 29 February rolling over to 1 March."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return dt.date(day.year - years, 3, 1)


def _closest_same_weekday(day: dt.date, weekday: int) -> dt.date:
    forward = (weekday - day.weekday()) % 7
    backward = (day.weekday() - weekday) % 7
    return day + dt.timedelta(days=forward if forward < backward else -backward)


def _reference_indices_by_date(
    dates: Sequence[dt.date], week: npt.NDArray[np.int64], k: int, b: int, w: int
) -> npt.NDArray[np.int64] | None:
    """R ``refvalIdxByDate``: the ``2w + 1`` weeks around the same date 1..b years back, moved to the weekday
    of week ``k``."""
    index_of = {day: position for position, day in enumerate(dates)}
    target = dates[k].weekday()
    found = []
    for years in range(1, b + 1):
        centre = _years_back(dates[k], years)
        for offset in range(-w, w + 1):
            day = _closest_same_weekday(centre + dt.timedelta(weeks=offset), target)
            if day in index_of:
                found.append(index_of[day])
    if not found or min(found) < 0:
        return None
    return np.array(found, dtype=np.int64)


def _flexible_blocks(dates: Sequence[dt.date], k: int, b: int, w: int, periods: int) -> FloatArray | None:
    """R ``blocks`` for farringtonFlexible: window weeks get level ``periods``; the weeks between two
    windows are split into ``periods - 1`` consecutive blocks (levels 1..periods-1, longer blocks first)."""
    index_of = {day: position for position, day in enumerate(dates)}
    reference = [k]
    for years in range(1, b + 1):
        centre = _years_back(dates[k], years)
        candidate_a = centre - dt.timedelta(days=centre.weekday() - dates[k].weekday())
        candidate_b = candidate_a + dt.timedelta(days=-7 if candidate_a > centre else 7)
        chosen = candidate_b if abs(candidate_a - centre) > abs(candidate_b - centre) else candidate_a
        if chosen not in index_of:
            return None
        reference.append(index_of[chosen])
    factors = np.full(len(dates), np.nan)
    factors[k - w : k + 1] = periods
    for i in range(b):
        later, week = reference[i], reference[i + 1]
        if week - w < 0:
            return None
        factors[week - w : week + w + 1] = periods
        if periods != 1:
            gap = later - 2 * w - 1 - week
            if gap < periods - (2 * w + 1):
                raise ValueError(f"no_periods ({periods}) is too large for the gap between reference windows")
            size, rest = divmod(gap, periods - 1)
            lengths = [size + (1 if j < rest else 0) for j in range(periods - 1)]
            edges = np.concatenate([[0], np.cumsum(lengths)])
            for j in range(periods - 1):
                factors[week + w + 1 + edges[j] : week + w + 1 + edges[j + 1]] = j + 1
    return factors


# --- helpers --------------------------------------------------------------------------------------------


def _end(y: FloatArray, monitor_until: int | None) -> int:
    if monitor_until is None:
        return len(y)
    if not 0 < monitor_until <= len(y):
        raise ValueError(f"monitor_until must lie between 1 and {len(y)}, not {monitor_until}")
    return monitor_until


def _counts(observed: Sequence[float] | npt.ArrayLike) -> FloatArray:
    y = np.asarray(observed, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError("observed must be a one-dimensional series of counts")
    if np.isnan(y).any() or (y < 0).any():
        raise ValueError("observed must hold non-negative counts")
    return y


def _weekly(
    observed: Sequence[float] | npt.ArrayLike, dates: Sequence[dt.date]
) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    y = _counts(observed)
    if len(dates) != len(y):
        raise ValueError(f"dates has {len(dates)} entries but observed has {len(y)}")
    ordinals = np.array([day.toordinal() for day in dates], dtype=np.int64)
    if len(ordinals) > 1 and not (np.diff(ordinals) == 7).all():
        raise ValueError("dates must be consecutive weeks (7 days apart)")
    return y, (ordinals - ordinals[0]) // 7 if len(ordinals) else ordinals


def _table(positions: npt.NDArray[np.int64], y: FloatArray, upper: FloatArray, alarm: npt.ArrayLike) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "position": positions,
            "observed": y[positions],
            "upperbound": upper,
            "alarm": np.asarray(alarm, dtype=bool),
        }
    )


def _empty(method: str, reason: str) -> AberrationResult:
    table = pd.DataFrame(
        {
            name: pd.Series(dtype=kind)
            for name, kind in zip(COLUMNS, ["int64", "float64", "float64", "bool"], strict=True)
        }
    )
    return AberrationResult(method, table, reason)
