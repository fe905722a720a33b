from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from medgov.analytics.ingest.readers import Reason, Rejected, Resource, SourceFile, discover


def write_ndjson(path: Path, values: list[Any]) -> Path:
    path.write_text("".join(json.dumps(value) + "\n" for value in values))
    return path


def read(path: Path, **options: Any) -> list[Resource | Rejected]:
    return list(SourceFile(path, **options).records())


def patient(identifier: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": identifier, **extra}


def transaction_bundle() -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b1f-p",
                "resource": {"resourceType": "Patient", "id": "0b1f-p"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:77aa-e",
                "resource": {"resourceType": "Encounter", "subject": {"reference": "urn:uuid:0b1f-p"}},
                "request": {"method": "POST", "url": "Encounter"},
            },
            {
                "fullUrl": "http://example.org/fhir/Condition/c9",
                "resource": {
                    "resourceType": "Condition",
                    "id": "c9",
                    "subject": {"reference": "urn:uuid:0b1f-p"},
                    "encounter": {"reference": "urn:uuid:77aa-e"},
                },
            },
        ],
    }


def test_ndjson_lines_become_resources_with_their_line_numbers(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "Patient.ndjson", [patient("a"), patient("b", meta={"versionId": "3"})])

    records = read(path)

    assert [(r.resource_type, r.id, r.version_id, r.source_line) for r in records if isinstance(r, Resource)] == [
        ("Patient", "a", None, 1),
        ("Patient", "b", "3", 2),
    ]


def test_gzipped_ndjson_reads_like_plain(tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n'))

    assert [r.id for r in read(path) if isinstance(r, Resource)] == ["a", "b"]


def test_bundle_references_to_full_urls_become_type_and_id(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(transaction_bundle(), indent=2))

    records = read(path)

    assert all(isinstance(r, Resource) for r in records)
    bodies = {r.resource_type: json.loads(r.body) for r in records if isinstance(r, Resource)}
    assert bodies["Encounter"]["id"] == "77aa-e"
    assert bodies["Encounter"]["subject"] == {"reference": "Patient/0b1f-p"}
    assert bodies["Condition"]["subject"] == {"reference": "Patient/0b1f-p"}
    assert bodies["Condition"]["encounter"] == {"reference": "Encounter/77aa-e"}
    assert [(r.source_line, r.source_entry) for r in records] == [(1, 0), (1, 1), (1, 2)]


def test_ndjson_of_bundles_resolves_references_within_each_bundle(tmp_path: Path) -> None:
    other = transaction_bundle()
    other["entry"] = other["entry"][1:]  # the Patient entry is in the first bundle only
    path = write_ndjson(tmp_path / "bundles.json", [transaction_bundle(), other])

    records = read(path)

    assert [(type(r).__name__, r.source_line, r.source_entry) for r in records] == [
        ("Resource", 1, 0),
        ("Resource", 1, 1),
        ("Resource", 1, 2),
        ("Rejected", 2, 0),
        ("Rejected", 2, 1),
    ]
    rejected = [r for r in records if isinstance(r, Rejected)]
    assert {r.reason for r in rejected} == {Reason.UNRESOLVED_REFERENCE}
    assert rejected[0].detail == "reference urn:uuid:0b1f-p names no entry in the bundle"
    assert rejected[1].resource_type == "Condition"
    assert rejected[1].resource_id == "c9"


def test_a_streamed_bundle_reads_like_a_parsed_one(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(transaction_bundle(), indent=2))

    parsed = read(path)
    streamed = read(path, whole_document_limit=10)

    assert [(r.resource_type, r.id, r.body, r.source_entry) for r in streamed if isinstance(r, Resource)] == [
        (r.resource_type, r.id, r.body, r.source_entry) for r in parsed if isinstance(r, Resource)
    ]
    assert len(streamed) == 3


def test_a_truncated_bundle_yields_the_entries_before_the_cut(tmp_path: Path) -> None:
    text = json.dumps(transaction_bundle(), indent=2)
    path = tmp_path / "bundle.json"
    path.write_text(text[: text.index('"resourceType": "Condition"')])

    records = read(path)

    assert [(type(r).__name__, r.source_entry) for r in records] == [
        ("Resource", 0),
        ("Resource", 1),
        ("Rejected", 2),
    ]
    cut = records[2]
    assert isinstance(cut, Rejected)
    assert cut.reason == Reason.TRUNCATED
    assert "the 2 items before it were read" in cut.detail


def test_a_truncated_ndjson_file_rejects_only_its_last_line(tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_text('{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n{"resourceType":"Pat')

    records = read(path)

    assert [(type(r).__name__, r.source_line) for r in records] == [
        ("Resource", 1),
        ("Resource", 2),
        ("Rejected", 3),
    ]
    assert isinstance(records[2], Rejected)
    assert records[2].reason == Reason.TRUNCATED
    assert records[2].raw_text == '{"resourceType":"Pat'


def test_a_truncated_gzip_file_keeps_the_lines_before_the_break(tmp_path: Path) -> None:
    lines = "".join(json.dumps(patient(f"p{index}")) + "\n" for index in range(2000)).encode()
    compressed = gzip.compress(lines)
    path = tmp_path / "Patient.ndjson.gz"
    path.write_bytes(compressed[: len(compressed) // 2])

    records = read(path)

    resources = [r for r in records if isinstance(r, Resource)]
    assert [r.id for r in resources] == [f"p{index}" for index in range(len(resources))]
    assert isinstance(records[-1], Rejected)
    assert records[-1].reason == Reason.TRUNCATED
    assert len(resources) > 0


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        pytest.param("not json at all", Reason.MALFORMED_JSON, None, id="not-json"),
        pytest.param("[1, 2]", Reason.NOT_AN_OBJECT, "expected a JSON object (a resource or a Bundle), found list", id="array"),
        pytest.param('{"id": "x"}', Reason.MISSING_RESOURCE_TYPE, "the resource has no resourceType", id="no-type"),
        pytest.param('{"resourceType": "Patinet", "id": "x"}', Reason.UNKNOWN_RESOURCE_TYPE, "resourceType 'Patinet' is not a FHIR R4 resource", id="unknown-type"),
        pytest.param('{"resourceType": "Patient"}', Reason.MISSING_ID, "the Patient has no id", id="no-id"),
        pytest.param('{"resourceType": "Patient", "id": ""}', Reason.MISSING_ID, "the Patient has no id", id="empty-id"),
        pytest.param('{"resourceType": "Patient", "id": "x", "meta": {"lastUpdated": "yesterday"}}', Reason.INVALID_META, "meta.lastUpdated 'yesterday' is not an instant", id="bad-last-updated"),
        pytest.param('{"resourceType": "Encounter", "id": "x", "subject": {"reference": "urn:uuid:1234"}}', Reason.UNRESOLVED_REFERENCE, "reference urn:uuid:1234 names no entry outside a Bundle", id="urn-outside-bundle"),
    ],
)  # fmt: skip
def test_a_bad_line_is_rejected_with_its_reason_between_good_ones(
    tmp_path: Path, line: str, reason: Reason, detail: str | None
) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text(f'{{"resourceType":"Patient","id":"before"}}\n{line}\n{{"resourceType":"Patient","id":"after"}}\n')

    records = read(path)

    assert [type(r).__name__ for r in records] == ["Resource", "Rejected", "Resource"]
    rejected = records[1]
    assert isinstance(rejected, Rejected)
    assert rejected.reason == reason
    assert rejected.source_line == 2
    assert rejected.raw_text.replace(" ", "") == line.replace(" ", "")
    if detail is not None:
        assert rejected.detail == detail


def test_a_bundle_entry_without_a_resource_is_rejected(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": "Patient/x"}}, {"resource": patient("y")}],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))

    records = read(path)

    assert isinstance(records[0], Rejected)
    assert records[0].reason == Reason.ENTRY_WITHOUT_RESOURCE
    assert records[0].detail == "Bundle entry 0 has no resource (request DELETE Patient/x)"
    assert isinstance(records[1], Resource)


def test_same_content_hashes_the_same_whatever_the_whitespace(tmp_path: Path) -> None:
    compact = write_ndjson(tmp_path / "a.ndjson", [patient("a", gender="female")])
    pretty = tmp_path / "b.json"
    pretty.write_text(json.dumps(patient("a", gender="female"), indent=4))

    (first,) = read(compact)
    (second,) = read(pretty)

    assert isinstance(first, Resource)
    assert isinstance(second, Resource)
    assert first.content_hash == second.content_hash


def test_discover_takes_fhir_files_from_folders_and_named_files_as_given(tmp_path: Path) -> None:
    (tmp_path / "cases" / "one").mkdir(parents=True)
    for name in ("cases/one/Patient-1.json", "cases/one/README.txt", "cases/b.ndjson.gz", "cases/a.ndjson"):
        (tmp_path / name).write_text("")
    named = tmp_path / "export.txt"
    named.write_text("")

    found = discover([tmp_path / "cases", named, tmp_path / "cases" / "a.ndjson"])

    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "cases/a.ndjson",
        "cases/b.ndjson.gz",
        "cases/one/Patient-1.json",
        "export.txt",
    ]


def test_discover_names_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no such file or folder: .*missing\.ndjson"):
        discover([tmp_path / "missing.ndjson"])
