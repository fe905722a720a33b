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


# --- measures ---------------------------------------------------------------------------------------------
# Measure definitions, evaluation and FHIR MeasureReports (analytics.measures). Results are tidy Arrow tables:
# one row per measure x period bucket x stratum, ready for the operational store.

from medgov.analytics.measures.contracts import MeasureInfo as MeasureInfo  # noqa: E402
from medgov.analytics.measures.contracts import MeasureRun as MeasureRun  # noqa: E402
from medgov.analytics.measures.engine import DIMENSIONS as DIMENSIONS  # noqa: E402
from medgov.analytics.measures.engine import GRAINS as GRAINS  # noqa: E402
from medgov.analytics.measures.engine import RESULT_SCHEMA as RESULT_SCHEMA  # noqa: E402
from medgov.analytics.measures.engine import MeasureInputError as MeasureInputError  # noqa: E402
from medgov.analytics.measures.engine import NoDataError as NoDataError  # noqa: E402
from medgov.analytics.measures.engine import RiskModelReport as RiskModelReport  # noqa: E402
from medgov.analytics.measures.engine import UnknownDimensionError as UnknownDimensionError  # noqa: E402
from medgov.analytics.measures.registry import UnknownMeasureError as UnknownMeasureError  # noqa: E402
from medgov.analytics.measures.spec import Period as Period  # noqa: E402


def list_measures() -> tuple[MeasureInfo, ...]:
    """Every registered measure version, ordered by id then version."""
    from medgov.analytics.measures import registry

    return tuple(MeasureInfo.from_spec(spec) for spec in registry.all_measures())


def measure_info(measure_id: str, version: str | None = None) -> MeasureInfo:
    """One measure's metadata (latest version unless ``version``); raises ``UnknownMeasureError``."""
    from medgov.analytics.measures import registry

    return MeasureInfo.from_spec(registry.get(measure_id, version))


def run_measures(
    warehouse: Path | str,
    period: Period | str,
    measure_ids: Sequence[str] | None = None,
    *,
    grains: Sequence[str] = ("period",),
    stratifiers: Sequence[str | Sequence[str]] = (),
    reference_period: Period | str | None = None,
    subject_lists: bool = False,
    confidence: float = 0.95,
) -> MeasureRun:
    """Evaluate measures (all registered ones when ``measure_ids`` is None; ``id`` or ``id@version``) on the
    DuckDB warehouse at ``warehouse`` for ``period`` (a :class:`Period` or ``YYYY``, ``YYYY-MM``,
    ``YYYY-MM-DD..YYYY-MM-DD``), by ``grains`` (period, month, quarter, year) and ``stratifiers`` (dimension
    names from ``DIMENSIONS``, or combinations as ``"hospital+unit"``). Risk models are fitted on
    ``reference_period`` (default: ``period``). Raises ``UnknownMeasureError``, ``UnknownDimensionError``,
    ``NoDataError`` (subclasses of ``LookupError``/``ValueError``) with a message naming the input.
    """
    import ibis

    from medgov.analytics.measures import engine, fhir, registry
    from medgov.analytics.warehouse.connection import connect

    measured = Period.parse(period) if isinstance(period, str) else period
    reference = Period.parse(reference_period) if isinstance(reference_period, str) else reference_period
    if measure_ids is None:
        specs = registry.all_measures()
    else:
        specs = []
        for item in measure_ids:
            name, _, version = item.partition("@")
            specs.append(registry.get(name, version or None))
    path = Path(warehouse)
    if not path.exists():
        raise NoDataError(f"no warehouse at {path}: run medgov ingest first")
    connection = connect(path, read_only=True)
    try:
        backend = ibis.duckdb.from_connection(connection)
        evaluations = engine.evaluate(
            backend, specs, measured, grains=grains, stratifiers=stratifiers, reference_period=reference,
            confidence=confidence,
        )  # fmt: skip
    finally:
        connection.close()
    reports = tuple(
        report
        for evaluation in evaluations
        for grain in dict.fromkeys(grains or ("period",))
        for report in fhir.measure_reports(evaluation, subject_lists=subject_lists, grain=grain)
    )
    models = tuple(evaluation.model for evaluation in evaluations if evaluation.model is not None)
    return MeasureRun(engine.results_table(evaluations), models, reports)
