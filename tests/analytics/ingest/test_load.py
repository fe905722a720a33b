from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from medgov.analytics import api
from medgov.analytics.contracts import LoadReport, ResourceTypeCounts
from medgov.analytics.ingest import landing, load
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


def test_a_newer_version_replaces_and_an_older_one_does_not(tmp_path: Path) -> None:
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


def test_versions_in_one_load_apply_in_order_and_the_newest_wins(tmp_path: Path) -> None:
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


def test_bad_records_are_quarantined_and_the_good_ones_around_them_land(tmp_path: Path) -> None:
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


def test_reloading_a_fixed_file_clears_its_quarantine(tmp_path: Path) -> None:
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


def test_a_failure_half_way_leaves_the_warehouse_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
    merges = 0
    real_merge = landing.merge_resources

    def failing_merge(lander: landing.Lander, resources: list[Any]) -> None:
        nonlocal merges
        merges += 1
        if merges == 3:
            raise OSError("disk full (injected)")
        real_merge(lander, resources)

    monkeypatch.setattr(landing, "merge_resources", failing_merge)

    with pytest.raises(OSError, match="injected"):
        api.ingest([second], warehouse, chunk_size=3)

    assert merges == 3
    assert snapshot(warehouse) == before
    assert rows(warehouse, "SELECT * FROM load_log") == log_before


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
