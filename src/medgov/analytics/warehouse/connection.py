"""Opening the clinical warehouse: a DuckDB file, with the landing tables the ingest writes to."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

WAREHOUSE_ENV = "MEDGOV_WAREHOUSE"
DEFAULT_WAREHOUSE = Path("var") / "warehouse.duckdb"
MEMORY_LIMIT_ENV = "MEDGOV_WAREHOUSE_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "2GB"
"""DuckDB's buffer pool, in DuckDB's units (``500MB``, ``2GB``, ``1.5GiB``). A load stages every resource it reads in
the pool and spills beyond it to ``<warehouse>.tmp``, so this, not the size of the export, bounds the memory a load
takes. DuckDB's own default, 80% of RAM, would let one large load take most of the machine."""

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


def configured_memory_limit() -> str:
    """``MEDGOV_WAREHOUSE_MEMORY_LIMIT`` when set, else ``DEFAULT_MEMORY_LIMIT``."""
    return os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


def connect(path: Path | str, *, read_only: bool = False, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating when needed) the warehouse at ``path`` with the landing tables in place.

    The session time zone is UTC so that instants with offsets cast to ``TIMESTAMP`` as UTC wall time, which is
    what the warehouse stores; DuckDB otherwise uses the machine's zone. ``memory_limit`` (default:
    :func:`configured_memory_limit`) caps DuckDB's buffer pool; raises ValueError naming the setting when DuckDB cannot read
    it as a size.
    """
    path = Path(path)
    limit = memory_limit if memory_limit is not None else configured_memory_limit()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only)
    try:
        run(connection, "SET memory_limit = ?", [limit])
    except duckdb.Error as error:
        connection.close()
        raise ValueError(
            f"{MEMORY_LIMIT_ENV} (the warehouse's memory limit) must be a size such as 2GB or 500MB, not {limit!r}"
        ) from error
    run(connection, "SET TimeZone = 'UTC'")
    # DuckDB's default, set because the ingest numbers the lines of an NDJSON file in the order its parallel read
    # stores them (landing.py).
    run(connection, "SET preserve_insertion_order = true")
    # The CLI draws its own progress bar; DuckDB's would interleave with it on the terminal.
    run(connection, "SET enable_progress_bar = false")
    if not read_only:
        for statement in LANDING_DDL:
            run(connection, statement)
    return connection


def run(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
) -> None:
    """Execute a statement to completion.

    DuckDB's Python client keeps a statement's result pending until it is fetched, and refuses further work
    on the connection meanwhile; fetching here also makes sure a DELETE or INSERT has finished before the next.
    """
    connection.execute(sql, parameters).fetchall()


def scalar(connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] | None = None) -> Any:
    """The first column of the first row of a query (fetched whole, for the same reason as :func:`run`)."""
    result = connection.execute(sql, parameters).fetchall()
    return result[0][0] if result else None
