"""Landing resources raw in the warehouse, one chunk at a time, idempotently; quarantining what cannot land.

``raw_resource`` holds one row per (resource_type, id): the newest version seen. Each chunk is merged with one
lookup of the stored versions of its keys, one delete of the rows it supersedes and one insert, all as Arrow
batches, so the per-record work in Python is only the comparison of versions.

Within a load the records of one resource are taken in the order they are read, as if applied one by one: a
record newer than the current version replaces it, an older one is ``stale`` and leaves it, and one whose
metadata cannot tell it apart (same ``meta.lastUpdated``/``meta.versionId``, or none) is ``unchanged`` when its
content is identical and otherwise replaces it, because the later export is the better guess at the truth.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from medgov.analytics.contracts import UNKNOWN_RESOURCE_TYPE, ResourceTypeCounts
from medgov.analytics.ingest.fhir import compare_versions
from medgov.analytics.ingest.readers import Rejected, Resource
from medgov.analytics.warehouse.connection import run

NEW = "new"
REPLACED = "replaced"
UNCHANGED = "unchanged"
STALE = "stale"
QUARANTINED = "quarantined"


@dataclass(slots=True)
class _Version:
    last_updated: datetime | None
    version_id: str | None
    content_hash: str


class Lander:
    """Buffers records and merges them into ``raw_resource``/``quarantine`` ``chunk_size`` records at a time.

    The caller owns the transaction; the lander only issues statements inside it.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, *, load_id: int, chunk_size: int) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk size must be at least 1, not {chunk_size}")
        self.connection = connection
        self.load_id = load_id
        self.chunk_size = chunk_size
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.reasons: Counter[str] = Counter()
        self._resources: list[tuple[Resource, str]] = []
        self._rejected: list[tuple[Rejected, str]] = []
        self._files: list[str] = []

    def begin_file(self, source_file: str) -> None:
        self._files.append(source_file)

    def add(self, record: Resource | Rejected, source_file: str) -> None:
        if isinstance(record, Resource):
            self._resources.append((record, source_file))
        else:
            self._rejected.append((record, source_file))
        if len(self._resources) + len(self._rejected) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if self._resources:
            merge_resources(self, self._resources)
            self._resources = []
        if self._rejected:
            self._quarantine(self._rejected)
            self._rejected = []

    def finish(self) -> None:
        """Flush, then drop older quarantine rows of the files read: the quarantine says what is wrong with
        each file as last loaded, so a fixed file reloaded leaves none behind and a reload adds no repeats."""
        self.flush()
        if not self._files:
            return
        self.connection.register("loaded_files", pa.table({"source_file": pa.array(self._files, pa.string())}))
        try:
            run(
                self.connection,
                """
                DELETE FROM quarantine
                WHERE load_id <> ? AND source_file IN (SELECT source_file FROM loaded_files)
                """,
                [self.load_id],
            )
        finally:
            self.connection.unregister("loaded_files")

    def changed_resource_types(self) -> set[str]:
        """The resource types with a row of ``raw_resource`` added or replaced so far."""
        return {
            resource_type for (resource_type, outcome), count in self.outcomes.items() if outcome in (NEW, REPLACED)
        }

    def counts(self) -> dict[str, ResourceTypeCounts]:
        by_type: dict[str, Counter[str]] = {}
        for (resource_type, outcome), count in self.outcomes.items():
            by_type.setdefault(resource_type, Counter())[outcome] += count
        return {
            resource_type: ResourceTypeCounts(
                read=sum(outcomes.values()),
                new=outcomes[NEW],
                replaced=outcomes[REPLACED],
                unchanged=outcomes[UNCHANGED],
                stale=outcomes[STALE],
                quarantined=outcomes[QUARANTINED],
            )
            for resource_type, outcomes in sorted(by_type.items())
        }

    def _quarantine(self, rejected: list[tuple[Rejected, str]]) -> None:
        batch = pa.table(
            {
                "source_file": pa.array([source for _, source in rejected], pa.string()),
                "source_line": pa.array([record.source_line for record, _ in rejected], pa.int64()),
                "source_entry": pa.array([record.source_entry for record, _ in rejected], pa.int64()),
                "resource_type": pa.array([record.resource_type for record, _ in rejected], pa.string()),
                "resource_id": pa.array([record.resource_id for record, _ in rejected], pa.string()),
                "reason": pa.array([str(record.reason) for record, _ in rejected], pa.string()),
                "detail": pa.array([record.detail for record, _ in rejected], pa.string()),
                "raw_text": pa.array([record.raw_text for record, _ in rejected], pa.string()),
            }
        )
        self.connection.register("quarantine_batch", batch)
        try:
            run(
                self.connection,
                "INSERT INTO quarantine SELECT *, ? FROM quarantine_batch",
                [self.load_id],
            )
        finally:
            self.connection.unregister("quarantine_batch")
        for record, _ in rejected:
            self.outcomes[(record.resource_type or UNKNOWN_RESOURCE_TYPE, QUARANTINED)] += 1
            self.reasons[str(record.reason)] += 1


def merge_resources(lander: Lander, resources: list[tuple[Resource, str]]) -> None:
    """Merge one chunk into ``raw_resource``: classify each record against the current version, write winners."""
    connection = lander.connection
    stored = _stored_versions(connection, resources)
    current: dict[tuple[str, str], _Version] = dict(stored)
    winners: dict[tuple[str, str], tuple[Resource, str]] = {}
    for resource, source_file in resources:
        key = (resource.resource_type, resource.id)
        version = current.get(key)
        if version is None:
            outcome = NEW
        else:
            order = compare_versions(
                resource.last_updated, resource.version_id, version.last_updated, version.version_id
            )
            if order > 0:
                outcome = REPLACED
            elif order < 0:
                outcome = STALE
            elif resource.content_hash == version.content_hash:
                outcome = UNCHANGED
            else:
                outcome = REPLACED
        lander.outcomes[(resource.resource_type, outcome)] += 1
        if outcome in (NEW, REPLACED):
            current[key] = _Version(resource.last_updated, resource.version_id, resource.content_hash)
            winners[key] = (resource, source_file)

    superseded = [key for key in winners if key in stored]
    if superseded:
        keys = pa.table(
            {
                "resource_type": pa.array([key[0] for key in superseded], pa.string()),
                "id": pa.array([key[1] for key in superseded], pa.string()),
            }
        )
        connection.register("superseded_keys", keys)
        try:
            run(
                connection,
                """
                DELETE FROM raw_resource
                USING superseded_keys AS k
                WHERE raw_resource.resource_type = k.resource_type AND raw_resource.id = k.id
                """,
            )
        finally:
            connection.unregister("superseded_keys")
    if winners:
        _insert(connection, list(winners.values()), lander.load_id)


def _stored_versions(
    connection: duckdb.DuckDBPyConnection, resources: list[tuple[Resource, str]]
) -> dict[tuple[str, str], _Version]:
    unique = {(resource.resource_type, resource.id) for resource, _ in resources}
    keys = pa.table(
        {
            "resource_type": pa.array([key[0] for key in unique], pa.string()),
            "id": pa.array([key[1] for key in unique], pa.string()),
        }
    )
    connection.register("chunk_keys", keys)
    try:
        rows = connection.execute(
            """
            SELECT r.resource_type, r.id, r.last_updated, r.version_id, r.content_hash
            FROM raw_resource AS r
            JOIN chunk_keys AS k ON r.resource_type = k.resource_type AND r.id = k.id
            """
        ).fetchall()
    finally:
        connection.unregister("chunk_keys")
    return {
        (resource_type, resource_id): _Version(
            last_updated.replace(tzinfo=UTC) if last_updated is not None else None, version_id, content_hash
        )
        for resource_type, resource_id, last_updated, version_id, content_hash in rows
    }


def _insert(connection: duckdb.DuckDBPyConnection, rows: list[tuple[Resource, str]], load_id: int) -> None:
    batch = pa.table(
        {
            "resource_type": pa.array([r.resource_type for r, _ in rows], pa.string()),
            "id": pa.array([r.id for r, _ in rows], pa.string()),
            "version_id": pa.array([r.version_id for r, _ in rows], pa.string()),
            # Stored as naive UTC: the warehouse's TIMESTAMP columns are UTC by contract.
            "last_updated": pa.array(
                [r.last_updated.replace(tzinfo=None) if r.last_updated else None for r, _ in rows],
                pa.timestamp("us"),
            ),
            "content_hash": pa.array([r.content_hash for r, _ in rows], pa.string()),
            "resource": pa.array([r.body for r, _ in rows], pa.binary()).cast(pa.string()),
            "source_file": pa.array([source for _, source in rows], pa.string()),
            "source_line": pa.array([r.source_line for r, _ in rows], pa.int64()),
            "source_entry": pa.array([r.source_entry for r, _ in rows], pa.int64()),
        }
    )
    connection.register("resource_batch", batch)
    try:
        run(
            connection,
            """
            INSERT INTO raw_resource
            SELECT resource_type, id, version_id, last_updated, content_hash, resource::JSON,
                   source_file, source_line, source_entry, ?
            FROM resource_batch
            """,
            [load_id],
        )
    finally:
        connection.unregister("resource_batch")
