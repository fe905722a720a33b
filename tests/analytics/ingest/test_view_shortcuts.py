from __future__ import annotations

import json
from typing import Any

import duckdb
import pytest

from medgov.analytics.ingest.viewdefinition import observed_shape, run_view

ATTENDING = (
    "participant.where(type.coding.where(system = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType'"
    " and code = 'ATND').exists()).individual.getReferenceKey(Practitioner).first()"
)
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ESCAPED = "written-escaped"  # stored as "AT\\u004eD", JSON for "ATND" with an escaped N


def participant(code: Any, reference: str | None, system: Any = PARTICIPATION) -> dict[str, Any]:
    found: dict[str, Any] = {"type": [{"coding": [{"system": system, "code": code}]}]}
    if reference is not None:
        found["individual"] = {"reference": reference}
    return found


# Encounters whose first participant is the attending one (the guess the shape suggests) and encounters where it
# is not, or is only in part: the guess must then give way to the general translation.
ENCOUNTERS: list[tuple[str, list[dict[str, Any]], str | None]] = [
    ("first", [participant("ATND", "Practitioner/a"), participant("ADM", "Practitioner/b")], "a"),
    ("second", [participant("ADM", "Practitioner/a"), participant("ATND", "Practitioner/b")], "b"),
    ("first-not-a-practitioner", [participant("ATND", "Organization/a"), participant("ATND", "Practitioner/b")], "b"),
    ("first-without-individual", [participant("ATND", None), participant("ATND", "Practitioner/b")], "b"),
    ("code-as-number", [participant(1, "Practitioner/a"), participant("ATND", "Practitioner/b")], "b"),
    ("code-in-a-list", [participant(["ATND"], "Practitioner/a"), participant("ATND", "Practitioner/b")], "a"),
    ("other-system", [participant("ATND", "Practitioner/a", "urn:x"), participant("ATND", "Practitioner/b")], "b"),
    ("escaped-code", [participant(ESCAPED, "Practitioner/a")], "a"),
    (
        "second-coding",
        [
            {
                "type": [{"coding": [{"code": "x"}, {"system": PARTICIPATION, "code": "ATND"}]}],
                "individual": {"reference": "Practitioner/c"},
            }
        ],
        "c",
    ),
    ("none", [participant("ADM", "Practitioner/a")], None),
    ("no-participant", [], None),
]


def connection_with(resources: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE resources (resource_type VARCHAR, resource JSON)")
    connection.executemany(
        "INSERT INTO resources VALUES (?, ?)",
        [(r["resourceType"], json.dumps(r).replace(f'"{ESCAPED}"', '"AT\\u004eD"')) for r in resources],
    )
    return connection


def rows_both_ways(resources: list[dict[str, Any]], view: dict[str, Any]) -> list[dict[str, Any]]:
    """The view's rows without a shape (general translation only) and with the observed one, which must agree."""
    connection = connection_with(resources)
    general = run_view(connection, view).to_pylist()
    shaped = run_view(connection, view, shape=observed_shape(connection, "resources", view["resource"])).to_pylist()
    assert sorted(shaped, key=repr) == sorted(general, key=repr)
    return sorted(general, key=lambda row: row["id"])


def test_a_where_guessed_from_the_shape_gives_way_wherever_the_first_candidate_does_not_answer() -> None:
    view = {
        "resource": "Encounter",
        "select": [{"column": [{"name": "id", "path": "id"}, {"name": "attending", "path": ATTENDING}]}],
    }
    # Most encounters look like the first, so the observed shape makes the guess.
    typical = [{"resourceType": "Encounter", "id": f"t{n}", "participant": ENCOUNTERS[0][1]} for n in range(20)]
    cases = [{"resourceType": "Encounter", "id": name, "participant": found} for name, found, _ in ENCOUNTERS]

    rows = rows_both_ways(typical + cases, view)

    expected = {name: attending for name, _, attending in ENCOUNTERS} | {f"t{n}": "a" for n in range(20)}
    assert {row["id"]: row["attending"] for row in rows} == expected


@pytest.mark.parametrize(
    ("extensions", "code"),
    [
        pytest.param(
            [{"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "2106-3"}}]}],
            "2106-3",
            id="first",
        ),
        pytest.param(
            [
                {"url": "other", "extension": [{"url": "ombCategory", "valueCoding": {"code": "x"}}]},
                {"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "2054-5"}}]},
            ],
            "2054-5",
            id="second",
        ),
        pytest.param(
            [
                {
                    "url": RACE,
                    "extension": [
                        {"url": "text", "valueString": "White"},
                        {"url": "ombCategory", "valueCoding": {"code": "2106-3"}},
                    ],
                }
            ],
            "2106-3",
            id="second-inner",
        ),
        pytest.param(
            [{"url": RACE, "extension": [{"url": "ombCategory", "valueCode": "2106-3"}]}], None, id="another-type"
        ),
        pytest.param([{"url": RACE}], None, id="no-inner"),
        pytest.param(
            [
                {"url": [RACE], "extension": [{"url": "ombCategory", "valueCoding": {"code": "x"}}]},
                {"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "2054-5"}}]},
            ],
            "2054-5",
            id="first-url-in-a-list",
        ),
        pytest.param(
            [
                {"url": 1, "extension": [{"url": "ombCategory", "valueCoding": {"code": "x"}}]},
                {"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "2054-5"}}]},
                {"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "y"}}]},
            ],
            "2054-5",
            id="first-url-a-number",
        ),
        pytest.param(
            [
                {"url": "other"},
                {"url": RACE, "extension": [{"url": "text", "valueString": "White"}]},
                {"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "2028-9"}}]},
            ],
            "2028-9",
            id="third",
        ),
    ],
)
def test_an_extension_guessed_from_the_shape_gives_way_when_it_is_not_the_first(
    extensions: list[dict[str, Any]], code: str | None
) -> None:
    path = f"extension('{RACE}').extension('ombCategory').value.ofType(Coding).code.first()"
    view = {
        "resource": "Patient",
        "select": [{"column": [{"name": "id", "path": "id"}, {"name": "race", "path": path}]}],
    }
    typical = [
        {
            "resourceType": "Patient",
            "id": f"t{n}",
            "extension": [{"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "t"}}]}],
        }
        for n in range(20)
    ]

    rows = rows_both_ways([*typical, {"resourceType": "Patient", "id": "case", "extension": extensions}], view)

    assert {row["id"]: row["race"] for row in rows} == {"case": code} | {f"t{n}": "t" for n in range(20)}


# Subjects a reference column meets, with the key getReferenceKey(Patient) and getReferenceKey() give: plain
# "Patient/id" references take the shortcut's quick reading, the others must come out as the general translation's.
SUBJECTS: list[tuple[str, Any, str | None, str | None]] = [
    ("plain", {"reference": "Patient/p-1.a"}, "p-1.a", "p-1.a"),
    ("absolute", {"reference": "http://example.org/fhir/Patient/p2"}, "p2", "p2"),
    ("versioned", {"reference": "Patient/p3/_history/2"}, "p3", "p3"),
    (
        "urn",
        {"reference": "urn:uuid:0b5e1c9a-1111-4222-8333-444455556666"},
        *(["0b5e1c9a-1111-4222-8333-444455556666"] * 2),
    ),
    ("another-type", {"reference": "Group/g1"}, None, "g1"),
    ("escaped-slash", {"reference": "ESCAPED-SLASH"}, "p4", "p4"),
    ("id-too-long", {"reference": "Patient/" + "x" * 65}, None, None),
    ("id-with-other-characters", {"reference": "Patient/p_5"}, None, None),
    ("type-lower-case", {"reference": "patient/p6"}, None, None),
    ("reference-a-number", {"reference": 7}, None, None),
    ("reference-null", {"reference": None}, None, None),
    ("no-reference", {"display": "someone"}, None, None),
    ("subject-null", None, None, None),
    ("no-subject", "absent", None, None),
]


def test_a_reference_read_by_the_shortcut_keys_it_as_the_general_translation_does() -> None:
    view = {
        "resource": "Observation",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "id"},
                    {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                    {"name": "anything", "path": "subject.getReferenceKey()"},
                ]
            }
        ],
    }
    typical = [
        {"resourceType": "Observation", "id": f"t{n}", "subject": {"reference": f"Patient/t{n}"}} for n in range(20)
    ]
    cases = [
        {"resourceType": "Observation", "id": name} | ({} if subject == "absent" else {"subject": subject})
        for name, subject, _, _ in SUBJECTS
    ]
    connection = duckdb.connect()
    connection.execute("CREATE TABLE resources (resource_type VARCHAR, resource JSON)")
    connection.executemany(
        "INSERT INTO resources VALUES (?, ?)",
        [("Observation", json.dumps(r).replace('"ESCAPED-SLASH"', '"Patient\\/p4"')) for r in typical + cases],
    )
    general = run_view(connection, view).to_pylist()
    shaped = run_view(connection, view, shape=observed_shape(connection, "resources", "Observation")).to_pylist()

    assert sorted(shaped, key=repr) == sorted(general, key=repr)
    found = {row["id"]: (row["patient"], row["anything"]) for row in general}
    assert found == {name: (patient, anything) for name, _, patient, anything in SUBJECTS} | {
        f"t{n}": (f"t{n}", f"t{n}") for n in range(20)
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param("final", "final", id="string"),
        pytest.param('fin"al', 'fin"al', id="escaped"),
        pytest.param("[x]", "[x]", id="looks-like-a-list"),
        pytest.param("null", "null", id="the-word-null"),
        pytest.param(3, "3", id="number"),
        pytest.param(["final"], "final", id="list-of-one"),
        pytest.param([], None, id="empty-list"),
        pytest.param(None, None, id="null"),
        pytest.param("absent", None, id="absent"),
    ],
)
def test_a_single_value_read_by_the_shortcut_is_the_general_translations(status: Any, expected: str | None) -> None:
    view = {
        "resource": "Observation",
        "select": [{"column": [{"name": "id", "path": "id"}, {"name": "status", "path": "status"}]}],
    }
    typical = [{"resourceType": "Observation", "id": f"t{n}", "status": "final"} for n in range(20)]
    case = {"resourceType": "Observation", "id": "case"} | ({} if status == "absent" else {"status": status})

    rows = rows_both_ways([*typical, case], view)

    assert {row["id"]: row["status"] for row in rows} == {"case": expected} | {f"t{n}": "final" for n in range(20)}
