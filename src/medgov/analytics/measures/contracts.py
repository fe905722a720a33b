"""Frozen dataclasses the measure facade hands out (``medgov.analytics.api``): plain values and Arrow tables.

They live beside the measures, not in ``analytics/contracts.py``, and the facade re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from medgov.analytics.measures.engine import RiskModelReport
from medgov.analytics.measures.spec import MeasureSpec


@dataclass(frozen=True, slots=True)
class MeasureInfo:
    """A registered measure's metadata (FHIR Measure header), without its Ibis expressions."""

    id: str
    version: str
    title: str
    description: str
    rationale: str
    source: str
    definition: str
    scoring: str
    improvement_notation: str
    unit_of_analysis: str
    rate_unit: str
    risk_model: str | None
    minimum_denominator: float
    simplifications: tuple[str, ...]

    @classmethod
    def from_spec(cls, spec: MeasureSpec) -> MeasureInfo:
        return cls(
            id=spec.id,
            version=spec.version,
            title=spec.title,
            description=spec.description,
            rationale=spec.rationale,
            source=spec.source.value,
            definition=spec.definition,
            scoring=spec.scoring.value,
            improvement_notation=spec.improvement_notation.value,
            unit_of_analysis=spec.unit_of_analysis.value,
            rate_unit=spec.rate_unit,
            risk_model=None if spec.risk_model is None else spec.risk_model.kind.value,
            minimum_denominator=spec.minimum_denominator,
            simplifications=spec.simplifications,
        )


@dataclass(frozen=True, slots=True)
class MeasureRun:
    """The outcome of one run of one or more measures.

    ``results``: one row per measure x period bucket x stratum with every population count and statistic
    (schema ``medgov.analytics.measures.engine.RESULT_SCHEMA``), keyed by (measure_id, measure_version,
    grain, period_start, period_end, stratifier, stratum): ready to store one row per key.
    ``models``: the risk model fitted for each risk-adjusted measure. ``measure_reports``: FHIR R4
    MeasureReport resources (JSON-ready dicts), one per measure and reporting period.
    """

    results: pa.Table
    models: tuple[RiskModelReport, ...]
    measure_reports: tuple[dict[str, Any], ...]
