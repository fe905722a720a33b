from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from medgov.governance.quality import detection, services
from medgov.governance.quality.models import Signal


@pytest.fixture
def readmission(db):
    (measure,) = services.do_register_measures(
        [
            services.MeasureDescription(
                measure_id="readmission-30d",
                version="1.0.0",
                title="30-day readmission",
                description="",
                rationale="",
                source="CMS",
                scoring="proportion",
                improvement_direction="decrease",
                unit_label="%",
            )
        ],
        actor=None,
    )
    return measure


def _months(n: int) -> list[dt.date]:
    return [dt.date(2021 + (m // 12), m % 12 + 1, 1) for m in range(n)]


def _rows(dimension, key, label, rates, denominator=400):
    rows = []
    for month, rate in zip(_months(len(rates)), rates, strict=True):
        rows.append(
            {
                "measure_id": "readmission-30d",
                "version": "1.0.0",
                "grain": "month",
                "period_start": month,
                "period_end": month,
                "dimension": dimension,
                "stratum_key": key,
                "stratum_label": label,
                "denominator": denominator,
                "numerator": round(rate * denominator),
                "rate": round(rate * denominator) / denominator,
            }
        )
    return rows


def _yearly(key, label, numerator, denominator):
    return {
        "measure_id": "readmission-30d",
        "version": "1.0.0",
        "grain": "year",
        "period_start": dt.date(2026, 1, 1),
        "period_end": dt.date(2026, 12, 31),
        "dimension": "department",
        "stratum_key": key,
        "stratum_label": label,
        "denominator": denominator,
        "numerator": numerator,
        "rate": numerator / denominator,
    }


def test_a_recent_shift_and_a_funnel_outlier_are_raised_once(readmission):
    generator = np.random.default_rng(7)
    stable = list(0.15 + generator.normal(0, 0.01, 48))
    shifted = list(0.15 + generator.normal(0, 0.01, 40)) + list(0.21 + generator.normal(0, 0.01, 8))
    rows = _rows("department", "dept-a", "Cardiology", stable) + _rows("department", "dept-b", "Orthopaedics", shifted)
    rows += [_yearly(f"dept-{i}", f"Dept {i}", 150, 1000) for i in range(5)] + [_yearly("dept-x", "Dept X", 260, 1000)]
    refresh = services.do_start_refresh(warehouse="test", actor=None)
    services.do_store_results(refresh, rows, actor=None)
    candidates = detection.detect(readmission)
    summary = sorted((c.kind, c.stratum_key, c.direction, c.rule) for c in candidates)
    assert summary == [
        ("funnel", "dept-x", "concern", "Outside 99.8 % funnel limits"),
        ("spc", "dept-b", "concern", "Above UCL"),
    ]
    services.do_raise_signals(candidates, refresh=refresh, actor=None)
    services.do_raise_signals(detection.detect(readmission), refresh=refresh, actor=None)
    assert Signal.objects.count() == 2
    spc_signal = Signal.objects.get(kind="spc")
    assert spc_signal.first_period == dt.date(2024, 5, 1)


def test_an_aberrant_month_of_falls_is_raised(db):
    (measure,) = services.do_register_measures(
        [
            services.MeasureDescription(
                measure_id="falls-with-injury",
                version="1.0.0",
                title="Falls with injury",
                description="",
                rationale="",
                source="NDNQI",
                scoring="ratio",
                improvement_direction="decrease",
                unit_label="per 1,000 patient days",
            )
        ],
        actor=None,
    )
    counts = [2, 3, 2, 1, 3, 2, 2, 3, 2, 2, 3, 2, 2, 3, 1, 2, 9, 2]
    rows = []
    for month, count in zip(_months(len(counts)), counts, strict=True):
        rows.append(
            {
                "measure_id": "falls-with-injury",
                "version": "1.0.0",
                "grain": "month",
                "period_start": month,
                "period_end": month,
                "dimension": "unit",
                "stratum_key": "4W",
                "stratum_label": "4 West",
                "denominator": 900.0,
                "numerator": float(count),
                "rate": count / 0.9,
            }
        )
    refresh = services.do_start_refresh(warehouse="test", actor=None)
    services.do_store_results(refresh, rows, actor=None)
    candidates = detection.detect(measure)
    assert [(c.kind, c.rule, c.first_period, c.detail) for c in candidates] == [
        ("spc", "Above UCL", dt.date(2022, 5, 1), "1 point(s) from May 2022"),
        ("aberration", "EARS C2", dt.date(2022, 5, 1), "9 events in May 2022"),
    ]


def _quarters(key, rates, denominator=60):
    rows = []
    for index, rate in enumerate(rates):
        start = dt.date(2021 + index // 4, index % 4 * 3 + 1, 1)
        rows.append(
            {
                "measure_id": "readmission-30d",
                "version": "1.0.0",
                "grain": "quarter",
                "period_start": start,
                "period_end": start + dt.timedelta(days=80),
                "dimension": "unit",
                "stratum_key": key,
                "stratum_label": "3 East",
                "denominator": denominator,
                "numerator": round(rate * denominator),
                "rate": round(rate * denominator) / denominator,
            }
        )
    return rows


def test_a_ward_too_small_to_report_by_month_is_charted_by_quarter(readmission):
    monthly = _rows("unit", "ward-3e", "3 East", [0.15] * 48, denominator=20)
    for index, row in enumerate(monthly):
        if index % 3 == 1:  # a month under the reporting minimum of 11 cases
            row.update(calculable=False, rate=None, denominator=9, numerator=1)
    quarterly = [0.14, 0.16] * 4 + [0.14] + [0.17, 0.18] * 3 + [0.17]
    refresh = services.do_start_refresh(warehouse="test", actor=None)
    services.do_store_results(refresh, monthly + _quarters("ward-3e", quarterly), actor=None)

    (candidate,) = detection.spc_candidates(readmission, detection.MeasureResult.objects.all())

    assert (candidate.stratum_key, candidate.direction, candidate.rule) == ("ward-3e", "concern", "7 Points Above CL")
    assert (candidate.first_period, candidate.last_period) == (dt.date(2023, 4, 1), dt.date(2024, 10, 1))
    assert candidate.detail == "7 quarter(s) from Apr 2023"
    assert len(candidate.chart["periods"]) == 16
