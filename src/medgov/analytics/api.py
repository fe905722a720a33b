"""The analytics facade: what the rest of medgov may call. Takes paths and plain values, returns contracts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from medgov.analytics.contracts import LoadReport, WarehouseInfo
from medgov.analytics.ingest.load import DEFAULT_CHUNK_SIZE, ProgressCallback
from medgov.analytics.ingest.load import ingest as _ingest
from medgov.analytics.warehouse.info import warehouse_info as _warehouse_info


def ingest(
    paths: Sequence[Path | str],
    warehouse: Path | str,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: ProgressCallback | None = None,
) -> LoadReport:
    """Load FHIR R4 files or folders (Bulk Data NDJSON, Bundles, single resources; plain or gzip) into the
    warehouse, idempotently and atomically, and rebuild its canonical tables. See ``analytics.ingest``."""
    return _ingest(paths, warehouse, chunk_size=chunk_size, progress=progress)


def warehouse_info(warehouse: Path | str) -> WarehouseInfo:
    """Tables and row counts of the warehouse, landed resources per type, quarantine size and the last load."""
    return _warehouse_info(warehouse)
