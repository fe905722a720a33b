"""The analytics facade: the only module governance imports. It hands out contracts, never connections."""

from __future__ import annotations

# --- medical staff office: practitioner directory and OPPE results -------------------------------------------
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from medgov.analytics.practitioner_contracts import (
    DepartmentFunnel,
    DepartmentOppeResults,
    FunnelLimit,
    FunnelPoint,
    IndicatorDefinition,
    PractitionerIndicatorResult,
    PractitionerResults,
    WarehousePractitioner,
)

__all__ = [
    "DepartmentFunnel",
    "DepartmentOppeResults",
    "FunnelLimit",
    "FunnelPoint",
    "IndicatorDefinition",
    "PractitionerIndicatorResult",
    "PractitionerResults",
    "PractitionerResultsUnavailable",
    "WarehousePractitioner",
    "practitioner_directory",
    "practitioner_oppe_results",
]


class PractitionerResultsUnavailable(RuntimeError):
    """The measure engine cannot give per-practitioner results (not installed, or no warehouse yet)."""


def practitioner_directory(warehouse: Path) -> tuple[WarehousePractitioner, ...]:
    """Practitioners in the warehouse with the specialty and organisation of their first role (by role id)."""
    import duckdb

    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            """
            SELECT p.id, coalesce(p.npi, ''), coalesce(p.family, ''), coalesce(p.given, ''),
                   coalesce(r.specialty_code, ''), coalesce(r.specialty_display, ''), coalesce(r.organization_id, '')
            FROM practitioner p
            LEFT JOIN (
                SELECT *, row_number() OVER (PARTITION BY practitioner_id ORDER BY id) AS position
                FROM practitioner_role
            ) r ON r.practitioner_id = p.id AND r.position = 1
            ORDER BY p.id
            """
        ).fetchall()
    return tuple(WarehousePractitioner(*(str(value) for value in row)) for row in rows)


def practitioner_oppe_results(
    *, department_id: str, period_start: dt.date, period_end: dt.date, extra_measure_ids: Sequence[str] = ()
) -> DepartmentOppeResults:
    """Per-practitioner volume, risk-adjusted mortality/readmission/LOS O/E with intervals, complication and
    safety-event counts, and the department's chosen measures, each with the department funnel.

    Delegates to the measure engine; until it provides per-practitioner results this raises
    :class:`PractitionerResultsUnavailable` rather than computing measures a second way.
    """
    raise PractitionerResultsUnavailable(
        "per-practitioner measure results are not available from the measure engine in this installation"
    )
