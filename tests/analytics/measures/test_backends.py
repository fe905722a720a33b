"""The same measures give identical results on DuckDB and on PySpark (local mode) over the same warehouse."""

import os

import duckdb
import ibis
import pandas as pd
import pytest

from medgov.analytics.measures import engine, registry
from medgov.analytics.measures.spec import Period
from tests.fixtures import hospital
from tests.fixtures.warehouse import SCHEMA, arrow_table

MEASURES = ("readmission-30-day", "in-hospital-mortality")


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_duckdb_and_pyspark_give_identical_results() -> None:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    rows = hospital.build()
    connection = duckdb.connect()
    hospital.load(connection, rows)
    specs = [registry.get(name) for name in MEASURES]
    period = Period(hospital.PERIOD_START, hospital.PERIOD_END)
    on_duckdb = engine.evaluate(
        ibis.duckdb.from_connection(connection), specs, period, stratifiers=["practitioner", "sex"]
    )

    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        spark = ibis.pyspark.connect(session)
        for name in SCHEMA:
            table = arrow_table(name, rows.get(name, []))
            spark.create_view(name, ibis.memtable(table), overwrite=True)
        on_spark = engine.evaluate(spark, specs, period, stratifiers=["practitioner", "sex"])
    finally:
        session.stop()
    for left, right in zip(on_duckdb, on_spark, strict=True):
        pd.testing.assert_frame_equal(left.results, right.results, check_exact=False, rtol=1e-9)
        assert left.results[["initial_population", "denominator_exclusion", "numerator"]].equals(
            right.results[["initial_population", "denominator_exclusion", "numerator"]]
        )
