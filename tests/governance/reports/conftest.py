"""Headline measures with monthly and quarterly results, created through the quality services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from medgov.governance.accounts.choices import Role
from medgov.governance.quality import services as quality
from medgov.governance.quality.choices import ImprovementDirection

MORTALITY = quality.MeasureDescription(
    measure_id="inpatient-mortality",
    version="1.0.0",
    title="In-hospital mortality",
    description="Deaths among inpatient discharges.",
    rationale="",
    source="CMS",
    scoring="proportion",
    improvement_direction="decrease",
    unit_label="%",
    is_headline=True,
)
READMISSION = quality.MeasureDescription(
    measure_id="readmission-30-day",
    version="2.1.0",
    title="Readmission within 30 days",
    description="Unplanned readmissions within 30 days of discharge.",
    rationale="",
    source="CMS",
    scoring="proportion",
    improvement_direction="decrease",
    unit_label="%",
    is_headline=True,
)
FALLS = quality.MeasureDescription(
    measure_id="falls-with-harm",
    version="1.0.0",
    title="Falls with harm",
    description="Falls with harm per 1,000 patient days.",
    rationale="",
    source="NDNQI",
    scoring="ratio",
    improvement_direction="decrease",
    unit_label="per 1,000 patient days",
    is_headline=False,
)


def month_row(measure: quality.MeasureDescription, month: dt.date, numerator: int, denominator: int) -> dict[str, Any]:
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return {
        "measure_id": measure.measure_id,
        "version": measure.version,
        "grain": "month",
        "period_start": month,
        "period_end": following - dt.timedelta(days=1),
        "dimension": "all",
        "stratum_key": "all",
        "stratum_label": "Whole organisation",
        "numerator": numerator,
        "denominator": denominator,
        "rate": numerator / denominator,
    }


def quarter_row(
    measure: quality.MeasureDescription,
    start: dt.date,
    end: dt.date,
    rate: float,
    low: float,
    high: float,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "measure_id": measure.measure_id,
        "version": measure.version,
        "grain": "quarter",
        "period_start": start,
        "period_end": end,
        "dimension": "all",
        "stratum_key": "all",
        "stratum_label": "Whole organisation",
        "numerator": round(rate * 3000),
        "denominator": 3000,
        "rate": rate,
        "rate_low": low,
        "rate_high": high,
        **extra,
    }


def months(first: dt.date, count: int) -> list[dt.date]:
    out = []
    year, month = first.year, first.month
    for _ in range(count):
        out.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }


@pytest.fixture
def board_data(make_user: Any) -> dict[str, Any]:
    return create_board_data(make_user(Role.CMO))


def create_board_data(cmo: Any) -> dict[str, Any]:
    """Q3 2026: mortality 2.35 % (2.00-2.74) against 2.5 % (green); readmission 14.17 % (12.98-15.44) against
    12 % (red); plus a non-headline measure that the scorecard leaves out."""
    mortality, readmission, _falls = quality.do_register_measures([MORTALITY, READMISSION, FALLS], actor=None)
    refresh = quality.do_start_refresh(warehouse="test.duckdb", actor=None)
    rows: list[dict[str, Any]] = []
    for index, month in enumerate(months(dt.date(2025, 1, 1), 21)):
        rows.append(month_row(MORTALITY, month, 20 + index % 5, 1000))
        rows.append(month_row(READMISSION, month, 130 + (index % 4) * 5, 1000))
    rows.append(quarter_row(MORTALITY, dt.date(2026, 7, 1), dt.date(2026, 9, 30), 0.02354, 0.02001, 0.02741))
    rows.append(quarter_row(READMISSION, dt.date(2026, 7, 1), dt.date(2026, 9, 30), 0.14167, 0.12981, 0.15442))
    rows.append(quarter_row(MORTALITY, dt.date(2026, 4, 1), dt.date(2026, 6, 30), 0.0281, 0.0240, 0.0327))
    quality.do_store_results(refresh, rows, actor=None)
    quality.do_finish_refresh(refresh, actor=None)
    quality.do_set_target(
        mortality,
        value=0.025,
        direction=ImprovementDirection.DECREASE,
        owner=cmo,
        effective_from=dt.date(2026, 1, 1),
        reason="Board goal FY26",
        actor=cmo,
    )
    quality.do_set_target(
        readmission,
        value=0.12,
        direction=ImprovementDirection.DECREASE,
        owner=cmo,
        effective_from=dt.date(2026, 1, 1),
        reason="Board goal FY26",
        actor=cmo,
    )
    return {"refresh": refresh, "mortality": mortality, "readmission": readmission, "cmo": cmo}
