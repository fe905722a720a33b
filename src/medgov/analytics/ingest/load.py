"""One load: read the sources, land them, materialise the canonical tables, log it; all in one transaction.

If anything fails half-way (a bug, a full disk, Ctrl-C) the transaction is rolled back and the warehouse is
exactly as it was before the load: no half-landed chunk, no tables out of step with the raw resources.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from medgov.analytics.contracts import LoadReport
from medgov.analytics.ingest.landing import Lander
from medgov.analytics.ingest.readers import SourceFile, discover
from medgov.analytics.warehouse.connection import connect, run, scalar
from medgov.analytics.warehouse.materialise import materialise

DEFAULT_CHUNK_SIZE = 20_000
"""Records merged per round trip: large enough to amortise the per-chunk lookup, small enough for tens of MB."""

ProgressCallback = Callable[[int, Path], None]
"""Called with the number of on-disk bytes just consumed and the file being read."""

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
    transaction. ``table_seconds``, when given, receives the seconds each rebuilt table took."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    total_bytes = 0
    run(connection, "BEGIN TRANSACTION")
    try:
        load_id = int(scalar(connection, "SELECT coalesce(max(load_id), 0) + 1 FROM load_log"))
        lander = Lander(connection, load_id=int(load_id), chunk_size=chunk_size)
        for path in files:
            source = SourceFile(path)
            total_bytes += source.size
            lander.begin_file(str(path))
            reported = 0
            for count, record in enumerate(source.records(), start=1):
                lander.add(record, str(path))
                if progress is not None and count % _PROGRESS_EVERY == 0:
                    position = source.bytes_read
                    progress(position - reported, path)
                    reported = position
            if progress is not None:
                progress(source.size - reported, path)
        lander.finish()
        materialise_started = time.perf_counter()
        tables = materialise(connection, changed_resource_types=lander.changed_resource_types(), timings=table_seconds)
        seconds = time.perf_counter() - clock
        report = LoadReport(
            load_id=int(load_id),
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
