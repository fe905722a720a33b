from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pytest

from medgov.analytics.ingest.viewdefinition import (
    Column,
    Shape,
    ViewDefinitionError,
    ViewEvaluationError,
    compile_view,
    observed_shape,
    run_view,
)
from tests.anchors import ANCHORS

SUITE = ANCHORS / "sql-on-fhir" / "tests"

# Tests of the official suite that are not run, with the reason. Only `experimental` tests belong here.
LEFT_OUT: dict[str, str] = {}


def _suite_cases() -> list[Any]:
    cases = []
    for path in sorted(SUITE.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for test in suite["tests"]:
            case_id = f"{path.stem}::{test['title']}"
            marks = [pytest.mark.skip(reason=LEFT_OUT[case_id])] if case_id in LEFT_OUT else []
            cases.append(pytest.param(path, test["title"], id=case_id, marks=marks))
    return cases


def _connection_with(resources: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE resources (resource_type VARCHAR, resource JSON)")
    connection.executemany(
        "INSERT INTO resources VALUES (?, ?)",
        [(resource["resourceType"], json.dumps(resource)) for resource in resources],
    )
    return connection


def _canonical(value: Any) -> Any:
    # The suite writes decimals as JSON numbers: 5 and 5.0 are the same value.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def _row_key(row: dict[str, Any]) -> str:
    return json.dumps({name: _canonical(value) for name, value in row.items()}, sort_keys=True)


def _load(path: Path, title: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    suite = json.loads(path.read_text(encoding="utf-8"))
    test = next(test for test in suite["tests"] if test["title"] == title)
    return suite["resources"], test


def _contrary(structure: Any) -> Any:
    """Every array taken for a single value and every single value for an array: the worst guess at a shape."""
    if isinstance(structure, Mapping):
        return [{name: _contrary(child) for name, child in structure.items()}]
    if isinstance(structure, list):
        return _contrary(structure[0]) if structure else {}
    return structure


def _shape(connection: duckdb.DuckDBPyConnection, view: Any, mode: str) -> Shape | None:
    resource_type = view.get("resource") if isinstance(view, dict) else None
    if mode == "general" or not isinstance(resource_type, str):
        return None
    observed = observed_shape(connection, "resources", resource_type)
    if mode == "observed":
        return observed
    return {name: _contrary(child) for name, child in observed.items()}


# Every test runs three ways: without a shape (the general translation only), with the shape observed in its
# resources (shortcuts taken), and with the contrary shape (every shortcut misses and falls back). The results
# must not differ: a shape may only change how fast a view runs.
@pytest.mark.parametrize("shape_mode", ["general", "observed", "contrary"])
@pytest.mark.parametrize(("path", "title"), _suite_cases())
def test_official_suite(path: Path, title: str, shape_mode: str) -> None:
    resources, test = _load(path, title)
    connection = _connection_with(resources)
    shape = _shape(connection, test["view"], shape_mode)

    if test.get("expectError"):
        with pytest.raises(ViewDefinitionError):
            run_view(connection, test["view"], shape=shape)
        return

    table = run_view(connection, test["view"], shape=shape)

    if "expectColumns" in test:
        assert table.column_names == test["expectColumns"]
    if "expect" in test:
        rows = table.to_pylist()
        expected = test["expect"]
        assert Counter(map(_row_key, rows)) == Counter(map(_row_key, expected))
        if expected:
            assert set(table.column_names) == set(expected[0])


def test_the_suite_has_every_file_and_test() -> None:
    files = sorted(SUITE.glob("*.json"))
    tests = sum(len(json.loads(path.read_text(encoding="utf-8"))["tests"]) for path in files)
    assert (len(files), tests) == (22, 134)


def _tagged(case_id: str) -> list[str]:
    stem, title = case_id.split("::", 1)
    _, test = _load(SUITE / f"{stem}.json", title)
    tags: list[str] = test.get("tags", [])
    return tags


def test_only_experimental_tests_are_left_out() -> None:
    assert [case_id for case_id in LEFT_OUT if "experimental" not in _tagged(case_id)] == []


PATIENTS = [
    {"resourceType": "Patient", "id": "p1", "name": [{"family": "A"}, {"family": "B"}], "active": True},
    {"resourceType": "Patient", "id": "p2", "name": [{"family": "C"}]},
]


def _patient_view(**changes: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"resource": "Patient", "select": [{"column": [{"name": "id", "path": "id"}]}]}
    view.update(changes)
    return view


@pytest.mark.parametrize(
    ("view", "message"),
    [
        pytest.param([], "must be a JSON object", id="not an object"),
        pytest.param({"select": []}, "ViewDefinition.resource is required", id="no resource"),
        pytest.param({"resource": "Patient"}, "ViewDefinition.select is required", id="no select"),
        pytest.param(
            _patient_view(select=[{"column": [{"name": "id", "path": "id."}]}]),
            "column 'id': FHIRPath 'id.': expected a name after '.' at the end",
            id="path cut short",
        ),
        pytest.param(
            _patient_view(select=[{"forEach": "name", "forEachOrNull": "name", "column": []}]),
            "select[1] may have only one of forEach, forEachOrNull and repeat",
            id="two iterations",
        ),
        pytest.param(
            _patient_view(select=[{"column": [{"name": "1st", "path": "id"}]}]),
            "name must start with a letter",
            id="bad column name",
        ),
        pytest.param(
            _patient_view(select=[{"column": [{"name": "id", "path": "id"}, {"name": "id", "path": "gender"}]}]),
            "column name 'id' is used more than once",
            id="duplicate column",
        ),
        pytest.param(
            _patient_view(select=[{"column": [{"name": "n", "path": "name.family.substring(1)"}]}]),
            "function substring() is not supported",
            id="unsupported function",
        ),
        pytest.param(
            _patient_view(select=[{"column": [{"name": "n", "path": "name.first(1)"}]}]),
            "first() takes 0 argument(s), got 1",
            id="wrong arity",
        ),
        pytest.param(
            _patient_view(where=[{"path": "%missing = 1"}]),
            "where[1]: FHIRPath '%missing = 1': constant %missing is not defined",
            id="undefined constant",
        ),
        pytest.param(
            _patient_view(constant=[{"name": "n", "valueInteger": "one"}]),
            "constant 'n': valueInteger has a value of the wrong type: 'one'",
            id="constant of the wrong type",
        ),
        pytest.param(
            _patient_view(where=[{"path": "'yes'"}]),
            "where[1] path \"'yes'\" must evaluate to a single boolean",
            id="where on a string literal",
        ),
        pytest.param(
            _patient_view(select=[{"column": [{"name": "n", "path": "id", "type": "text"}]}]),
            "column 'n': unknown type 'text'",
            id="unknown type",
        ),
    ],
)
def test_invalid_views_are_refused_with_a_message_naming_the_problem(view: Any, message: str) -> None:
    with pytest.raises(ViewDefinitionError) as raised:
        compile_view(view)
    assert message in str(raised.value)


def test_several_values_in_a_non_collection_column_name_the_column() -> None:
    view = _patient_view(select=[{"column": [{"name": "family", "path": "name.family"}]}])
    with pytest.raises(ViewEvaluationError) as raised:
        run_view(_connection_with(PATIENTS), view)
    assert str(raised.value) == (
        "column 'family': path 'name.family' yields more than one value; "
        'a column that can hold several values needs "collection": true'
    )


def test_a_where_path_that_is_not_boolean_names_the_path() -> None:
    view = _patient_view(where=[{"path": "name.family.first()"}])
    with pytest.raises(ViewEvaluationError) as raised:
        run_view(_connection_with(PATIENTS), view)
    assert str(raised.value) == "where[1] path 'name.family.first()' must evaluate to a single boolean"


def test_a_source_that_is_not_a_table_name_is_refused() -> None:
    with pytest.raises(ViewDefinitionError) as raised:
        compile_view(_patient_view(), source="resources; DROP TABLE x")
    assert "source must name a table or view" in str(raised.value)


def test_compiled_view_lists_columns_in_view_order_and_filters_on_the_resource_type() -> None:
    view = {
        "resource": "Patient",
        "select": [
            {"column": [{"name": "id", "path": "id", "type": "id"}]},
            {"forEach": "name", "column": [{"name": "family", "path": "family", "type": "string"}]},
            {"column": [{"name": "given", "path": "name.given", "type": "string", "collection": True}]},
        ],
    }
    compiled = compile_view(view, source="raw.resources")
    assert compiled.columns == (
        Column(name="id", type="id", collection=False),
        Column(name="family", type="string", collection=False),
        Column(name="given", type="string", collection=True),
    )
    assert "resource_type = 'Patient'" in compiled.sql
    assert 'FROM "raw"."resources"' in compiled.sql


def test_bundle_internal_references_yield_their_uuid_as_the_key() -> None:
    observations = [
        {"resourceType": "Observation", "id": "o1", "subject": {"reference": "urn:uuid:5b1c-77"}},
        {"resourceType": "Observation", "id": "o2", "subject": {"reference": "Patient/p9/_history/2"}},
        {"resourceType": "Observation", "id": "o3", "subject": {"reference": "Group/g1"}},
    ]
    view = {
        "resource": "Observation",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "getResourceKey()", "type": "id"},
                    {"name": "patient", "path": "subject.getReferenceKey(Patient)", "type": "id"},
                ]
            }
        ],
    }
    rows = run_view(_connection_with(observations), view).to_pylist()
    assert sorted(rows, key=lambda row: row["id"]) == [
        {"id": "o1", "patient": "5b1c-77"},
        {"id": "o2", "patient": "p9"},
        {"id": "o3", "patient": None},
    ]


def test_a_source_whose_resource_column_is_text_is_read_as_json() -> None:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE staged (resource_type VARCHAR, resource VARCHAR)")
    connection.executemany("INSERT INTO staged VALUES (?, ?)", [("Patient", json.dumps(p)) for p in PATIENTS])
    view = {
        "resource": "Patient",
        "select": [
            {"column": [{"name": "id", "path": "id", "type": "id"}]},
            {"forEach": "name", "column": [{"name": "family", "path": "family", "type": "string"}]},
        ],
    }
    rows = run_view(connection, view, source="staged").to_pylist()
    assert sorted(rows, key=lambda row: row["family"]) == [
        {"id": "p1", "family": "A"},
        {"id": "p1", "family": "B"},
        {"id": "p2", "family": "C"},
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(["G"], True, id="one item equals"),
        pytest.param(["G", "H"], False, id="two items never equal one"),
        pytest.param(["H"], False, id="one item differs"),
        pytest.param([], None, id="empty is empty"),
    ],
)
def test_a_repeating_element_compared_with_a_constant_follows_collection_equality(
    given: list[str], expected: bool | None
) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "name": [{"given": given}]}
    view = _patient_view(select=[{"column": [{"name": "is_g", "path": "name.first().given = 'G'", "type": "boolean"}]}])
    assert run_view(_connection_with([patient]), view).to_pylist() == [{"is_g": expected}]
