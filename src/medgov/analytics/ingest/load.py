"""One load: read the sources, land them, materialise the canonical tables, log it; all in one transaction.

If anything fails half-way (a bug, a full disk, Ctrl-C) the transaction is rolled back and the warehouse is
exactly as it was before the load: no half-landed chunk, no tables out of step with the raw resources.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from medgov.analytics.contracts import LoadReport
from medgov.analytics.ingest.landing import Lander, ProgressCallback, ReadByPythonInstead
from medgov.analytics.ingest.readers import discover
from medgov.analytics.warehouse.connection import connect, run, scalar
from medgov.analytics.warehouse.materialise import materialise

DEFAULT_CHUNK_SIZE = 20_000
"""Records the Python readers hand to DuckDB per Arrow batch: large enough to amortise a statement, small enough
for tens of MB. Files DuckDB reads itself are landed whole, in one statement."""

_PROGRESS_EVERY = 2_000


def ingest(
    paths: Sequence[Path | str],
    warehouse: Path | str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    table_seconds: dict[str, float] | None = None,
) -> LoadReport:
    """Load FHIR files and folders into the warehouse file at ``warehouse``; see :func:`ingest_into`."""
    files = discover([Path(path) for path in paths])
    connection = connect(warehouse)
    try:
        return ingest_into(connection, files, chunk_size=chunk_size, progress=progress, table_seconds=table_seconds)
    finally:
        connection.close()


def ingest_into(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
    table_seconds: dict[str, float] | None = None,
) -> LoadReport:
    """Land ``files`` raw, rebuild the canonical tables that can have changed and append to ``load_log``, as one
    transaction. ``table_seconds``, when given, receives the seconds each rebuilt table took.

    Should DuckDB's statement for a file fail (which aborts the transaction), the load is rolled back and run
    again with that file read by the Python readers (see :mod:`landing`)."""
    read_by_python: frozenset[Path] = frozenset()
    while True:
        try:
            return _ingest_once(connection, files, chunk_size, progress, table_seconds, read_by_python)
        except ReadByPythonInstead as retry:
            read_by_python |= {retry.path}


def _ingest_once(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[Path],
    chunk_size: int,
    progress: ProgressCallback | None,
    table_seconds: dict[str, float] | None,
    read_by_python: frozenset[Path],
) -> LoadReport:
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    run(connection, "BEGIN TRANSACTION")
    lander: Lander | None = None
    try:
        load_id = int(scalar(connection, "SELECT coalesce(max(load_id), 0) + 1 FROM load_log"))
        lander = Lander(connection, chunk_size=chunk_size, load_id=load_id, read_by_python=read_by_python)
        total_bytes = sum(lander.stage(path, progress, _PROGRESS_EVERY) for path in files)
        lander.land()
        materialise_started = time.perf_counter()
        tables = materialise(connection, changed_resource_types=lander.changed_resource_types(), timings=table_seconds)
        seconds = time.perf_counter() - clock
        report = LoadReport(
            load_id=load_id,
            files=len(files),
            bytes=total_bytes,
            seconds=seconds,
            by_resource_type=lander.counts(),
            quarantine_reasons=dict(sorted(lander.reasons.items())),
            tables=tables,
            materialise_seconds=time.perf_counter() - materialise_started,
        )
        _log(connection, report, started_at)
        run(connection, "COMMIT")
    except BaseException:
        run(connection, "ROLLBACK")
        raise
    finally:
        # Temporary tables are not transactional state to keep: dropped whatever happened.
        if lander is not None:
            lander.close()
    return report


def _log(connection: duckdb.DuckDBPyConnection, report: LoadReport, started_at: datetime) -> None:
    totals = report.totals
    detail = {
        "by_resource_type": {
            name: {
                "read": counts.read,
                "new": counts.new,
                "replaced": counts.replaced,
                "unchanged": counts.unchanged,
                "stale": counts.stale,
                "quarantined": counts.quarantined,
            }
            for name, counts in report.by_resource_type.items()
        },
        "quarantine_reasons": dict(report.quarantine_reasons),
        "tables": dict(report.tables),
        "seconds": report.seconds,
    }
    run(
        connection,
        "INSERT INTO load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.load_id,
            started_at.replace(tzinfo=None),
            datetime.now(UTC).replace(tzinfo=None),
            report.files,
            report.bytes,
            totals.read,
            totals.new,
            totals.replaced,
            totals.unchanged,
            totals.stale,
            totals.quarantined,
            orjson.dumps(detail).decode(),
        ],
    )
