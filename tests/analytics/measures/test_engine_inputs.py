import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from ibis.backends import BaseBackend

from medgov.analytics import api
from medgov.analytics.measures import engine, fhir, registry
from medgov.analytics.measures.spec import Period
from tests.fixtures import hospital

PERIOD = Period(hospital.PERIOD_START, hospital.PERIOD_END)


def test_an_unknown_measure_id_names_the_known_ones() -> None:
    with pytest.raises(
        registry.UnknownMeasureError, match=r"unknown measure 'readmision'; known measures: .*readmission-30-day"
    ):
        registry.get("readmision")


def test_an_unknown_dimension_names_the_valid_ones(hospital_backend: BaseBackend) -> None:
    with pytest.raises(engine.UnknownDimensionError, match=r"unknown dimension 'ward'; dimensions are: hospital, "):
        engine.evaluate(hospital_backend, [registry.get("in-hospital-mortality")], PERIOD, stratifiers=["ward"])


def test_an_unknown_grain_names_the_valid_ones(hospital_backend: BaseBackend) -> None:
    with pytest.raises(engine.UnknownDimensionError, match=r"unknown time grain 'week'; grains are: period, month"):
        engine.evaluate(hospital_backend, [registry.get("in-hospital-mortality")], PERIOD, grains=["week"])


def test_a_period_without_data_says_where_the_data_is(hospital_backend: BaseBackend) -> None:
    with pytest.raises(
        engine.NoDataError,
        match=r"no data for period 2030-01-01..2030-12-31: the warehouse's encounters run from 2024-12-20 to 2026-02-20",
    ):
        engine.evaluate(hospital_backend, [registry.get("in-hospital-mortality")], Period.parse("2030"))


def test_a_small_stratum_is_not_calculable_rather_than_zero_or_one_hundred_percent(
    hospital_backend: BaseBackend,
) -> None:
    [evaluation] = engine.evaluate(hospital_backend, [registry.get("in-hospital-mortality-stroke")], PERIOD,
                                   stratifiers=["payer"])  # fmt: skip
    small = evaluation.results[evaluation.results["stratum"] == "private"].iloc[0]
    assert small["status"] == "not calculable"
    assert (pd.isna(small["score"]), pd.isna(small["score_lower"]), pd.isna(small["oe_ratio"])) == (True, True, True)
    assert small["reason"].endswith("cases in the denominator; at least 11 are needed")


def test_results_have_one_row_per_grain_bucket_and_stratum(hospital_backend: BaseBackend) -> None:
    [evaluation] = engine.evaluate(hospital_backend, [registry.get("readmission-30-day")], PERIOD,
                                   grains=["period", "quarter"], stratifiers=["practitioner", "hospital+unit"])  # fmt: skip
    keys = evaluation.results[["grain", "period_start", "stratifier", "stratum"]]
    assert not keys.duplicated().any()
    quarters = evaluation.results[(evaluation.results["grain"] == "quarter") & (evaluation.results["stratifier"] == "")]
    assert quarters["period_start"].tolist() == [
        dt.date(2025, 1, 1),
        dt.date(2025, 4, 1),
        dt.date(2025, 7, 1),
        dt.date(2025, 10, 1),
    ]
    overall = evaluation.results[(evaluation.results["grain"] == "period") & (evaluation.results["stratifier"] == "")]
    assert quarters["initial_population"].sum() == overall["initial_population"].iloc[0]


def test_measure_report_carries_populations_strata_and_subject_lists(hospital_backend: BaseBackend) -> None:
    [evaluation] = engine.evaluate(hospital_backend, [registry.get("in-hospital-mortality")], PERIOD,
                                   stratifiers=["practitioner"])  # fmt: skip
    [report] = fhir.measure_reports(evaluation, subject_lists=True)
    overall = evaluation.results[evaluation.results["stratifier"] == ""].iloc[0]
    counts = {item["code"]["coding"][0]["code"]: item["count"] for item in report["group"][0]["population"]}
    assert counts["initial-population"] == overall["initial_population"]
    assert counts["numerator"] == overall["numerator"]
    assert report["type"] == "subject-list"
    numerator_list = next(item for item in report["contained"] if item["id"] == "numerator-list")
    assert len(numerator_list["entry"]) == overall["numerator"]
    assert [item["value"]["text"] for item in report["group"][0]["stratifier"][0]["stratum"]] == [
        "pr-1",
        "pr-2",
        "pr-3",
    ]


def test_facade_runs_on_a_warehouse_file_and_returns_storable_rows(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(path))
    hospital.load(connection)
    connection.close()
    run = api.run_measures(path, "2025", ["in-hospital-mortality", "length-of-stay"], stratifiers=["unit"])
    assert run.results.schema == api.RESULT_SCHEMA
    assert run.results.num_rows == 2 * (1 + 3)
    assert [model.measure_id for model in run.models] == ["in-hospital-mortality", "length-of-stay"]
    assert [report["measure"] for report in run.measure_reports] == [
        "urn:medgov:measure/in-hospital-mortality|1.0.0",
        "urn:medgov:measure/length-of-stay|1.0.0",
    ]


def test_facade_reports_a_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(api.NoDataError, match="no warehouse at"):
        api.run_measures(tmp_path / "none.duckdb", "2025")
