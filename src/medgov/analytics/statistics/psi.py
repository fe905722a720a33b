"""AHRQ Patient Safety Indicators: risk-adjusted, smoothed component rates and the PSI 90 composite.

Formulas from AHRQ SAS QI v2024 ``PSI_HOSP_RISKADJ.SAS`` and ``PSI_HOSP_COMPOSITE.SAS`` (github
AHRQ/AHRQ-Quality-Indicators); weights from ``PSI_HOSP_Composite_Wt_v2024.sas``/``_v2025.sas`` (package data).
The patient-level expected risks ``ehat_i`` come from AHRQ's published model parameters, which callers supply
already calibrated; code lists for the numerators are not part of this module.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Psi90Version = Literal["v2024", "v2025"]
MINIMUM_DENOMINATOR = 3
"""A component with fewer than 3 discharges in its denominator contributes its weight times 1 to PSI 90."""


@dataclass(frozen=True)
class PsiComponent:
    """One PSI's rates for a hospital (all rates per discharge, not per 1,000).

    ``observed_rate = T/N``; ``expected_rate = sum ehat / N``; ``risk_adjusted_rate = (O/E) * reference_rate``;
    ``standard_error = (reference_rate / E) * sqrt(sum ehat (1 - ehat)) / N``; ``reliability =
    signal_variance / (signal_variance + SE^2)``; ``smoothed_rate = reliability * R + (1 - reliability) *
    reference_rate``; ``lower``/``upper`` = ``R -/+ 1.96 SE`` (lower floored at 0). Values are ``None`` with a
    ``reason`` when the denominator or the expected rate is zero.
    """

    name: str
    numerator: int
    denominator: int
    reference_rate: float
    observed_rate: float | None
    expected_rate: float | None
    risk_adjusted_rate: float | None
    standard_error: float | None
    reliability: float | None
    smoothed_rate: float | None
    lower: float | None
    upper: float | None
    reason: str | None = None


def psi_component(
    name: str,
    *,
    numerator: int,
    denominator: int,
    expected_sum: float,
    expected_variance_sum: float,
    reference_rate: float,
    signal_variance: float,
) -> PsiComponent:
    """Risk-adjusted and reliability-weighted (smoothed) rate of one PSI (PSI_HOSP_RISKADJ.SAS v2024).

    ``expected_sum = sum_i ehat_i`` and ``expected_variance_sum = sum_i ehat_i (1 - ehat_i)`` (PHAT) over the
    denominator's discharges, after AHRQ's calibration; ``reference_rate`` (ARRYP3) and ``signal_variance``
    (ARRYP2) come from AHRQ's reference-population tables. See :class:`PsiComponent` for the formulas.
    """
    for argument, value in (
        ("numerator", numerator),
        ("denominator", denominator),
        ("expected_sum", expected_sum),
        ("expected_variance_sum", expected_variance_sum),
        ("reference_rate", reference_rate),
        ("signal_variance", signal_variance),
    ):
        if math.isnan(value) or value < 0:
            raise ValueError(f"{argument} must be a non-negative number, not {value}")
    if numerator > denominator:
        raise ValueError(f"numerator ({numerator}) must not exceed denominator ({denominator})")
    if denominator == 0 or expected_sum == 0:
        reason = "denominator is zero" if denominator == 0 else "expected count is zero"
        return PsiComponent(
            name, numerator, denominator, reference_rate, None, None, None, None, None, None, None, None, reason
        )
    observed = numerator / denominator
    expected = expected_sum / denominator
    adjusted = observed / expected * reference_rate
    standard_error = (reference_rate / expected) * (1.0 / denominator) * math.sqrt(expected_variance_sum)
    noise = standard_error**2
    reliability = signal_variance / (signal_variance + noise) if signal_variance + noise > 0 else 1.0
    return PsiComponent(
        name=name,
        numerator=numerator,
        denominator=denominator,
        reference_rate=reference_rate,
        observed_rate=observed,
        expected_rate=expected,
        risk_adjusted_rate=adjusted,
        standard_error=standard_error,
        reliability=reliability,
        smoothed_rate=reliability * adjusted + (1.0 - reliability) * reference_rate,
        lower=max(0.0, adjusted - 1.96 * standard_error),
        upper=adjusted + 1.96 * standard_error,
    )


def psi90_weights(version: Psi90Version = "v2025") -> Mapping[str, float]:
    """AHRQ PSI 90 component weights (``PSI_03`` ... ``PSI_15``) of a software version; they sum to 1."""
    weights = _weights()
    if version not in weights:
        raise ValueError(f"version must be one of {sorted(weights)}, not {version!r}")
    return weights[version]


def psi90_composite(components: Mapping[str, PsiComponent], *, version: Psi90Version = "v2025") -> float:
    """PSI 90 = ``sum_k w_k [SN_k (R_k / ref_k) + (1 - SN_k)]`` (PSI_HOSP_COMPOSITE.SAS v2024).

    ``components`` is keyed by ``PSI_03`` ... ``PSI_15``. A component that is missing, has fewer than
    :data:`MINIMUM_DENOMINATOR` discharges or no risk-adjusted rate contributes ``w_k * 1`` (the reference
    ratio), so a hospital at the reference everywhere scores 1.
    """
    unknown = set(components) - set(psi90_weights(version))
    if unknown:
        raise ValueError(f"components has names outside PSI 90: {sorted(unknown)}")
    total = 0.0
    for name, weight in psi90_weights(version).items():
        component = components.get(name)
        if (
            component is None
            or component.denominator < MINIMUM_DENOMINATOR
            or component.risk_adjusted_rate is None
            or component.reliability is None
            or component.reference_rate == 0
        ):
            total += weight
            continue
        ratio = component.risk_adjusted_rate / component.reference_rate
        total += weight * (component.reliability * ratio + (1.0 - component.reliability))
    return total


@cache
def _weights() -> dict[str, dict[str, float]]:
    text = resources.files(__package__).joinpath("data", "psi90_weights.json").read_text(encoding="utf-8")
    weights: dict[str, dict[str, float]] = json.loads(text)["weights"]
    return weights
