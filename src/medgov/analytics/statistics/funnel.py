"""Funnel plots for comparing units (hospitals, practitioners) on one indicator, with overdispersion.

Two families:

* :func:`funnel_plot` follows Spiegelhalter, "Funnel plots for comparing institutional performance", Stat. Med.
  2005;24:1185-1202, and "Handling over-dispersion of performance indicators", Qual. Saf. Health Care
  2005;14:347-351, as FunnelPlotR 0.6.0 implements them. Units are placed by their denominator (expected
  events for indirectly standardised O/E ratios, cases for proportions, exposure for ratios of counts).
  Control limits at 95 % and 99.8 % are exact Poisson limits for O/E ratios and normal approximations on a
  variance-stabilising scale otherwise (log for O/E and ratios of counts, square root for the CQC O/E method,
  arcsine-square-root for proportions). Overdispersion: z-scores on that scale are winsorised (or truncated,
  SHMI) at ``trim_by`` in each tail, ``phi = sum(z^2) / n``, and when ``n phi > n - 1`` the between-unit
  variance is the DerSimonian-Laird moment estimate
  ``tau2 = (n phi - (n - 1)) / (sum(w) - sum(w^2) / sum(w))``, ``w = 1 / s^2`` (additive random effects);
  limits become ``target +/- z sqrt(s^2 + tau2)`` on the transformed scale. The multiplicative alternative
  inflates ``s`` by ``sqrt(phi)`` instead.
* The ``phe_*`` functions reproduce the UKHSA/OHID Fingertips methods (PHEindicatormethods 2.1.0; PHE
  *Technical Guide: Confidence Intervals*, and *Funnel plots* guidance): proportion limits where the Wilson
  score interval of an observed proportion touches the baseline, and ratio limits from exact Poisson
  bisection, with the significance bands "High/Low (0.025)" and "(0.001)".

The normal quantiles are FunnelPlotR's published constants 1.959964 and 3.090232 so that its limits reproduce
exactly. Degenerate input is explained in ``reason``; invalid input raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "FunnelDataType",
    "FunnelLimits",
    "FunnelPlot",
    "Overdispersion",
    "PheFunnelTable",
    "StandardisedRatioMethod",
    "exact_poisson_ratio_limits",
    "funnel_limits",
    "funnel_plot",
    "outside_limits",
    "phe_proportion_funnel",
    "phe_proportion_significance",
    "phe_ratio_funnel",
    "phe_ratio_significance",
]

FloatArray = NDArray[np.float64]

Z_95 = 1.959964
Z_998 = 3.090232


class FunnelDataType(StrEnum):
    STANDARDISED_RATIO = "SR"
    PROPORTION = "PR"
    RATIO_OF_COUNTS = "RC"


class StandardisedRatioMethod(StrEnum):
    SHMI = "SHMI"
    CQC = "CQC"


class Overdispersion(StrEnum):
    ADDITIVE = "additive"
    MULTIPLICATIVE = "multiplicative"
    NONE = "none"


@dataclass(frozen=True)
class FunnelLimits:
    """95 % and 99.8 % limits at each denominator, on the ratio scale times the multiplier."""

    denominators: tuple[float, ...]
    lower_95: tuple[float, ...]
    upper_95: tuple[float, ...]
    lower_998: tuple[float, ...]
    upper_998: tuple[float, ...]


@dataclass(frozen=True)
class FunnelPlot:
    """One funnel plot: per-unit values (ordered by group), limits, overdispersion estimates and outliers.

    ``limits`` are the unadjusted limits (exact Poisson for O/E ratios, the transformation approximation for
    proportions and ratios of counts); ``adjusted_limits`` add the between-unit variance (equal to the
    approximation without it when ``tau2`` is 0). ``trimmed`` marks units winsorised (their
    ``winsorised_z_scores`` clamped) or, for SHMI, truncated (``nan``). ``outlier`` compares
    ``ratio x multiplier`` with the chosen limits (adjusted when ``adjusted``), strictly outside.
    """

    data_type: FunnelDataType
    sr_method: StandardisedRatioMethod
    overdispersion: Overdispersion
    groups: tuple[str, ...]
    numerators: tuple[float, ...]
    denominators: tuple[float, ...]
    ratios: tuple[float, ...]
    target: float
    target_transformed: float
    transformed: tuple[float, ...]
    standard_errors: tuple[float, ...]
    z_scores: tuple[float, ...]
    trimmed: tuple[bool, ...]
    winsorised_z_scores: tuple[float, ...]
    phi: float
    tau2: float
    adjusted: bool
    limit: float
    limits: FunnelLimits
    adjusted_limits: FunnelLimits
    outlier: tuple[bool, ...]
    multiplier: float
    reason: str | None


def _array(name: str, data: Sequence[float] | FloatArray) -> FloatArray:
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a sequence of numbers") from error
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if (~np.isfinite(array)).any():
        raise ValueError(f"{name} must hold finite numbers only (no missing values)")
    return array


def exact_poisson_ratio_limits(
    expected: Sequence[float] | FloatArray, coverage: float
) -> tuple[FloatArray, FloatArray]:
    """Exact Poisson limits of an O/E ratio with ``expected`` events, centred on 1.

    ``lower = chi2_(a/2)(2E) / 2E`` and ``upper = chi2_(1-a/2)(2(E+1)) / 2E`` (Spiegelhalter 2005, eq. for
    Poisson funnels; the Garwood interval evaluated at O = E, as FunnelPlotR draws it), ``a = 1 - coverage``.
    """
    e = _array("expected", expected)
    if (e <= 0).any():
        raise ValueError("expected must be greater than zero")
    if not 0 < coverage < 1:
        raise ValueError("coverage must be between 0 and 1")
    alpha = (1 - coverage) / 2
    lower = stats.chi2.ppf(alpha, 2 * e) / (2 * e)
    upper = stats.chi2.ppf(1 - alpha, 2 * (e + 1)) / (2 * e)
    return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)


def _approximate_limits(
    denominators: FloatArray,
    data_type: FunnelDataType,
    sr_method: StandardisedRatioMethod,
    target: float,
    tau2: float,
    phi: float,
    overdispersion: Overdispersion,
    z: float,
) -> tuple[FloatArray, FloatArray]:
    if data_type is FunnelDataType.STANDARDISED_RATIO and sr_method is StandardisedRatioMethod.SHMI:
        variance = 1 / denominators
    else:
        variance = 1 / (4 * denominators)
    if overdispersion is Overdispersion.MULTIPLICATIVE:
        spread = z * np.sqrt(variance * max(phi, 1.0))
    else:
        spread = z * np.sqrt(variance + tau2)
    if data_type is FunnelDataType.STANDARDISED_RATIO:
        if sr_method is StandardisedRatioMethod.SHMI:
            return target * np.exp(-spread), target * np.exp(spread)
        # FunnelPlotR 0.6.0 draws the CQC limits as 1 +/- z sqrt(s^2 + tau2) on the ratio scale, without
        # squaring back from the square-root scale; kept so that its published limits reproduce.
        return target * (1 - spread), target * (1 + spread)
    if data_type is FunnelDataType.RATIO_OF_COUNTS:
        return np.exp(math.log(target) - spread), np.exp(math.log(target) + spread)
    centre = math.asin(math.sqrt(target))
    lower_angle = np.clip(centre - spread, 0.0, math.pi / 2)
    upper_angle = np.clip(centre + spread, 0.0, math.pi / 2)
    return np.sin(lower_angle) ** 2, np.sin(upper_angle) ** 2


def funnel_limits(
    denominators: Sequence[float] | FloatArray,
    *,
    data_type: FunnelDataType | str = FunnelDataType.STANDARDISED_RATIO,
    sr_method: StandardisedRatioMethod | str = StandardisedRatioMethod.SHMI,
    target: float = 1.0,
    tau2: float = 0.0,
    phi: float = 1.0,
    overdispersion: Overdispersion | str = Overdispersion.ADDITIVE,
    exact: bool | None = None,
    multiplier: float = 1.0,
) -> FunnelLimits:
    """Funnel limits at the given denominators (for drawing the funnel or placing units).

    ``exact`` (default: for O/E ratios without overdispersion) gives exact Poisson limits
    (:func:`exact_poisson_ratio_limits`) times ``target``; otherwise the transformation approximation with
    ``tau2`` (additive) or ``phi`` (multiplicative), as in the module docstring.
    """
    kind = FunnelDataType(data_type)
    method = StandardisedRatioMethod(sr_method)
    spread_model = Overdispersion(overdispersion)
    n = _array("denominators", denominators)
    if (n <= 0).any():
        raise ValueError("denominators must be greater than zero")
    if target <= 0 or (kind is FunnelDataType.PROPORTION and target >= 1):
        raise ValueError("target must be positive (and below 1 for proportions)")
    if tau2 < 0 or phi < 0:
        raise ValueError("tau2 and phi must not be negative")
    use_exact = exact if exact is not None else (kind is FunnelDataType.STANDARDISED_RATIO and tau2 == 0 and phi <= 1)
    bounds: list[FloatArray] = []
    for coverage, z in ((0.95, Z_95), (0.998, Z_998)):
        if use_exact:
            lower, upper = exact_poisson_ratio_limits(n, coverage)
            lower, upper = lower * target, upper * target
        else:
            lower, upper = _approximate_limits(n, kind, method, target, tau2, phi, spread_model, z)
        bounds.extend((lower * multiplier, upper * multiplier))
    return FunnelLimits(
        denominators=tuple(float(v) for v in n),
        lower_95=tuple(float(v) for v in bounds[0]),
        upper_95=tuple(float(v) for v in bounds[1]),
        lower_998=tuple(float(v) for v in bounds[2]),
        upper_998=tuple(float(v) for v in bounds[3]),
    )


def _aggregate(
    numerators: FloatArray, denominators: FloatArray, groups: Sequence[str] | None
) -> tuple[list[str], FloatArray, FloatArray]:
    if groups is None:
        labels = [str(i + 1) for i in range(numerators.size)]
        return labels, numerators, denominators
    if len(groups) != numerators.size:
        raise ValueError(f"groups must have one entry per numerator ({numerators.size}); got {len(groups)}")
    totals: dict[str, list[float]] = {}
    for group, numerator, denominator in zip(groups, numerators, denominators, strict=True):
        total = totals.setdefault(str(group), [0.0, 0.0])
        total[0] += float(numerator)
        total[1] += float(denominator)
    ordered = sorted(totals)
    return (
        ordered,
        np.array([totals[g][0] for g in ordered], dtype=float),
        np.array([totals[g][1] for g in ordered], dtype=float),
    )


def _z_scores(
    numerators: FloatArray,
    denominators: FloatArray,
    kind: FunnelDataType,
    method: StandardisedRatioMethod,
    target: float,
) -> tuple[float, FloatArray, FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerators / denominators
        if kind is FunnelDataType.STANDARDISED_RATIO and method is StandardisedRatioMethod.SHMI:
            centre = 0.0
            transformed = np.log(ratio)
            s = 1 / np.sqrt(denominators)
            return centre, transformed, s, np.sqrt(denominators) * np.log(ratio)
        if kind is FunnelDataType.STANDARDISED_RATIO:
            centre = 1.0
            transformed = np.sqrt(ratio)
            s = 1 / (2 * np.sqrt(denominators))
        elif kind is FunnelDataType.PROPORTION:
            centre = math.asin(math.sqrt(target))
            transformed = np.arcsin(np.sqrt(ratio))
            s = 1 / (2 * np.sqrt(denominators))
        else:
            centre = math.log(target)
            transformed = np.log((numerators + 0.5) / (denominators + 0.5))
            s = np.sqrt(numerators / (numerators + 0.5) ** 2 + denominators / (denominators + 0.5) ** 2)
        return centre, transformed, s, (transformed - centre) / s


def outside_limits(
    values: Sequence[float] | FloatArray, lower: Sequence[float] | FloatArray, upper: Sequence[float] | FloatArray
) -> tuple[bool, ...]:
    """True where a value lies strictly outside its limits; a missing value or limit is never an outlier."""
    with np.errstate(invalid="ignore"):
        point = np.asarray(values, dtype=float)
        outside = (point < np.asarray(lower, dtype=float)) | (point > np.asarray(upper, dtype=float))
    return tuple(bool(v) for v in outside)


def funnel_plot(
    numerators: Sequence[float] | FloatArray,
    denominators: Sequence[float] | FloatArray,
    groups: Sequence[str] | None = None,
    *,
    data_type: FunnelDataType | str = FunnelDataType.STANDARDISED_RATIO,
    sr_method: StandardisedRatioMethod | str = StandardisedRatioMethod.SHMI,
    trim_by: float = 0.1,
    overdispersion: Overdispersion | str = Overdispersion.ADDITIVE,
    limit: float = 99.8,
    multiplier: float = 1.0,
    shmi_rounding: bool = True,
) -> FunnelPlot:
    """Funnel plot of ``numerators / denominators`` per group, with overdispersion and outlier flags.

    For O/E ratios (``data_type="SR"``) numerators are observed and denominators expected events; for
    proportions (``"PR"``) events and cases; for ratios of counts (``"RC"``) events and exposure. Rows sharing
    a group are summed first. ``sr_method`` chooses the SHMI method (log scale, truncation of the ``trim_by``
    tails, expected events rounded to 2 dp when ``shmi_rounding``) or the CQC method (square-root scale,
    winsorisation). ``overdispersion="none"`` plots the unadjusted limits; with an estimate of ``phi <= 1``
    the adjusted limits fall back to the unadjusted ones, as FunnelPlotR does. ``limit`` (95 or 99.8) picks the
    limits used to flag outliers. Formulas and sources: see the module docstring.
    """
    kind = FunnelDataType(data_type)
    method = StandardisedRatioMethod(sr_method)
    spread_model = Overdispersion(overdispersion)
    if limit not in (95, 99.8):
        raise ValueError("limit must be 95 or 99.8")
    if not 0 <= trim_by < 0.5:
        raise ValueError("trim_by must be at least 0 and below 0.5")
    if multiplier <= 0 or not math.isfinite(multiplier):
        raise ValueError("multiplier must be a positive number")
    observed = _array("numerators", numerators)
    exposure = _array("denominators", denominators)
    if observed.size != exposure.size:
        raise ValueError(f"denominators must have one entry per numerator ({observed.size}); got {exposure.size}")
    if (observed < 0).any():
        raise ValueError("numerators must not be negative")
    if (exposure < 0).any():
        raise ValueError("denominators must not be negative")
    labels, observed, exposure = _aggregate(observed, exposure, groups)
    if kind is FunnelDataType.PROPORTION and (observed > exposure).any():
        raise ValueError("numerators must not exceed denominators for proportions (numerator > denominator)")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(exposure > 0, observed / exposure, np.nan)
    if kind is FunnelDataType.STANDARDISED_RATIO and method is StandardisedRatioMethod.SHMI and shmi_rounding:
        exposure = np.round(exposure, 2)

    reasons: list[str] = []
    placed = exposure > 0
    if not observed.size:
        reasons.append("there are no units to plot")
    elif not placed.all():
        missing = ", ".join(label for label, ok in zip(labels, placed, strict=True) if not ok)
        reasons.append(f"units with a zero denominator cannot be placed on the funnel: {missing}")
    total_exposure = float(exposure[placed].sum())
    total_observed = float(observed[placed].sum())
    if kind is FunnelDataType.STANDARDISED_RATIO:
        target = 1.0
    elif total_exposure > 0:
        target = total_observed / total_exposure
    else:
        target = math.nan
    if (
        kind is not FunnelDataType.STANDARDISED_RATIO
        and placed.any()
        and not 0 < target < (1 if kind is FunnelDataType.PROPORTION else math.inf)
    ):
        reasons.append(
            f"the overall {'proportion' if kind is FunnelDataType.PROPORTION else 'ratio'} is {target:g}, "
            "so there is no sampling variation to draw limits around"
        )
        target = math.nan

    n_units = observed.size
    nan = np.full(n_units, np.nan)
    centre, transformed, s, z = (math.nan, nan.copy(), nan.copy(), nan.copy())
    if math.isfinite(target):
        with np.errstate(divide="ignore", invalid="ignore"):
            centre, transformed, s, z = _z_scores(observed, np.where(placed, exposure, np.nan), kind, method, target)
    usable = np.isfinite(z)
    if placed.any() and math.isfinite(target) and not usable[placed].all():
        reasons.append(
            "units with a z-score of minus or plus infinity (zero events on a log scale) are left out of phi"
        )

    trimmed = np.zeros(n_units, dtype=bool)
    winsorised = np.full(n_units, np.nan)
    if usable.any():
        z_usable = z[usable]
        if kind is FunnelDataType.STANDARDISED_RATIO and method is StandardisedRatioMethod.SHMI:
            groups_count = 1 / trim_by if trim_by > 0 else math.inf
            ranks = stats.rankdata(z_usable, method="average")
            slot = np.floor(ranks * groups_count / (z_usable.size + 1)) if trim_by > 0 else np.ones(z_usable.size)
            cut = (slot <= 0) | (slot >= groups_count - 1) if trim_by > 0 else np.zeros(z_usable.size, dtype=bool)
            trimmed[usable] = cut
            winsorised[usable] = np.where(cut, np.nan, z_usable)
        else:
            low, high = np.quantile(z_usable, [trim_by, 1 - trim_by])
            trimmed[usable] = ~((z_usable > low) & (z_usable < high))
            winsorised[usable] = np.clip(z_usable, low, high)
    kept = np.isfinite(winsorised)
    count = int(kept.sum())
    phi = float(np.sum(winsorised[kept] ** 2) / count) if count else math.nan
    tau2 = 0.0
    if count and count * phi >= count - 1:
        weights = 1 / s[kept] ** 2
        spread = float(weights.sum() - np.sum(weights**2) / weights.sum())
        if spread > 0:
            tau2 = max(0.0, (count * phi - (count - 1)) / spread)
        else:
            reasons.append("between-unit variance cannot be estimated from fewer than two units")
    if not count and placed.any():
        reasons.append("no unit has a usable z-score, so overdispersion cannot be estimated")
        phi = math.nan
    adjusted = spread_model is not Overdispersion.NONE and math.isfinite(phi) and phi > 1
    if spread_model is Overdispersion.NONE:
        phi, tau2 = 0.0, 0.0
    limit_tau2 = tau2 if adjusted and spread_model is Overdispersion.ADDITIVE else 0.0
    limit_phi = phi if adjusted and spread_model is Overdispersion.MULTIPLICATIVE else 1.0

    def limits_at(exact: bool, with_overdispersion: bool) -> FunnelLimits:
        if not math.isfinite(target) or not placed.any():
            empty = tuple(math.nan for _ in range(n_units))
            return FunnelLimits(tuple(float(v) for v in exposure), empty, empty, empty, empty)
        at = funnel_limits(
            exposure[placed],
            data_type=kind,
            sr_method=method,
            target=target,
            tau2=limit_tau2 if with_overdispersion else 0.0,
            phi=limit_phi if with_overdispersion else 1.0,
            overdispersion=spread_model if spread_model is not Overdispersion.NONE else Overdispersion.ADDITIVE,
            exact=exact,
            multiplier=multiplier,
        )
        columns = []
        for values in (at.lower_95, at.upper_95, at.lower_998, at.upper_998):
            full = np.full(n_units, np.nan)
            full[placed] = values
            columns.append(tuple(float(v) for v in full))
        return FunnelLimits(tuple(float(v) for v in exposure), *columns)

    unadjusted = limits_at(kind is FunnelDataType.STANDARDISED_RATIO, False)
    adjusted_limits = limits_at(False, True)
    chosen = adjusted_limits if adjusted else unadjusted
    lower, upper = (chosen.lower_95, chosen.upper_95) if limit == 95 else (chosen.lower_998, chosen.upper_998)
    outlier = outside_limits(ratio * multiplier, lower, upper)
    return FunnelPlot(
        data_type=kind,
        sr_method=method,
        overdispersion=spread_model,
        groups=tuple(labels),
        numerators=tuple(float(v) for v in observed),
        denominators=tuple(float(v) for v in exposure),
        ratios=tuple(float(v) for v in ratio),
        target=target,
        target_transformed=centre,
        transformed=tuple(float(v) for v in transformed),
        standard_errors=tuple(float(v) for v in s),
        z_scores=tuple(float(v) for v in z),
        trimmed=tuple(bool(v) for v in trimmed),
        winsorised_z_scores=tuple(float(v) for v in winsorised),
        phi=phi,
        tau2=tau2,
        adjusted=adjusted,
        limit=limit,
        limits=unadjusted,
        adjusted_limits=adjusted_limits,
        outlier=outlier,
        multiplier=multiplier,
        reason="; ".join(reasons) if reasons else None,
    )


# --- PHE / Fingertips methods -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PheFunnelTable:
    """The 100-point funnel lines of PHEindicatormethods ``calculate_funnel_limits``.

    ``axis`` is the population (proportions) or observed events (ratios). For ratios the ``*_expected`` tuples
    hold the expected events at which each observed count sits on the limit, and the limits are
    ``observed / expected`` then minus 1 (``count``) or times 100 (``isr``).
    """

    statistic: str
    axis: tuple[float, ...]
    lower_2s: tuple[float, ...]
    upper_2s: tuple[float, ...]
    lower_3s: tuple[float, ...]
    upper_3s: tuple[float, ...]
    baseline: float | None
    lower_2s_expected: tuple[float, ...] = ()
    upper_2s_expected: tuple[float, ...] = ()
    lower_3s_expected: tuple[float, ...] = ()
    upper_3s_expected: tuple[float, ...] = ()


def _r_character_width(value: float) -> int:
    """``nchar(x)`` of a whole number as R prints it: scientific when that is shorter (``1e+05``)."""
    digits = str(int(value))
    significant = digits.rstrip("0") or "0"
    exponent = len(digits) - 1
    scientific = len(significant) + (1 if len(significant) > 1 else 0) + 2 + max(2, len(str(exponent)))
    return scientific if scientific < len(digits) else len(digits)


def _floor_significant(value: float, percentage_down: float = 0.95) -> float:
    if value == 0:
        return 0.0
    scale = 10.0 ** (_r_character_width(math.floor(value * percentage_down)) - 1)
    return float(math.floor(value * percentage_down / scale) * scale)


def _ceiling_significant(value: float, percentage_up: float = 1.05) -> float:
    if value == 0:
        return 0.0
    scale = 10.0 ** (_r_character_width(math.ceil(value * percentage_up)) - 2)
    return float(math.ceil(value * percentage_up / scale) * scale)


def _phe_axis(minimum: float, maximum: float, offset_shift: int) -> list[float]:
    """PHE's 100 axis points: geometric steps from ``max(1, axis minimum)`` to the rounded-up maximum."""
    axis_minimum = 0.0 if maximum > 2 * minimum else _floor_significant(minimum)
    axis_maximum = _ceiling_significant(maximum)
    points = [max(1.0, axis_minimum)]
    for j in range(2, 101):
        offset = j - offset_shift
        step = (axis_maximum / points[-1]) ** (1 / (101 - offset)) * points[-1]
        points.append(max(float(round(step)), points[-1] + 1))
    return points


def _wilson_touch(probability: float, population: FloatArray, average: float, upper: bool) -> FloatArray:
    """Proportion at which the Wilson score interval of an observed proportion reaches ``average``.

    PHEindicatormethods ``sigma_adjustment``: the root of the Wilson interval equation in the observed count,
    divided by the population (PHE Technical Guide: Funnel plots).
    """
    z2 = stats.norm.ppf(probability) ** 2
    first = average * (population / z2 + 1)
    root = np.sqrt(
        (-8 * average * (population / z2 + 1)) ** 2
        - 64
        * (1 / z2 + 1 / population)
        * average
        * (population * (average * (population / z2 + 2) - 1) + z2 * (average - 1))
    )
    last = 1 / z2 + 1 / population
    count = (first + root / 8) / last if upper else (first - root / 8) / last
    return np.asarray(count / population, dtype=float)


def _validate_counts(numerators: FloatArray, denominators: FloatArray, *, proportion: bool) -> None:
    if numerators.size != denominators.size:
        raise ValueError(f"denominators must have one entry per numerator ({numerators.size}); got {denominators.size}")
    if (numerators < 0).any():
        raise ValueError("numerators must be greater than or equal to zero")
    if (denominators <= 0).any():
        raise ValueError("denominators must be greater than zero")
    if proportion and (numerators > denominators).any():
        raise ValueError("numerators must be less than or equal to denominators for a proportion")


def phe_proportion_funnel(
    numerators: Sequence[float] | FloatArray, denominators: Sequence[float] | FloatArray, *, multiplier: float = 100.0
) -> PheFunnelTable:
    """PHE proportion funnel: 95 % (p = 0.975) and 99.8 % (p = 0.999) Wilson-touch limits around the average.

    The average is ``sum(numerators) / sum(denominators)``; limits are clamped to ``[0, multiplier]``.
    """
    observed = _array("numerators", numerators)
    population = _array("denominators", denominators)
    _validate_counts(observed, population, proportion=True)
    if not observed.size:
        raise ValueError("numerators must not be empty")
    average = float(observed.sum() / population.sum())
    axis = np.array(_phe_axis(float(population.min()), float(population.max()), 0), dtype=float)
    with np.errstate(invalid="ignore"):
        bands = [
            np.clip(_wilson_touch(p, axis, average, upper) * multiplier, 0, multiplier)
            for p, upper in ((0.975, False), (0.975, True), (0.999, False), (0.999, True))
        ]
    return PheFunnelTable(
        statistic="proportion",
        axis=tuple(float(v) for v in axis),
        lower_2s=tuple(float(v) for v in bands[0]),
        upper_2s=tuple(float(v) for v in bands[1]),
        lower_3s=tuple(float(v) for v in bands[2]),
        upper_3s=tuple(float(v) for v in bands[3]),
        baseline=average * multiplier,
    )


def phe_proportion_significance(
    numerators: Sequence[float] | FloatArray, denominators: Sequence[float] | FloatArray
) -> tuple[str, ...]:
    """PHE significance band of each proportion against the Wilson-touch limits around the overall average."""
    observed = _array("numerators", numerators)
    population = _array("denominators", denominators)
    _validate_counts(observed, population, proportion=True)
    average = float(observed.sum() / population.sum())
    proportion = observed / population
    with np.errstate(invalid="ignore"):
        low_3s = _wilson_touch(0.999, population, average, False)
        low_2s = _wilson_touch(0.975, population, average, False)
        high_3s = _wilson_touch(0.999, population, average, True)
        high_2s = _wilson_touch(0.975, population, average, True)
    labels = []
    for i, value in enumerate(proportion):
        if value < low_3s[i]:
            labels.append("Low (0.001)")
        elif value < low_2s[i]:
            labels.append("Low (0.025)")
        elif value > high_3s[i]:
            labels.append("High (0.001)")
        elif value > high_2s[i]:
            labels.append("High (0.025)")
        else:
            labels.append("Not significant")
    return tuple(labels)


def _poisson_funnel_expected(observed: float, probability: float, upper_side: bool) -> float:
    """Expected events at which ``observed`` sits on a funnel limit, by PHE's bisection (tolerance 1e-7).

    Bisects ``v`` in (0, 1) with ``E = (1 + O) v / (1 - v)`` until the step is below 1e-7, comparing
    ``P(X >= O | E)`` (``upper_side``) or ``P(X <= O | E)`` with ``probability`` (PHEindicatormethods
    ``poisson_funnel``, from the Fingertips Excel macro). The bisection's own precision is kept on purpose:
    the published limits carry it.
    """
    v, step = 0.5, 0.5
    while step > 1e-7:
        step /= 2
        expected = (1 + observed) * v / (1 - v)
        if upper_side:
            move_down = _poisson_interval_probability(expected, observed, 1e10) > probability
        else:
            move_down = _poisson_interval_probability(expected, 0.0, observed) < probability
        v = v - step if move_down else v + step
    return (1 + observed) * v / (1 - v)


def _poisson_interval_probability(mean: float, low: float, high: float) -> float:
    """``P(low <= X <= high)`` for ``X ~ Poisson(mean)`` by PHE's rescaled series (PHEindicatormethods ``poisson_cis``).

    The series stops once a term falls below 1e-10 of the running total past the mean. Its rounding is
    reproduced step for step rather than replaced by ``scipy.stats.poisson``: near a bisection decision the
    two differ by about 1e-10, enough to move a published limit by one bisection step.
    """
    term, total, inside, k = 1.0, 0.0, 0.0, 0
    while k <= mean or term > total * 1e-10:
        total += term
        if low <= k <= high:
            inside += term
        if total > 1e30:
            inside /= 1e30
            total /= 1e30
            term /= 1e30
        k += 1
        term = term * mean / k
    return inside / total


def phe_ratio_funnel(
    observed: Sequence[float] | FloatArray, expected: Sequence[float] | FloatArray, *, ratio_type: str = "count"
) -> PheFunnelTable:
    """PHE ratio funnel over observed events: expected events on each limit, and the limit ``O / E``.

    ``ratio_type="count"`` reports ``O / E - 1``; ``"isr"`` reports ``100 O / E``. 95 % limits use tail
    probability 0.025 and 99.8 % limits 0.001 (PHEindicatormethods ``calculate_funnel_limits``).
    """
    if ratio_type not in ("count", "isr"):
        raise ValueError("ratio_type must be 'count' or 'isr'")
    events = _array("observed", observed)
    expectation = _array("expected", expected)
    _validate_counts(events, expectation, proportion=False)
    if not events.size:
        raise ValueError("observed must not be empty")
    axis = _phe_axis(float(expectation.min()), float(expectation.max()), 1)
    columns: dict[str, list[float]] = {key: [] for key in ("l2", "u2", "l3", "u3")}
    for events_on_axis in axis:
        columns["l2"].append(_poisson_funnel_expected(events_on_axis, 0.025, False))
        columns["u2"].append(_poisson_funnel_expected(events_on_axis, 0.025, True))
        columns["l3"].append(_poisson_funnel_expected(events_on_axis, 0.001, False))
        columns["u3"].append(_poisson_funnel_expected(events_on_axis, 0.001, True))

    def scaled(key: str) -> tuple[float, ...]:
        ratios = [o / e for o, e in zip(axis, columns[key], strict=True)]
        return tuple(r - 1 if ratio_type == "count" else r * 100 for r in ratios)

    return PheFunnelTable(
        statistic=f"ratio ({ratio_type})",
        axis=tuple(axis),
        lower_2s=scaled("l2"),
        upper_2s=scaled("u2"),
        lower_3s=scaled("l3"),
        upper_3s=scaled("u3"),
        baseline=None,
        lower_2s_expected=tuple(columns["l2"]),
        upper_2s_expected=tuple(columns["u2"]),
        lower_3s_expected=tuple(columns["l3"]),
        upper_3s_expected=tuple(columns["u3"]),
    )


def _ratio_bound(observed: float, expected: float, coverage: float, lower: bool) -> float:
    """Confidence bound of O/E: exact Poisson below 10 events, Byar's approximation from 10 (PHE)."""
    if observed == 0 and lower:
        return 0.0
    quantile = 0.5 + coverage / 2
    if observed < 10:
        if lower:
            return float(stats.chi2.isf(quantile, 2 * observed)) / 2 / expected
        return float(stats.chi2.ppf(quantile, 2 * observed + 2)) / 2 / expected
    z = float(stats.norm.ppf(quantile))
    if lower:
        return observed * (1 - 1 / (9 * observed) - z / 3 / math.sqrt(observed)) ** 3 / expected
    shifted = observed + 1
    return shifted * (1 - 1 / (9 * shifted) + z / 3 / math.sqrt(shifted)) ** 3 / expected


def phe_ratio_significance(
    observed: Sequence[float] | FloatArray, expected: Sequence[float] | FloatArray
) -> tuple[str, ...]:
    """PHE significance band of each O/E ratio: whether its 95 % / 99.8 % interval excludes 1."""
    events = _array("observed", observed)
    expectation = _array("expected", expected)
    _validate_counts(events, expectation, proportion=False)
    labels = []
    for o, e in zip(events, expectation, strict=True):
        if _ratio_bound(o, e, 0.998, True) > 1:
            labels.append("High (0.001)")
        elif _ratio_bound(o, e, 0.95, True) > 1:
            labels.append("High (0.025)")
        elif _ratio_bound(o, e, 0.998, False) < 1:
            labels.append("Low (0.001)")
        elif _ratio_bound(o, e, 0.95, False) < 1:
            labels.append("Low (0.025)")
        else:
            labels.append("Not significant")
    return tuple(labels)
