"""Opening the clinical warehouse: a DuckDB file, with the landing tables the ingest writes to."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

WAREHOUSE_ENV = "MEDGOV_WAREHOUSE"
DEFAULT_WAREHOUSE = Path("var") / "warehouse.duckdb"

# One table for every resource type: a single merge path for all of them, and the shape the ViewDefinition
# compiler reads (resource_type, resource). Types are separated by the filter every view carries.
LANDING_DDL = (
    """
    CREATE TABLE IF NOT EXISTS raw_resource (
        resource_type VARCHAR NOT NULL,
        id VARCHAR NOT NULL,
        version_id VARCHAR,
        last_updated TIMESTAMP,
        content_hash VARCHAR NOT NULL,
        resource JSON NOT NULL,
        source_file VARCHAR NOT NULL,
        source_line BIGINT,
        source_entry BIGINT,
        load_id BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS quarantine (
        source_file VARCHAR NOT NULL,
        source_line BIGINT,
        source_entry BIGINT,
        resource_type VARCHAR,
        resource_id VARCHAR,
        reason VARCHAR NOT NULL,
        detail VARCHAR NOT NULL,
        raw_text VARCHAR NOT NULL,
        load_id BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS load_log (
        load_id BIGINT PRIMARY KEY,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP NOT NULL,
        files BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        read BIGINT NOT NULL,
        new BIGINT NOT NULL,
        replaced BIGINT NOT NULL,
        unchanged BIGINT NOT NULL,
        stale BIGINT NOT NULL,
        quarantined BIGINT NOT NULL,
        report JSON NOT NULL
    )
    """,
)


def default_warehouse_path() -> Path:
    """``MEDGOV_WAREHOUSE`` when set, else ``var/warehouse.duckdb`` under the current directory."""
    configured = os.environ.get(WAREHOUSE_ENV)
    return Path(configured) if configured else Path.cwd() / DEFAULT_WAREHOUSE


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating when needed) the warehouse at ``path`` with the landing tables in place.

    The session time zone is UTC so that instants with offsets cast to ``TIMESTAMP`` as UTC wall time, which is
    what the warehouse stores; DuckDB otherwise uses the machine's zone.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    run(connection, "SET TimeZone = 'UTC'")
    # The CLI draws its own progress bar; DuckDB's would interleave with it on the terminal.
    run(connection, "SET enable_progress_bar = false")
    if not read_only:
        for statement in LANDING_DDL:
            run(connection, statement)
    return connection


def run(connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] | None = None) -> None:
    """Execute a statement to completion.

    DuckDB's Python client keeps a statement's result pending until it is fetched, and refuses further work
    on the connection meanwhile; fetching here also makes sure a DELETE or INSERT has finished before the next.
    """
    connection.execute(sql, parameters).fetchall()


def scalar(connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] | None = None) -> Any:
    """The first column of the first row of a query (fetched whole, for the same reason as :func:`run`)."""
    result = connection.execute(sql, parameters).fetchall()
    return result[0][0] if result else None
