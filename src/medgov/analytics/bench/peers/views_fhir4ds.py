"""Peer for the ViewDefinition part of ingest: fhir4ds (SQL-on-FHIR v2 on DuckDB) running medgov's views.

The NDJSON lands in fhir4ds's resource table with DuckDB's NDJSON reader (fhir4ds's own file loader parses a
file as one JSON document, which NDJSON is not, and falls back to one INSERT per resource), then each view
becomes a table with ``create_table``. A view fhir4ds cannot compile or run is recorded with its error and
left out of the comparison. fhir4ds runs ``INSTALL json`` on every connection it opens, which needs the
internet even though DuckDB has JSON built in; the connection it gets skips that statement and loads the
built-in extension instead. Runs in its own virtual environment:
``python views_fhir4ds.py ARGUMENTS_JSON RESULT_PATH``.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Any

import duckdb


class OfflineConnection:
    """A DuckDB connection that loads the built-in JSON extension instead of downloading it."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection

    def execute(self, sql: str, *arguments: Any, **options: Any) -> Any:
        if sql.strip().upper().startswith("INSTALL JSON"):
            return self._connection.execute("LOAD json")
        return self._connection.execute(sql, *arguments, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class OfflineDuckDB:
    """The ``duckdb`` module as fhir4ds sees it: the same, but its connections are offline ones."""

    def __getattr__(self, name: str) -> Any:
        return getattr(duckdb, name)

    @staticmethod
    def connect(*arguments: Any, **options: Any) -> OfflineConnection:
        return OfflineConnection(duckdb.connect(*arguments, **options))


def run(files: list[str], views: dict[str, Path], database: str) -> tuple[dict[str, int], dict[str, str], float]:
    # Imported here, not at the top: fhir4ds is installed only in the peer's environment, and the module must
    # import anywhere (the architecture test imports every analytics module).
    import fhir4ds.dialects.duckdb as fhir4ds_duckdb
    from fhir4ds.datastore.connections import ConnectedDatabase
    from fhir4ds.datastore.core import FHIRDataStore
    from fhir4ds.dialects import DuckDBDialect

    fhir4ds_duckdb.duckdb = OfflineDuckDB()
    connection = duckdb.connect(database)
    store = FHIRDataStore(dialect=DuckDBDialect(connection=OfflineConnection(connection)))
    db = ConnectedDatabase(store, connection_type="DuckDB", database_path=database)
    started = time.perf_counter()
    connection.execute("INSERT INTO fhir_resources (resource) SELECT json FROM read_ndjson_objects(?)", [files])
    landed = time.perf_counter() - started
    rows: dict[str, int] = {}
    failed: dict[str, str] = {}
    for name, path in views.items():
        try:
            db.create_table(json.loads(path.read_text()), name)
            rows[name] = int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])
        except Exception as error:  # fhir4ds raises whatever its generated SQL makes DuckDB raise
            failed[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    connection.close()
    return rows, failed, landed


def cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    logging.disable(logging.WARNING)
    arguments: dict[str, Any] = json.loads(sys.argv[1])
    views = {name: Path(path) for name, path in arguments["views"].items()}
    cpu_started, started = cpu_seconds(), time.perf_counter()
    rows, failed, landed = run(list(arguments["files"]), views, arguments["warehouse"])
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    output = {"rows": sum(rows.values()), "tables": rows, "failed": failed, "landing_seconds": landed}
    Path(sys.argv[2]).write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "output": output}))


if __name__ == "__main__":
    main()
