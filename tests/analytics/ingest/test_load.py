from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from medgov.analytics import api
from medgov.analytics.contracts import LoadReport, ResourceTypeCounts
from medgov.analytics.ingest import landing, load, readers
from medgov.analytics.warehouse.materialise import TABLE_NAMES
from tests.anchors import ANCHORS, REPO_ROOT

SYNTHEA = ANCHORS / "synthea" / "smart-r4-synthea"
ECQM_TESTS = ANCHORS / "ecqm" / "qicore-2024" / "tests"


def rows(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in a stable order; load_id and quarantine's load_id are bookkeeping, not content."""
    tables = {
        "raw_resource": "SELECT * EXCLUDE (load_id) FROM raw_resource ORDER BY resource_type, id",
        "quarantine": "SELECT * EXCLUDE (load_id) FROM quarantine ORDER BY ALL",
    }
    tables.update({name: f"SELECT * FROM {name} ORDER BY ALL" for name in TABLE_NAMES})
    return {name: rows(warehouse, sql) for name, sql in tables.items()}


def write_ndjson(path: Path, values: list[Any]) -> Path:
    path.write_text("".join(json.dumps(value) + "\n" for value in values))
    return path


def synthea_entries() -> list[dict[str, Any]]:
    """Every entry's resource of the Synthea sample in load order (files sorted by name)."""
    resources = []
    for path in sorted(SYNTHEA.glob("*.json")):
        bundle = json.loads(path.read_text())
        resources.extend(entry["resource"] for entry in bundle["entry"])
    return resources


@pytest.fixture(params=["duckdb-reader", "python-reader"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with NDJSON read by DuckDB (whatever the file's size) and by the Python readers."""
    if request.param == "python-reader":
        monkeypatch.setattr(landing, "_lines_are_the_files_lines", lambda source, **counted: False)
    return str(request.param)


@pytest.fixture(scope="module")
def synthea_load(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LoadReport]:
    warehouse = tmp_path_factory.mktemp("synthea") / "warehouse.duckdb"
    report = api.ingest([SYNTHEA], warehouse)
    return warehouse, report


def test_all_synthea_resources_land_and_the_report_counts_them(synthea_load: tuple[Path, LoadReport]) -> None:
    warehouse, report = synthea_load
    entries = synthea_entries()
    # The oracle replays the documented rule: first sight is new, identical content again is unchanged,
    # different content without version metadata replaces (the later export wins).
    expected: dict[str, Counter[str]] = {}
    last_seen: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in entries:
        key = (resource["resourceType"], resource["id"])
        outcome = "new" if key not in last_seen else "unchanged" if last_seen[key] == resource else "replaced"
        expected.setdefault(resource["resourceType"], Counter())[outcome] += 1
        last_seen[key] = resource

    assert report.files == 62
    assert report.totals == ResourceTypeCounts(
        read=18350, new=18140, replaced=106, unchanged=104, stale=0, quarantined=0
    )
    assert dict(report.by_resource_type) == {
        name: ResourceTypeCounts(
            read=sum(outcomes.values()),
            new=outcomes["new"],
            replaced=outcomes["replaced"],
            unchanged=outcomes["unchanged"],
        )
        for name, outcomes in sorted(expected.items())
    }
    assert report.quarantine_reasons == {}
    landed = set(rows(warehouse, "SELECT resource_type, id FROM raw_resource"))
    assert landed == set(last_seen)
    assert rows(warehouse, "SELECT count(*) FROM quarantine") == [(0,)]


def test_synthea_references_are_resolved_to_type_and_id(synthea_load: tuple[Path, LoadReport]) -> None:
    warehouse, _ = synthea_load

    assert rows(warehouse, "SELECT count(*) FROM raw_resource WHERE contains(resource::VARCHAR, 'urn:uuid:')") == [(0,)]
    assert rows(
        warehouse,
        """
        SELECT count(*) FROM raw_resource AS e
        JOIN raw_resource AS p ON p.resource_type = 'Patient' AND 'Patient/' || p.id = e.resource->>'$.subject.reference'
        WHERE e.resource_type = 'Encounter'
        """,
    ) == [(1715,)]


def test_synthea_load_is_logged(synthea_load: tuple[Path, LoadReport]) -> None:
    warehouse, report = synthea_load

    info = api.warehouse_info(warehouse)

    assert info.last_load is not None
    assert (info.last_load.load_id, info.last_load.files, info.last_load.read, info.last_load.new) == (
        report.load_id,
        62,
        18350,
        18140,
    )
    assert info.raw_resources["Observation"] == 8585
    assert info.quarantined == 0


def test_loading_the_same_files_twice_leaves_the_tables_identical(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    sources = [
        SYNTHEA / "Abdul_Koepp_e925b0f3-8006-43f6-aa31-94bd215e55e7.json",
        ECQM_TESTS / "CMS108VTEProphylaxisFHIR",
    ]
    first = api.ingest(sources, warehouse)
    before = snapshot(warehouse)

    second = api.ingest(sources, warehouse)

    assert snapshot(warehouse) == before
    assert second.load_id == first.load_id + 1
    assert (second.totals.read, second.totals.new, second.totals.stale, second.totals.quarantined) == (
        first.totals.read,
        0,
        0,
        0,
    )
    # The CMS108 cases reuse resource ids with different content; replaying them flips the same rows again.
    assert second.totals.unchanged + second.totals.replaced == first.totals.read


def test_a_newer_version_replaces_and_an_older_one_does_not(tmp_path: Path, reader: str) -> None:
    warehouse = tmp_path / "warehouse.duckdb"

    def export(name: str, version: str, last_updated: str, gender: str) -> Path:
        resource = {
            "resourceType": "Patient",
            "id": "p1",
            "meta": {"versionId": version, "lastUpdated": last_updated},
            "gender": gender,
        }
        return write_ndjson(tmp_path / name, [resource])

    version_1 = export("v1.ndjson", "1", "2024-01-01T00:00:00Z", "unknown")
    version_2 = export("v2.ndjson", "2", "2024-02-01T00:00:00+01:00", "female")

    first = api.ingest([version_1], warehouse)
    second = api.ingest([version_2], warehouse)
    third = api.ingest([version_1], warehouse)

    assert first.by_resource_type["Patient"] == ResourceTypeCounts(read=1, new=1)
    assert second.by_resource_type["Patient"] == ResourceTypeCounts(read=1, replaced=1)
    assert third.by_resource_type["Patient"] == ResourceTypeCounts(read=1, stale=1)
    assert rows(warehouse, "SELECT id, version_id, last_updated::VARCHAR, resource->>'$.gender' FROM raw_resource") == [
        ("p1", "2", "2024-01-31 23:00:00", "female")
    ]
    assert rows(warehouse, "SELECT id, sex FROM patient") == [("p1", "female")]


def test_versions_in_one_load_apply_in_order_and_the_newest_wins(tmp_path: Path, reader: str) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    versions = [
        {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "2"}, "gender": "female"},
        {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "10"}, "gender": "male"},
        {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "3"}, "gender": "other"},
        {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "10"}, "gender": "male"},
    ]
    path = write_ndjson(tmp_path / "Patient.ndjson", versions)

    report = api.ingest([path], warehouse, chunk_size=2)

    assert report.by_resource_type["Patient"] == ResourceTypeCounts(read=4, new=1, replaced=1, stale=1, unchanged=1)
    assert rows(warehouse, "SELECT version_id, resource->>'$.gender', source_line FROM raw_resource") == [
        ("10", "male", 2)
    ]


def test_bad_records_are_quarantined_and_the_good_ones_around_them_land(tmp_path: Path, reader: str) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    lines = tmp_path / "Patient.ndjson"
    lines.write_text(
        '{"resourceType":"Patient","id":"p1"}\n'
        "this is not JSON\n"
        '{"resourceType":"Patient","id":"p2"}\n'
        '{"resourceType":"Patient","id":"p3","gend'
    )
    bundle = tmp_path / "bundle.json"
    bundle.write_text(
        json.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {
                        "fullUrl": "urn:uuid:e1",
                        "resource": {"resourceType": "Encounter", "id": "e1", "subject": {"reference": "urn:uuid:p1"}},
                    },
                    {
                        "fullUrl": "urn:uuid:e2",
                        "resource": {"resourceType": "Encounter", "id": "e2", "subject": {"reference": "urn:uuid:e1"}},
                    },
                ],
            }
        )
    )

    report = api.ingest([lines, bundle], warehouse)

    assert dict(report.by_resource_type) == {
        "(unknown)": ResourceTypeCounts(read=2, quarantined=2),
        "Encounter": ResourceTypeCounts(read=2, new=1, quarantined=1),
        "Patient": ResourceTypeCounts(read=2, new=2),
    }
    assert report.quarantine_reasons == {"malformed_json": 1, "truncated": 1, "unresolved_reference": 1}
    assert rows(warehouse, "SELECT resource_type, id FROM raw_resource ORDER BY ALL") == [
        ("Encounter", "e2"),
        ("Patient", "p1"),
        ("Patient", "p2"),
    ]
    assert rows(
        warehouse,
        "SELECT source_file, source_line, source_entry, resource_type, resource_id, reason, detail, raw_text"
        " FROM quarantine ORDER BY source_file, source_line",
    ) == [
        (
            str(lines),
            2,
            None,
            None,
            None,
            "malformed_json",
            "line is not valid JSON (invalid literal, expected 'true': line 1 column 1 (char 0))",
            "this is not JSON",
        ),
        (
            str(lines),
            4,
            None,
            None,
            None,
            "truncated",
            "the last line ends before its JSON value does (unexpected end of data: line 1 column 42 (char 41))",
            '{"resourceType":"Patient","id":"p3","gend',
        ),
        (
            str(bundle),
            1,
            0,
            "Encounter",
            "e1",
            "unresolved_reference",
            "reference urn:uuid:p1 names no entry in the bundle",
            '{"resourceType":"Encounter","id":"e1","subject":{"reference":"urn:uuid:p1"}}',
        ),
    ]


def test_reloading_a_fixed_file_clears_its_quarantine(tmp_path: Path, reader: str) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    path = tmp_path / "Patient.ndjson"
    path.write_text('{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient"}\n')
    api.ingest([path], warehouse)
    api.ingest([path], warehouse)
    assert rows(warehouse, "SELECT count(*) FROM quarantine") == [(1,)]

    path.write_text('{"resourceType":"Patient","id":"p1"}\n{"resourceType":"Patient","id":"p2"}\n')
    api.ingest([path], warehouse)

    assert rows(warehouse, "SELECT count(*) FROM quarantine") == [(0,)]
    assert rows(warehouse, "SELECT id FROM raw_resource ORDER BY id") == [("p1",), ("p2",)]


def test_a_failure_half_way_leaves_the_warehouse_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    first = write_ndjson(tmp_path / "first.ndjson", [{"resourceType": "Patient", "id": f"a{i}"} for i in range(5)])
    api.ingest([first], warehouse)
    before = snapshot(warehouse)
    log_before = rows(warehouse, "SELECT * FROM load_log")

    second = write_ndjson(
        tmp_path / "second.ndjson",
        [{"resourceType": "Patient", "id": f"a{i}", "gender": "male"} for i in range(5)]
        + [{"resourceType": "Patient", "id": f"b{i}"} for i in range(5)]
        + [{"resourceType": "Patient"}],
    )
    landed_before_failure: list[int] = []

    def failing_quarantine(connection: duckdb.DuckDBPyConnection, load_id: int, files: Any) -> None:
        landed_before_failure.append(connection.execute("SELECT count(*) FROM raw_resource").fetchall()[0][0])
        raise OSError("disk full (injected)")

    monkeypatch.setattr(landing, "land_quarantine", failing_quarantine)

    with pytest.raises(OSError, match="injected"):
        api.ingest([second], warehouse, chunk_size=3)

    # The resources were merged (5 replaced, 5 added) when the failure came; none of it stays.
    assert landed_before_failure == [10]
    assert snapshot(warehouse) == before
    assert rows(warehouse, "SELECT * FROM load_log") == log_before


def test_a_file_duckdb_fails_to_read_is_loaded_again_by_the_python_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encounters = write_ndjson(
        tmp_path / "Encounter.ndjson",
        [{"resourceType": "Encounter", "id": f"e{i}", "subject": {"reference": "Patient/p0"}} for i in range(3)],
    )
    patients = write_ndjson(
        tmp_path / "Patient.ndjson", [{"resourceType": "Patient", "id": f"p{i}"} for i in range(4)] + [{"id": "x"}]
    )
    expected = tmp_path / "python.duckdb"
    with monkeypatch.context() as python_only:
        python_only.setattr(landing, "_lines_are_the_files_lines", lambda source, **counted: False)
        api.ingest([encounters, patients], expected)
    # The statement for Patient.ndjson fails (as it would were the file cut short after the scan), which aborts
    # the transaction after Encounter.ndjson has landed.
    failing = (
        landing._STAGE_NDJSON_SQL.rstrip()
        + " WHERE CASE WHEN $path LIKE '%Patient.ndjson' THEN error('injected') ELSE true END"
    )
    monkeypatch.setattr(landing, "_STAGE_NDJSON_SQL", failing)
    failed: list[str] = []
    stage_ndjson = landing.Lander._stage_ndjson

    def recording_stage_ndjson(lander: landing.Lander, source: Any, file_index: int) -> bool:
        try:
            return stage_ndjson(lander, source, file_index)
        except landing.ReadByPythonInstead:
            failed.append(source.path.name)
            raise

    monkeypatch.setattr(landing.Lander, "_stage_ndjson", recording_stage_ndjson)
    warehouse = tmp_path / "warehouse.duckdb"

    report = api.ingest([encounters, patients], warehouse)

    assert report.load_id == 1
    assert report.by_resource_type["Encounter"] == ResourceTypeCounts(read=3, new=3)
    assert report.by_resource_type["Patient"] == ResourceTypeCounts(read=4, new=4)
    assert report.quarantine_reasons == {"missing_resource_type": 1}
    assert snapshot(warehouse) == snapshot(expected)
    assert rows(warehouse, "SELECT load_id, read FROM load_log") == [(1, 8)]
    assert failed == ["Patient.ndjson"]


def test_the_same_content_is_unchanged_whatever_its_whitespace_or_form(tmp_path: Path, reader: str) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    resource = {"resourceType": "Patient", "id": "a", "gender": "female", "extension": [{"valueDecimal": 7.2}]}
    compact = write_ndjson(tmp_path / "a.ndjson", [resource])
    spaced = tmp_path / "b.ndjson"
    spaced.write_text(json.dumps(resource, separators=(" , ", " : ")).replace("7.2", "7.20") + "\n")
    pretty = tmp_path / "c.json"
    pretty.write_text(json.dumps({"resourceType": "Bundle", "entry": [{"resource": resource}]}, indent=4))

    reports = [api.ingest([path], warehouse) for path in (compact, spaced, pretty)]

    assert [report.by_resource_type["Patient"] for report in reports] == [
        ResourceTypeCounts(read=1, new=1),
        ResourceTypeCounts(read=1, unchanged=1),
        ResourceTypeCounts(read=1, unchanged=1),
    ]


def test_ecqm_test_case_resources_load(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    files = sorted(ECQM_TESTS.rglob("*.json"))
    by_type = Counter(json.loads(path.read_text())["resourceType"] for path in files)

    report = api.ingest([ECQM_TESTS], warehouse)

    assert report.files == len(files) == 2906
    assert {name: counts.read for name, counts in report.by_resource_type.items()} == dict(sorted(by_type.items()))
    assert report.totals.quarantined == 0
    assert report.totals.read == report.totals.new + report.totals.replaced + report.totals.unchanged
    keys = {(resource["resourceType"], resource["id"]) for resource in map(json.loads, map(Path.read_text, files))}
    assert rows(warehouse, "SELECT count(*) FROM raw_resource") == [(len(keys),)]


HOSPITAL = REPO_ROOT / "tests" / "fixtures" / "ingest" / "hospital"


def moved_unit(tmp_path: Path) -> Path:
    """The 5 West unit managed by the hospital itself, as a newer version of the fixture's Location."""
    unit = {
        "resourceType": "Location",
        "id": "unit-5w",
        "meta": {"versionId": "2"},
        "name": "5 West",
        "physicalType": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]
        },
        "managingOrganization": {"reference": "Organization/hosp-1"},
    }
    return write_ndjson(tmp_path / "Location.ndjson", [unit])


def test_a_load_rebuilds_only_the_tables_its_resource_types_reach(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    first_seconds: dict[str, float] = {}
    load.ingest([HOSPITAL], warehouse, table_seconds=first_seconds)
    update = moved_unit(tmp_path)
    update_seconds: dict[str, float] = {}

    report = load.ingest([update], warehouse, table_seconds=update_seconds)

    assert sorted(first_seconds) == sorted(TABLE_NAMES)
    # encounter joins location for its department, so it follows the unit's move.
    assert sorted(update_seconds) == ["encounter", "location"]
    assert rows(warehouse, "SELECT DISTINCT department_id FROM encounter WHERE location_id = 'unit-5w'") == [
        ("hosp-1",)
    ]
    assert report.tables == {name: len(rows(warehouse, f"SELECT * FROM {name}")) for name in TABLE_NAMES}
    rebuilt_whole = tmp_path / "rebuilt_whole.duckdb"
    load.ingest([HOSPITAL, update], rebuilt_whole)
    assert {name: rows(warehouse, f"SELECT * FROM {name} ORDER BY ALL") for name in TABLE_NAMES} == {
        name: rows(rebuilt_whole, f"SELECT * FROM {name} ORDER BY ALL") for name in TABLE_NAMES
    }


def test_reloading_unchanged_files_rebuilds_no_table(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    load.ingest([HOSPITAL], warehouse)
    seconds: dict[str, float] = {}

    load.ingest([HOSPITAL], warehouse, table_seconds=seconds)

    assert seconds == {}


def test_a_table_built_from_another_definition_is_rebuilt(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    load.ingest([HOSPITAL], warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("UPDATE materialised_table SET definition = 'older' WHERE name = 'procedure'")
    seconds: dict[str, float] = {}

    load.ingest([HOSPITAL], warehouse, table_seconds=seconds)

    assert sorted(seconds) == ["procedure"]


def awkward_lines() -> list[str]:
    """NDJSON lines that test every check of the DuckDB reader: each must land, or not, as the Python readers do."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:b1", "resource": {"resourceType": "Patient", "id": "b1"}},
            {
                "fullUrl": "urn:uuid:b2",
                "resource": {"resourceType": "Encounter", "subject": {"reference": "urn:uuid:b1"}},
            },
        ],
    }
    values: list[Any] = [
        {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "1", "lastUpdated": "2024-01-01T10:00:00+02:00"}},
        {"resourceType": "Patient", "id": "p2", "name": [{"text": "Zo\u00eb \u00e9\u00e8 \\/ \u2603"}], "x": 7.2},
        bundle,
        {"resourceType": "Patinet", "id": "typo"},
        {"resourceType": "Patient"},
        {"resourceType": "Patient", "id": ""},
        {"resourceType": "Patient", "id": 7},
        {"resourceType": 7, "id": "x"},
        {"id": "no-type"},
        {"resourceType": "Patient", "id": "p3", "meta": None},
        {"resourceType": "Patient", "id": "p4", "meta": "not an object"},
        {"resourceType": "Patient", "id": "p5", "meta": {"versionId": 12}},
        {"resourceType": "Patient", "id": "p6", "meta": {"lastUpdated": "2024-01-01T00:00:00"}},
        {"resourceType": "Patient", "id": "p7", "meta": {"lastUpdated": "2024-01-01"}},
        {"resourceType": "Patient", "id": "p8", "meta": {"lastUpdated": "yesterday"}},
        {"resourceType": "Patient", "id": "p9", "meta": {"lastUpdated": "2024-02-30T00:00:00Z"}},
        {"resourceType": "Patient", "id": "p10", "meta": {"lastUpdated": "2024-01-01T00:00:00.123456789Z"}},
        {"resourceType": "Encounter", "id": "e1", "subject": {"reference": "urn:uuid:p1"}},
        {"resourceType": "Encounter", "id": "e2", "class": {"system": "urn:medgov:class", "code": "IMP"}},
        {"resourceType": "Encounter", "id": "e2", "class": {"system": "urn:medgov:class", "code": "EMER"}},
        {"resourceType": "Patient", "id": "p1", "meta": {"versionId": "0", "lastUpdated": "2024-01-01T08:00:00Z"}},
        {"resourceType": "Patient", "id": "p11", "meta": {"versionId": "2"}},
        {"resourceType": "Patient", "id": "p11", "meta": {"versionId": "10"}},
        {"resourceType": "Patient", "id": "p11", "meta": {"versionId": "9"}},
    ]
    lines = [json.dumps(value) for value in values]
    return [*lines[:3], lines[3] + "\r", *lines[3:], "", "  "]


def load_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: list[Path]) -> list[Any]:
    """Each file loaded twice into its own warehouse, read by DuckDB and by the Python readers: what each holds,
    and which files DuckDB's reader landed."""
    outcomes = []
    staged_by_duckdb: list[str] = []
    stage_ndjson = landing.Lander._stage_ndjson

    def recording_stage_ndjson(lander: landing.Lander, source: Any, file_index: int) -> bool:
        staged = stage_ndjson(lander, source, file_index)
        if staged:
            staged_by_duckdb.append(source.path.name)
        return staged

    monkeypatch.setattr(landing.Lander, "_stage_ndjson", recording_stage_ndjson)
    lines_are_the_files_lines = landing._lines_are_the_files_lines
    for name, numbered in (("duckdb", lines_are_the_files_lines), ("python", lambda source, **counted: False)):
        monkeypatch.setattr(landing, "_lines_are_the_files_lines", numbered)
        warehouse = tmp_path / f"{name}.duckdb"
        reports = [api.ingest(files, warehouse) for _ in range(2)]
        outcomes.append(
            (
                [(dict(r.by_resource_type), r.quarantine_reasons, r.tables) for r in reports],
                snapshot(warehouse),
                sorted(set(staged_by_duckdb)),
            )
        )
        staged_by_duckdb.clear()
    return outcomes


def test_the_duckdb_reader_lands_awkward_lines_as_the_python_readers_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "awkward.ndjson"
    path.write_text("\n".join(awkward_lines()) + "\n")
    gzipped = tmp_path / "awkward-copy.ndjson.gz"
    gzipped.write_bytes(gzip.compress(path.read_bytes().replace(b'"p2"', b'"p2-copy"')))

    by_duckdb, by_python = load_both_ways(tmp_path, monkeypatch, [path, gzipped])

    assert by_duckdb[:2] == by_python[:2]
    reports, tables, staged_by_duckdb = by_duckdb
    assert staged_by_duckdb == ["awkward-copy.ndjson.gz", "awkward.ndjson"]
    assert reports[0][0]["Patient"] == ResourceTypeCounts(
        read=36, new=11, replaced=1, unchanged=9, stale=5, quarantined=10
    )
    assert reports[1][0]["Patient"] == ResourceTypeCounts(read=36, unchanged=20, stale=6, quarantined=10)
    assert [row[1:4] for row in tables["quarantine"] if row[0] == str(path)] == [
        (4, None, "Patinet"),
        (5, None, "Patinet"),
        (6, None, "Patient"),
        (7, None, "Patient"),
        (8, None, "Patient"),
        (9, None, None),
        (10, None, None),
        (16, None, "Patient"),
        (17, None, "Patient"),
        (19, None, "Encounter"),
    ]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        pytest.param("this is not JSON", "malformed_json", id="not-json"),
        pytest.param('{"resourceType":"Patient","id":"nan","x":NaN}', "malformed_json", id="nan"),
        pytest.param('{"resourceType":"Patient","id":"comma",}', "malformed_json", id="trailing-comma"),
        pytest.param('{"resourceType":"Patient","id":"big","x":1e400}', "malformed_json", id="huge-number"),
        pytest.param('{"resourceType":"Patient","id":"tab","x":"a\tb"}', "malformed_json", id="control-character"),
        pytest.param('{"resourceType":"Patient","id":"two"} {"resourceType":"Patient","id":"values"}', "malformed_json", id="two-values"),
        pytest.param('{"resourceType":"Patient",\n"id":"split"}', "malformed_json", id="value-over-two-lines"),
        pytest.param("[1, 2]", "not_an_object", id="array"),
        pytest.param("  ", None, id="blank-line"),
    ],
)  # fmt: skip
def test_a_line_duckdb_reads_differently_sends_its_file_to_the_python_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_line: str, reason: str | None
) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_text(
        '{"resourceType":"Patient","id":"before"}\n\n' + bad_line + '\n{"resourceType":"Patient","id":"after"}'
    )

    by_duckdb, by_python = load_both_ways(tmp_path, monkeypatch, [path])

    assert by_duckdb == by_python
    reports, tables, staged_by_duckdb = by_duckdb
    assert staged_by_duckdb == []
    assert reports[0][0]["Patient"].new == 2
    assert [(row[1], row[5]) for row in tables["quarantine"]][:1] == ([(3, reason)] if reason else [])


def test_invalid_utf8_is_quarantined_by_its_line_whichever_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_bytes(
        b'{"resourceType":"Patient","id":"before"}\n{"resourceType":"Patient","id":"\xff"}\n'
        b'{"resourceType":"Patient","id":"after"}\n'
    )

    by_duckdb, by_python = load_both_ways(tmp_path, monkeypatch, [path])

    assert by_duckdb == by_python
    reports, tables, _ = by_duckdb
    assert reports[0][1] == {"malformed_json": 1}
    assert [(row[1], row[5]) for row in tables["quarantine"]] == [(2, "malformed_json")]


def test_a_cut_gzip_file_keeps_its_lines_before_the_cut_whichever_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "".join(json.dumps({"resourceType": "Patient", "id": f"p{i}"}) + "\n" for i in range(5000)).encode()
    compressed = gzip.compress(lines)
    path = tmp_path / "Patient.ndjson.gz"
    path.write_bytes(compressed[: len(compressed) // 2])

    by_duckdb, by_python = load_both_ways(tmp_path, monkeypatch, [path])

    assert by_duckdb == by_python
    reports, tables, _ = by_duckdb
    assert reports[0][1] == {"truncated": 1}
    assert reports[0][0]["Patient"].new == len(tables["raw_resource"]) > 0


def large_bundle(patients: int) -> dict[str, Any]:
    """A transaction Bundle of Patients and their Observations, referring to each other by ``urn:uuid:``."""
    note = "x" * 16_000  # a few large entries pass the streaming threshold sooner than many small ones
    entries: list[dict[str, Any]] = []
    for number in range(patients):
        patient_id = f"p{number:05d}"
        entries.append(
            {
                "fullUrl": f"urn:uuid:{patient_id}",
                "resource": {"resourceType": "Patient", "id": patient_id, "gender": "female", "text": {"div": note}},
            }
        )
        entries.append(
            {
                "fullUrl": f"urn:uuid:o{number:05d}",
                "resource": {
                    "resourceType": "Observation",
                    "id": f"o{number:05d}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "subject": {"reference": f"urn:uuid:{patient_id}"},
                },
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.mark.parametrize("form", ["bundle", "array"])
def test_a_document_larger_than_the_streaming_threshold_is_streamed_and_lands_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    patients = 1100
    bundle = large_bundle(patients)
    document: Any = bundle if form == "bundle" else [entry["resource"] for entry in bundle["entry"]]
    if form == "array":
        for resource in document:
            if resource["resourceType"] == "Observation":
                resource["subject"] = {"reference": resource["subject"]["reference"].replace("urn:uuid:", "Patient/")}
    path = tmp_path / "large.json"
    # Indented, as Synthea writes Bundles: a document on one line would be read as NDJSON.
    path.write_text(json.dumps(document, indent=1))
    assert path.stat().st_size > readers.WHOLE_DOCUMENT_LIMIT
    streamed: list[Path] = []
    stream = readers.SourceFile._streamed_document_records

    def spy(source: readers.SourceFile) -> Any:
        streamed.append(source.path)
        return stream(source)

    monkeypatch.setattr(readers.SourceFile, "_streamed_document_records", spy)

    report = api.ingest([path], tmp_path / "warehouse.duckdb")

    assert streamed == [path.resolve()]
    assert {name: (counts.read, counts.new) for name, counts in report.by_resource_type.items()} == {
        "Observation": (patients, patients),
        "Patient": (patients, patients),
    }
    assert report.totals.quarantined == 0
    warehouse = tmp_path / "warehouse.duckdb"
    assert rows(warehouse, "SELECT count(*), count(DISTINCT patient_id) FROM observation") == [(patients, patients)]
    assert rows(warehouse, "SELECT min(source_entry), max(source_entry) FROM raw_resource") == [(0, 2 * patients - 1)]
    assert rows(warehouse, "SELECT count(*) FROM observation WHERE patient_id NOT IN (SELECT id FROM patient)") == [
        (0,)
    ]


@pytest.fixture
def byte_scans(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files whose bytes the landing scans for a blank line or one that does not start an object, in order."""
    scanned: list[Path] = []
    every_line_starts_an_object = landing._every_line_starts_an_object

    def recording_scan(source: readers.SourceFile) -> bool:
        scanned.append(source.path)
        return every_line_starts_an_object(source)

    monkeypatch.setattr(landing, "_every_line_starts_an_object", recording_scan)
    return scanned


def test_the_lines_of_a_large_file_keep_their_numbers_when_duckdb_reads_it_in_parallel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, byte_scans: list[Path]
) -> None:
    # Small reader buffers (the line limit sets them), so that the file is read in many pieces on every core, and
    # more lines than three of DuckDB's row groups (122,880 rows each).
    monkeypatch.setattr(landing, "FIRST_READ_LINE_BYTES", 64 * 1024)
    handed_back = {1: "Patinet", 122_881: "Patinet", 250_000: None, 400_000: "Patinet"}
    text = "".join(
        (
            json.dumps({"resourceType": handed_back[line], "id": f"line-{line}"}, separators=(",", ":"))
            if handed_back.get(line)
            else '{"resourceType":"Patient"}'
            if line in handed_back
            else f'{{"resourceType":"Patient","id":"line-{line}","text":"{"x" * (line * 7919 % 97)}"}}'
        )
        + "\n"
        for line in range(1, 400_001)
    )
    path = tmp_path / "Patient.ndjson"
    path.write_text(text.rstrip("\n"))  # no newline after the last line: its number does not depend on one
    warehouse = tmp_path / "warehouse.duckdb"

    report = api.ingest([path], warehouse)

    assert report.by_resource_type["Patient"].new == 400_000 - len(handed_back)
    assert byte_scans == []  # the file's size accounts for every line: no second read of its bytes
    assert rows(warehouse, "SELECT count(*) FROM raw_resource WHERE id <> 'line-' || source_line") == [(0,)]
    assert rows(warehouse, "SELECT source_line, resource_type, reason FROM quarantine ORDER BY source_line") == [
        (1, "Patinet", "unknown_resource_type"),
        (122_881, "Patinet", "unknown_resource_type"),
        (250_000, "Patient", "missing_id"),
        (400_000, "Patinet", "unknown_resource_type"),
    ]


@pytest.mark.parametrize(
    ("text", "scanned"),
    [
        pytest.param('{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n', False, id="lf"),
        pytest.param('{"resourceType":"Patient","id":"a"}\r\n{"resourceType":"Patient","id":"b"}\r\n', True, id="crlf"),
        pytest.param('{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n\n', True, id="blank-end"),
        pytest.param('{"resourceType":"Patient","id":"a"} \n{"resourceType":"Patient","id":"b"}', True, id="space"),
    ],
)  # fmt: skip
def test_a_file_is_scanned_for_blank_lines_only_when_its_size_leaves_room_for_one(
    tmp_path: Path, byte_scans: list[Path], text: str, scanned: bool
) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_bytes(text.encode())
    warehouse = tmp_path / "warehouse.duckdb"

    report = api.ingest([path], warehouse)

    assert report.by_resource_type["Patient"] == ResourceTypeCounts(read=2, new=2)
    assert bool(byte_scans) is scanned
    assert rows(warehouse, "SELECT id, source_line FROM raw_resource ORDER BY id") == [("a", 1), ("b", 2)]


def test_files_staged_together_or_apart_land_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lines handed to the Python readers, a file DuckDB reads more leniently than JSON allows (read whole by the
    # Python readers, its staged lines left behind) between two it numbers, and a gzip file.
    first = tmp_path / "a.ndjson"
    first.write_text(
        '{"resourceType":"Patient","id":"a1"}\n{"resourceType":"Patinet","id":"a2"}\n'
        '{"resourceType":"Encounter","id":"a3","subject":{"reference":"urn:uuid:a1"}}\n'
        '{"resourceType":"Patient","id":"a4"}\n'
    )
    lenient = tmp_path / "b.ndjson"
    lenient.write_text('{"resourceType":"Patient","id":"b1"}\n{"resourceType":"Patient","id":"b2","x":NaN}\n')
    third = tmp_path / "c.ndjson"
    third.write_text(
        '{"resourceType":"Patient","id":"c1"}\n{"resourceType":"Patient"}\n{"resourceType":"Patient","id":"a1"}'
    )
    compressed = tmp_path / "d.ndjson.gz"
    compressed.write_bytes(
        gzip.compress(b'{"resourceType":"Patinet","id":"d1"}\n{"resourceType":"Patient","id":"d2"}\n')
    )
    files = [first, lenient, third, compressed]
    snapshots = []
    for name, staged_bytes in (("together", landing.STAGED_BYTES), ("apart", 1)):
        monkeypatch.setattr(landing, "STAGED_BYTES", staged_bytes)
        api.ingest(files, tmp_path / f"{name}.duckdb")
        snapshots.append(snapshot(tmp_path / f"{name}.duckdb"))
    with monkeypatch.context() as python_only:
        python_only.setattr(landing, "_lines_are_the_files_lines", lambda source, **counted: False)
        api.ingest(files, tmp_path / "python.duckdb")
    by_python = snapshot(tmp_path / "python.duckdb")

    assert snapshots[0] == snapshots[1] == by_python
    # a1 of c.ndjson repeats a.ndjson's, unchanged; a3's urn: reference resolves to nothing.
    assert rows(tmp_path / "apart.duckdb", "SELECT id, source_file, source_line FROM raw_resource ORDER BY ALL") == [
        ("a1", str(first), 1),
        ("a4", str(first), 4),
        ("b1", str(lenient), 1),
        ("c1", str(third), 1),
        ("d2", str(compressed), 2),
    ]
    assert rows(tmp_path / "apart.duckdb", "SELECT source_file, source_line, reason FROM quarantine ORDER BY ALL") == [
        (str(first), 2, "unknown_resource_type"),
        (str(first), 3, "unresolved_reference"),
        (str(lenient), 2, "malformed_json"),
        (str(third), 2, "missing_id"),
        (str(compressed), 1, "unknown_resource_type"),
    ]


def test_a_file_with_a_line_longer_than_the_first_reads_buffer_is_read_again_by_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(landing, "FIRST_READ_LINE_BYTES", 1024)
    before = tmp_path / "a.ndjson"
    before.write_text('{"resourceType":"Patient","id":"a1"}\n')
    long_lines = tmp_path / "b.ndjson"
    long_lines.write_text(
        '{"resourceType":"Patient","id":"b1"}\n'
        + json.dumps({"resourceType": "Patient", "id": "b2", "text": {"div": "x" * 5000}}, separators=(",", ":"))
        + '\n{"resourceType":"Patinet","id":"b3"}\n{"resourceType":"Patient","id":"b4"}\n'
    )
    after = tmp_path / "c.ndjson"
    after.write_text('{"resourceType":"Patient","id":"c1"}\n{"resourceType":"Patient","id":"c2"}\n')

    by_duckdb, by_python = load_both_ways(tmp_path, monkeypatch, [before, long_lines, after])

    assert by_duckdb[:2] == by_python[:2]
    _, tables, staged_by_duckdb = by_duckdb
    assert staged_by_duckdb == ["a.ndjson", "b.ndjson", "c.ndjson"]
    assert sorted((row[1], row[7]) for row in tables["raw_resource"]) == [
        ("a1", 1),
        ("b1", 1),
        ("b2", 2),
        ("b4", 4),
        ("c1", 1),
        ("c2", 2),
    ]
