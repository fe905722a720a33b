"""How the board report writes numbers. The report stores these strings in its snapshot, so a stored report
prints exactly what it printed when it was generated."""

from __future__ import annotations

import math

DASH = "\u2013"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def measure_value(value: float | None, *, scoring: str, unit: str = "", oe: bool = False) -> str:
    """Proportions as per cent with one decimal (``12.5 %``), O/E ratios with two decimals, other rates with
    two decimals and their unit."""
    if not _finite(value):
        return DASH
    assert value is not None
    if oe:
        return f"{value:.2f}"
    if scoring == "proportion":
        return f"{value * 100:.1f} %"
    return f"{value:.2f} {unit}".strip()


def measure_interval(low: float | None, high: float | None, *, scoring: str, oe: bool = False) -> str:
    if not _finite(low) or not _finite(high):
        return DASH
    assert low is not None and high is not None
    if oe:
        return f"{low:.2f}{DASH}{high:.2f}"
    if scoring == "proportion":
        return f"{low * 100:.1f}{DASH}{high * 100:.1f} %"
    return f"{low:.2f}{DASH}{high:.2f}"


def count(value: float | None) -> str:
    """A count with thousands separators; None (a suppressed cell) prints as ``<11``."""
    if value is None:
        return SUPPRESSED
    return f"{value:,.0f}"


SUPPRESSED = "<11"
