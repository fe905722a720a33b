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
#
# content_hash is DuckDB's hash() of the stored JSON (see landing.py), which DuckDB does not promise to keep across
# its versions: content_hash_probe holds the hash of CONTENT_HASH_PROBE as the stored hashes were made, and a
# warehouse opened for writing by a DuckDB that hashes it otherwise has its hashes made again (connect()).
# The resources are compressed with Zstandard: DuckDB's default for strings, dictionary and FSST, chooses per
# segment after trying them, which cost a third of the time a load spends moving resources into this table, and
# leaves the JSON about seven times larger than Zstandard does; reading is as fast.
_RAW_RESOURCE_COLUMNS = """(
    resource_type VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    version_id VARCHAR,
    last_updated TIMESTAMP,
    content_hash UBIGINT NOT NULL,
    resource JSON NOT NULL USING COMPRESSION zstd,
    source_file VARCHAR NOT NULL,
    source_line BIGINT,
    source_entry BIGINT,
    load_id BIGINT NOT NULL
)"""

CONTENT_HASH_PROBE = '{"resourceType":"Basic","id":"content-hash-probe"}'

LANDING_DDL = (
    f"CREATE TABLE IF NOT EXISTS raw_resource {_RAW_RESOURCE_COLUMNS}",
    "CREATE TABLE IF NOT EXISTS content_hash_probe (probe_hash UBIGINT NOT NULL)",
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
        try:
            _settle_landing_tables(connection)
        except BaseException:
            connection.close()
            raise
    return connection


def _settle_landing_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the landing tables, or bring those of an earlier warehouse to the current form, in one transaction:
    ``raw_resource`` with MD5 hashes and default compression is rebuilt, and content hashes made by a DuckDB that
    hashes differently are made again (each once, the first time the warehouse is opened for writing)."""
    run(connection, "BEGIN TRANSACTION")
    try:
        if _raw_resource_is_of_an_earlier_form(connection):
            run(connection, f"CREATE TABLE raw_resource_rebuilt {_RAW_RESOURCE_COLUMNS}")
            run(
                connection,
                """
                INSERT INTO raw_resource_rebuilt
                SELECT resource_type, id, version_id, last_updated, hash(resource), resource, source_file,
                       source_line, source_entry, load_id
                FROM raw_resource
                """,
            )
            run(connection, "DROP TABLE raw_resource")
            run(connection, "ALTER TABLE raw_resource_rebuilt RENAME TO raw_resource")
        for statement in LANDING_DDL:
            run(connection, statement)
        probe_hash = scalar(connection, "SELECT hash(?::JSON)", [CONTENT_HASH_PROBE])
        stored_probe_hash = scalar(connection, "SELECT max(probe_hash) FROM content_hash_probe")
        if stored_probe_hash != probe_hash:
            if stored_probe_hash is not None:
                run(connection, "UPDATE raw_resource SET content_hash = hash(resource)")
            run(connection, "DELETE FROM content_hash_probe")
            run(connection, "INSERT INTO content_hash_probe VALUES (?)", [probe_hash])
        run(connection, "COMMIT")
    except BaseException:
        run(connection, "ROLLBACK")
        raise


def _raw_resource_is_of_an_earlier_form(connection: duckdb.DuckDBPyConnection) -> bool:
    content_hash_type = scalar(
        connection,
        """
        SELECT data_type FROM duckdb_columns()
        WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'raw_resource'
            AND column_name = 'content_hash'
        """,
    )
    return content_hash_type is not None and content_hash_type != "UBIGINT"


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
