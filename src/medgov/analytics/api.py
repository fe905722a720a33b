"""The analytics facade: the only door from governance and the web into the analytics core.

Everything returned here is a contract: a frozen dataclass, an Arrow table or plain values; never a connection
or an Ibis expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from medgov.analytics.statistics.funnel import FunnelDataType, FunnelPlot, funnel_limits, funnel_plot
from medgov.analytics.statistics.spc import MakingDataCountChart, making_data_count_chart
from medgov.analytics.statistics.spc_rules import ImprovementDirection

# --- statistics: SPC -----------------------------------------------------------------------------------------


def measure_control_chart(
    values: Sequence[float],
    *,
    improvement_direction: str,
    target: float | None = None,
    rebase_at: Sequence[int] = (),
) -> MakingDataCountChart:
    """An XmR chart of a measure's series with NHS Making Data Count rules, classification and assurance.

    ``improvement_direction`` is FHIR's improvementNotation (``increase`` or ``decrease``). Missing periods are
    ``nan`` and the chart explains in ``reason`` when no limits can be drawn.
    """
    return making_data_count_chart(
        values,
        improvement_direction=ImprovementDirection(improvement_direction),
        target=target,
        rebase_at=rebase_at,
    )


# --- statistics: funnel plots ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelView:
    """What a page needs to draw a funnel: limit curves by name (x, lower, upper), a flag per unit and the centre.

    Flags are ``"high"``, ``"low"`` or ``""`` (within the 99.8 % overdispersion-adjusted limits).
    """

    centre: float
    limits: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]]
    flags: tuple[str, ...]
    overdispersion_phi: float
    reason: str | None


def _funnel_view(plot: FunnelPlot, denominators: Sequence[float], centre: float) -> FunnelView:
    grid = np.linspace(max(min(denominators), 1e-9) * 0.8, max(denominators) * 1.1, 60)
    kind = plot.data_type
    curves = funnel_limits(
        grid,
        data_type=kind,
        sr_method=plot.sr_method,
        target=plot.target,
        tau2=plot.tau2,
        phi=plot.phi,
        overdispersion=plot.overdispersion,
    )
    xs = tuple(float(x) for x in grid)
    flags = []
    for ratio, is_outlier in zip(plot.ratios, plot.outlier, strict=True):
        flags.append(("high" if ratio > plot.target else "low") if is_outlier else "")
    return FunnelView(
        centre=centre,
        limits={"95 %": (xs, curves.lower_95, curves.upper_95), "99.8 %": (xs, curves.lower_998, curves.upper_998)},
        flags=tuple(flags),
        overdispersion_phi=plot.phi,
        reason=plot.reason,
    )


def funnel_for_ratios(observed: Sequence[float], expected: Sequence[float]) -> FunnelView:
    """Funnel plot of O/E ratios (indirect standardisation) with exact Poisson limits and additive
    overdispersion (Spiegelhalter 2005), plotted against expected events."""
    groups = [str(index) for index in range(len(observed))]
    plot = funnel_plot(observed, expected, groups, data_type=FunnelDataType.STANDARDISED_RATIO, sr_method="CQC")
    return _funnel_view(_in_input_order(plot, groups), expected, 1.0)


def funnel_for_proportions(numerators: Sequence[float], denominators: Sequence[float]) -> FunnelView:
    """Funnel plot of proportions around the pooled proportion, with additive overdispersion."""
    groups = [str(index) for index in range(len(numerators))]
    plot = funnel_plot(numerators, denominators, groups, data_type=FunnelDataType.PROPORTION, sr_method="CQC")
    return _funnel_view(_in_input_order(plot, groups), denominators, plot.target)


def _in_input_order(plot: FunnelPlot, groups: Sequence[str]) -> FunnelPlot:
    # funnel_plot orders units by group label; put them back in the caller's order.
    position = {group: index for index, group in enumerate(plot.groups)}
    order = [position[group] for group in groups]
    return replace(
        plot,
        groups=tuple(plot.groups[i] for i in order),
        ratios=tuple(plot.ratios[i] for i in order),
        outlier=tuple(plot.outlier[i] for i in order),
    )
