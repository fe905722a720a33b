"""Contracts for the medical staff office: a practitioner directory from the warehouse, and per-practitioner
measure results against department peers for ongoing professional practice evaluation (OPPE).

Frozen dataclasses of plain values, so governance can store them without knowing how they were computed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class WarehousePractitioner:
    """One row of the warehouse ``practitioner`` table with the specialty and organisation of its first role."""

    id: str
    npi: str
    family: str
    given: str
    specialty_code: str = ""
    specialty_display: str = ""
    organization_id: str = ""


@dataclass(frozen=True, slots=True)
class IndicatorDefinition:
    """An OPPE indicator: ``kind`` is volume, observed_expected, count or department."""

    measure_id: str
    name: str
    kind: str
    higher_is_worse: bool = True


@dataclass(frozen=True, slots=True)
class FunnelLimit:
    """Control limits (99.8 %) of the department funnel at ``size``: expected events for an O/E or count
    indicator, cases for a proportion (the funnel's ``size_label`` says which)."""

    size: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class FunnelPoint:
    """A practitioner in the department funnel; ``size`` is where the funnel places them (``cases`` if None)."""

    practitioner_id: str
    cases: int
    value: float | None
    size: float | None = None


@dataclass(frozen=True, slots=True)
class DepartmentFunnel:
    measure_id: str
    department_value: float | None
    points: tuple[FunnelPoint, ...] = ()
    limits: tuple[FunnelLimit, ...] = ()
    size_label: str = "cases"


@dataclass(frozen=True, slots=True)
class PractitionerIndicatorResult:
    """A practitioner's result on one indicator.

    For observed/expected indicators ``value`` is O/E and ``lower``/``upper`` its interval; for counts and volume
    ``value`` equals ``observed``. ``funnel_lower``/``funnel_upper`` are the department limits at ``cases``.
    """

    measure_id: str
    cases: int
    observed: float | None = None
    expected: float | None = None
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    funnel_lower: float | None = None
    funnel_upper: float | None = None


@dataclass(frozen=True, slots=True)
class PractitionerResults:
    practitioner_id: str
    indicators: tuple[PractitionerIndicatorResult, ...]


@dataclass(frozen=True, slots=True)
class DepartmentOppeResults:
    """Everything one department's OPPE needs for one period, as the measure engine computed it."""

    department_id: str
    period_start: dt.date
    period_end: dt.date
    source: str
    indicators: tuple[IndicatorDefinition, ...]
    practitioners: tuple[PractitionerResults, ...] = ()
    funnels: tuple[DepartmentFunnel, ...] = field(default=())
