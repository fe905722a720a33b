"""The analytics facade: the only door from governance and the web into the analytics core.

Everything returned here is a contract: a frozen dataclass, an Arrow table or plain values; never a connection
or an Ibis expression.
"""

from __future__ import annotations

from collections.abc import Sequence

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
