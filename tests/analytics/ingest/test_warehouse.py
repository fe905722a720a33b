from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from medgov.analytics import api
from medgov.analytics.contracts import LoadReport
from medgov.analytics.warehouse import connection
from medgov.analytics.warehouse.materialise import TABLE_NAMES
from tests.anchors import ANCHORS, REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "ingest" / "hospital"
WAREHOUSE_DOC = REPO_ROOT / "docs" / "warehouse.md"


def documented_columns() -> dict[str, list[str]]:
    """The canonical tables' columns as docs/warehouse.md lists them (the contract, read from the document)."""
    tables: dict[str, list[str]] = {}
    for line in WAREHOUSE_DOC.read_text().splitlines():
        match = re.fullmatch(r"\| (\w+) \| (.+) \|", line)
        if match and match.group(1) not in {"table"}:
            tables[match.group(1)] = [item.split()[0] for item in match.group(2).split(", ")]
    return tables


@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LoadReport]:
    warehouse = tmp_path_factory.mktemp("hospital") / "warehouse.duckdb"
    return warehouse, api.ingest([FIXTURE], warehouse)


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_every_documented_table_is_materialised_with_its_documented_columns(hospital: tuple[Path, LoadReport]) -> None:
    warehouse, _ = hospital
    documented = documented_columns()

    actual = {
        name: [column for (column,) in query(warehouse, f"SELECT column_name FROM (DESCRIBE {name})")]
        for name in TABLE_NAMES
    }

    assert sorted(documented) == sorted(TABLE_NAMES)
    assert actual == documented


@pytest.mark.parametrize(
    ("table", "column", "type_"),
    [
        ("encounter", "period_start", "TIMESTAMP"),
        ("encounter", "length_of_stay_days", "INTEGER"),
        ("patient", "birth_date", "DATE"),
        ("patient", "deceased_datetime", "TIMESTAMP"),
        ("condition", "recorded_date", "DATE"),
        ("observation", "value_number", "DOUBLE"),
        ("medication_request", "do_not_perform", "BOOLEAN"),
        ("encounter_diagnosis", "is_principal", "BOOLEAN"),
        ("encounter_diagnosis", "rank", "INTEGER"),
        ("coverage", "period_start", "TIMESTAMP"),
    ],
)
def test_columns_have_warehouse_types(hospital: tuple[Path, LoadReport], table: str, column: str, type_: str) -> None:
    warehouse, _ = hospital

    assert query(warehouse, f"SELECT column_type FROM (DESCRIBE {table}) WHERE column_name = '{column}'") == [(type_,)]


def test_fixture_loads_every_resource(hospital: tuple[Path, LoadReport]) -> None:
    _, report = hospital

    assert (report.files, report.totals.read, report.totals.new, report.totals.quarantined) == (12, 25, 25, 0)
    assert dict(report.tables) == {
        "organization": 3,
        "location": 2,
        "practitioner": 2,
        "practitioner_role": 1,
        "patient": 2,
        "coverage": 1,
        "condition": 2,
        "encounter": 3,
        "encounter_diagnosis": 2,
        "procedure": 2,
        "observation": 4,
        "medication_request": 2,
        "medication_administration": 2,
    }


def test_encounter_rows(hospital: tuple[Path, LoadReport]) -> None:
    warehouse, _ = hospital

    assert query(warehouse, "SELECT * FROM encounter ORDER BY id") == [
        (
            "enc-1", "pat-1", "finished", "IMP", "http://snomed.info/sct", "32485007", "cardiology", "Cardiology",
            "EM", datetime(2024, 3, 1, 22, 15), datetime(2024, 3, 5, 10, 0), 4, "emd",
            "http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "hosp-1", "unit-5w", "pr-1",
            None, "dept-cardio",
        ),
        (
            "enc-1-icu", "pat-1", "finished", "IMP", None, None, None, None, None, datetime(2024, 3, 2, 3, 0),
            datetime(2024, 3, 3, 15, 30), 1, None, None, None, "hosp-1", "unit-icu", None, "enc-1", "dept-cardio",
        ),
        (
            # 08:00 at UTC-4 is 12:00 UTC; no end yet, so no length of stay.
            "enc-2", "pat-2", "in-progress", "EMER", None, None, None, None, None, datetime(2024, 6, 10, 12, 0),
            None, None, None, None, None, "hosp-1", None, None, None, None,
        ),
    ]  # fmt: skip


def test_encounter_diagnosis_rows(hospital: tuple[Path, LoadReport]) -> None:
    warehouse, _ = hospital

    assert query(warehouse, "SELECT * FROM encounter_diagnosis ORDER BY rank") == [
        ("enc-1", "cond-1", 1, "DD", "http://hl7.org/fhir/sid/icd-10-cm", "I21.4", True),
        ("enc-1", "cond-2", 2, "DD", "http://hl7.org/fhir/sid/icd-10-cm", "N39.0", False),
    ]


def test_observation_components_become_rows_with_the_panel_code(hospital: tuple[Path, LoadReport]) -> None:
    warehouse, _ = hospital

    assert query(
        warehouse,
        "SELECT id, code, value_number, value_unit, value_code, panel_code, effective_datetime"
        " FROM observation ORDER BY id, code",
    ) == [
        ("obs-bp", "8462-4", 91.0, "mm[Hg]", None, "85354-9", datetime(2024, 3, 2, 8, 0)),
        ("obs-bp", "8480-6", 142.0, "mm[Hg]", None, "85354-9", datetime(2024, 3, 2, 8, 0)),
        ("obs-glucose", "2339-0", 38.5, "mg/dL", None, None, datetime(2024, 3, 3, 6, 0)),
        ("obs-smoking", "72166-2", None, None, "266919005", None, datetime(2024, 6, 10, 12, 5)),
    ]


def test_patient_rows(hospital: tuple[Path, LoadReport]) -> None:
    warehouse, _ = hospital

    assert query(warehouse, "SELECT * FROM patient ORDER BY id") == [
        (
            "pat-1", "MRN-0001", date(1950, 4, 2), datetime(2024, 3, 9, 11, 30), "female",
            "urn:oid:2.16.840.1.113883.6.238", "2106-3", "White", "urn:oid:2.16.840.1.113883.6.238", "2186-5",
            "Not Hispanic or Latino", "en", "02139", "hosp-1",
        ),
        # A birth year alone is kept as the first of January of that year.
        ("pat-2", None, date(1988, 1, 1), None, "male", None, None, None, None, None, None, None, None, None),
    ]  # fmt: skip


def test_procedures_and_administrations_take_their_period_or_instant(hospital: tuple[Path, LoadReport]) -> None:
    warehouse, _ = hospital

    assert query(warehouse, "SELECT id, performed_start, performed_end FROM procedure ORDER BY id") == [
        ("proc-1", datetime(2024, 3, 2, 4, 0), datetime(2024, 3, 4, 12, 0)),
        ("proc-2", datetime(2024, 3, 2, 11, 0), datetime(2024, 3, 2, 11, 0)),
    ]
    assert query(warehouse, "SELECT id, effective_start, effective_end FROM medication_administration ORDER BY id") == [
        ("ma-1", datetime(2024, 3, 2, 10, 0), datetime(2024, 3, 2, 10, 0)),
        ("ma-2", datetime(2024, 3, 2, 3, 30), datetime(2024, 3, 2, 15, 30)),
    ]


def test_structure_tables_rows(hospital: tuple[Path, LoadReport]) -> None:
    warehouse, _ = hospital

    assert query(warehouse, "SELECT * FROM organization ORDER BY id") == [
        ("dept-cardio", "Cardiology", "dept", "hosp-1"),
        ("hosp-1", "St Example Hospital", "prov", None),
        ("payer-medicare", "Medicare", "pay", None),
    ]
    assert query(warehouse, "SELECT * FROM location ORDER BY id") == [
        ("unit-5w", "5 West", None, "wa", "dept-cardio", None),
        ("unit-icu", "Cardiac ICU", "ICU", "wa", "dept-cardio", None),
    ]
    assert query(warehouse, "SELECT * FROM practitioner ORDER BY id") == [
        ("pr-1", "1234567893", "Okafor", "Ada N", "Ada N Okafor", "female"),
        ("pr-2", None, "Lind", "Sven", "Sven Lind", "male"),
    ]
    assert query(warehouse, "SELECT * FROM coverage") == [
        ("cov-1", "pat-1", "payer-medicare", "https://nahdo.org/sopt", "1", "MEDICARE", datetime(2015, 4, 1), None)
    ]
    assert query(
        warehouse, "SELECT id, requester_id, authored_on, do_not_perform FROM medication_request ORDER BY id"
    ) == [
        ("mr-1", "pr-1", datetime(2024, 3, 2), False),
        ("mr-2", "role-1", datetime(2024, 3, 2, 9, 30), True),
    ]


def test_synthea_tables_join_on_resolved_references(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    api.ingest([ANCHORS / "synthea" / "smart-r4-synthea"], warehouse)

    assert query(warehouse, "SELECT class_code, count(*) FROM encounter GROUP BY ALL ORDER BY ALL") == [
        ("AMB", 1522),
        ("EMER", 97),
        ("IMP", 96),
    ]
    assert query(
        warehouse,
        "SELECT count(*) FROM encounter e JOIN patient p ON p.id = e.patient_id JOIN organization o ON o.id = e.hospital_id",
    ) == [(1715,)]
    assert query(warehouse, "SELECT count(*) FROM patient WHERE deceased_datetime IS NOT NULL") == [(11,)]
    assert query(warehouse, "SELECT max(length_of_stay_days) FROM encounter WHERE class_code = 'IMP'") == [(4,)]


def test_the_memory_limit_is_the_configured_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(connection.MEMORY_LIMIT_ENV, raising=False)
    with connection.connect(tmp_path / "default.duckdb") as default:
        assert default.execute("SELECT current_setting('memory_limit')").fetchall() == [("1.8 GiB",)]
    monkeypatch.setenv(connection.MEMORY_LIMIT_ENV, "512MiB")
    with connection.connect(tmp_path / "configured.duckdb") as configured:
        assert configured.execute("SELECT current_setting('memory_limit')").fetchall() == [("512.0 MiB",)]


def test_a_memory_limit_that_is_not_a_size_is_refused_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(connection.MEMORY_LIMIT_ENV, "lots")

    with pytest.raises(ValueError, match=r"MEDGOV_WAREHOUSE_MEMORY_LIMIT .* not 'lots'"):
        connection.connect(tmp_path / "warehouse.duckdb")


def _tables(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {name: query(warehouse, f"SELECT * FROM {name} ORDER BY ALL") for name in (*TABLE_NAMES, "quarantine")} | {
        "raw_resource": query(warehouse, "SELECT * EXCLUDE (content_hash) FROM raw_resource ORDER BY ALL")
    }


def test_resources_are_stored_zstandard_compressed_with_their_hash(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    api.ingest([FIXTURE], warehouse)
    with duckdb.connect(str(warehouse)) as opened:
        opened.execute("CHECKPOINT")
        compressions = opened.execute(
            """
            SELECT DISTINCT compression FROM pragma_storage_info('raw_resource')
            WHERE column_name = 'resource' AND segment_type = 'JSON'
            """
        ).fetchall()
        mismatched = opened.execute("SELECT count(*) FROM raw_resource WHERE content_hash <> hash(resource)").fetchall()

    assert compressions == [("ZSTD",)]
    assert mismatched == [(0,)]


def test_a_warehouse_of_the_earlier_form_is_rebuilt_once_and_reloads_unchanged(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    api.ingest([FIXTURE], warehouse)
    before = _tables(warehouse)
    # The earlier form: MD5 content hashes in text, the resources compressed by DuckDB's default, no probe.
    with duckdb.connect(str(warehouse)) as opened:
        opened.execute("ALTER TABLE raw_resource RENAME TO raw_resource_current")
        opened.execute(
            """
            CREATE TABLE raw_resource AS
            SELECT resource_type, id, version_id, last_updated, md5(resource) AS content_hash, resource, source_file,
                   source_line, source_entry, load_id
            FROM raw_resource_current
            """
        )
        opened.execute("DROP TABLE raw_resource_current")
        opened.execute("DROP TABLE content_hash_probe")

    connection.connect(warehouse).close()

    assert query(warehouse, "SELECT data_type FROM duckdb_columns() WHERE column_name = 'content_hash'") == [
        ("UBIGINT",)
    ]
    assert (
        "USING COMPRESSION ZSTD"
        in query(warehouse, "SELECT sql FROM duckdb_tables() WHERE table_name = 'raw_resource'")[0][0]
    )
    assert _tables(warehouse) == before
    again = api.ingest([FIXTURE], warehouse)
    assert (again.totals.read, again.totals.unchanged) == (25, 25)
    assert _tables(warehouse) == before


def test_hashes_made_by_a_duckdb_that_hashes_otherwise_are_made_again(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    api.ingest([FIXTURE], warehouse)
    with duckdb.connect(str(warehouse)) as opened:
        opened.execute("UPDATE raw_resource SET content_hash = content_hash + 1")
        opened.execute("UPDATE content_hash_probe SET probe_hash = probe_hash + 1")

    again = api.ingest([FIXTURE], warehouse)

    assert (again.totals.read, again.totals.unchanged, again.totals.replaced) == (25, 25, 0)
    assert query(warehouse, "SELECT count(*) FROM raw_resource WHERE content_hash <> hash(resource)") == [(0,)]
    assert query(
        warehouse, f"SELECT probe_hash = hash('{connection.CONTENT_HASH_PROBE}'::JSON) FROM content_hash_probe"
    ) == [(True,)]
