"""What is in a warehouse: table sizes, landed resources, quarantine and the last load."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from medgov.analytics.contracts import LoadSummary, TableInfo, WarehouseInfo
from medgov.analytics.warehouse.connection import connect, scalar
from medgov.analytics.warehouse.materialise import TABLE_NAMES


def warehouse_info(warehouse: Path | str) -> WarehouseInfo:
    """Describe the warehouse at ``warehouse``; raises ``FileNotFoundError`` when there is none yet."""
    path = Path(warehouse)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}; load one with `medgov ingest`")
    connection = connect(path, read_only=True)
    try:
        existing = {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        tables: list[TableInfo] = []
        for name in TABLE_NAMES:
            if name in existing:
                tables.append(TableInfo(name=name, rows=int(scalar(connection, f"SELECT count(*) FROM {name}"))))
        raw: dict[str, int] = {}
        quarantined = 0
        last_load: LoadSummary | None = None
        if "raw_resource" in existing:
            raw = {
                str(resource_type): int(count)
                for resource_type, count in connection.execute(
                    "SELECT resource_type, count(*) FROM raw_resource GROUP BY ALL ORDER BY resource_type"
                ).fetchall()
            }
        if "quarantine" in existing:
            quarantined = int(scalar(connection, "SELECT count(*) FROM quarantine"))
        if "load_log" in existing:
            last_rows = connection.execute(
                """
                SELECT load_id, started_at, finished_at, files, bytes, read, new, replaced, unchanged, stale,
                       quarantined
                FROM load_log ORDER BY load_id DESC LIMIT 1
                """
            ).fetchall()
            if last_rows:
                last = last_rows[0]
                last_load = LoadSummary(
                    load_id=int(last[0]),
                    started_at=last[1].replace(tzinfo=UTC),
                    finished_at=last[2].replace(tzinfo=UTC),
                    files=int(last[3]),
                    bytes=int(last[4]),
                    read=int(last[5]),
                    new=int(last[6]),
                    replaced=int(last[7]),
                    unchanged=int(last[8]),
                    stale=int(last[9]),
                    quarantined=int(last[10]),
                )
    finally:
        connection.close()
    return WarehouseInfo(
        path=str(path), raw_resources=raw, quarantined=quarantined, tables=tuple(tables), last_load=last_load
    )
