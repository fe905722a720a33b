"""The whole loop on a small generated hospital: FHIR -> warehouse -> measures -> stored results -> signals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from medgov.analytics import api as analytics
from medgov.analytics.synth import SynthConfig, generate
from medgov.governance.core.models import AuditEvent
from medgov.governance.quality import services
from medgov.governance.quality.models import Measure, MeasureRefresh, MeasureResult


@pytest.fixture(scope="module")
def small_warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hospital")
    generate(SynthConfig(patients=600, seed=5, start=dt.date(2024, 1, 1), years=2), folder / "fhir")
    warehouse = folder / "warehouse.duckdb"
    analytics.ingest([folder / "fhir"], warehouse)
    return warehouse


def test_refresh_stores_results_for_every_measure_and_grain(db, small_warehouse):
    refresh = services.do_refresh_measures(
        warehouse=str(small_warehouse),
        period="2024-01-01..2025-12-31",
        stratifiers=("hospital", "department", "practitioner", "race"),
        actor=None,
    )
    assert (refresh.status, refresh.error) == ("succeeded", "")
    registered = set(Measure.objects.values_list("measure_id", flat=True))
    assert {info.id for info in analytics.list_measures()} == registered
    assert set(Measure.objects.filter(is_headline=True).values_list("measure_id", flat=True)) == set(
        services.HEADLINE_MEASURES
    )
    mortality = Measure.objects.get(measure_id="in-hospital-mortality")
    months = MeasureResult.objects.filter(measure=mortality, grain="month", dimension="all").count()
    assert months == 24
    assert set(MeasureResult.objects.filter(measure=mortality).values_list("dimension", flat=True)) == {
        "all",
        "hospital",
        "department",
        "practitioner",
        "race",
    }
    hospital_rows = MeasureResult.objects.filter(measure=mortality, dimension="hospital", grain="year")
    assert all(row.parent_key == "all" and row.stratum_label != row.stratum_key for row in hospital_rows)
    departments = MeasureResult.objects.filter(measure=mortality, dimension="department", grain="year")
    assert set(departments.values_list("parent_key", flat=True)) <= set(
        hospital_rows.values_list("stratum_key", flat=True)
    )
    yearly = MeasureResult.objects.get(
        measure=mortality, dimension="all", grain="year", period_start=dt.date(2025, 1, 1)
    )
    assert yearly.rate == pytest.approx(yearly.numerator / yearly.denominator)
    assert 0 < yearly.rate < 0.2
    not_calculable = MeasureResult.objects.filter(calculable=False).first()
    assert not_calculable is not None and not_calculable.rate is None and "at least 11" in not_calculable.reason
    assert refresh.result_count == MeasureResult.objects.count()
    assert AuditEvent.objects.filter(action="measure_refresh.finish", object_id=str(refresh.pk)).count() == 1


def test_a_failed_refresh_is_recorded_and_keeps_the_stored_results(db, small_warehouse, tmp_path):
    services.do_refresh_measures(
        warehouse=str(small_warehouse), period="2024-01-01..2025-12-31", stratifiers=(), actor=None
    )
    stored = MeasureResult.objects.count()
    with pytest.raises(analytics.NoDataError, match="no warehouse at"):
        services.do_refresh_measures(warehouse=str(tmp_path / "missing.duckdb"), period="2024", actor=None)
    failed = MeasureRefresh.objects.order_by("-pk").first()
    assert failed is not None and failed.status == "failed" and "no warehouse at" in failed.error
    assert MeasureResult.objects.count() == stored
