"""Benchmark: ingest of a folder of FHIR NDJSON against DuckDB's own NDJSON reader on the same files.

The floor is what DuckDB alone needs to land the same lines as JSON in a warehouse file
(``read_ndjson_objects``, plus the resource type and id extracted in SQL): no validation, no versions, no
quarantine, no views. The ratio says what those cost. Each side runs in a fresh process so that its peak
resident memory (``getrusage``'s ``ru_maxrss``) is its own and neither warms the other's caches in Python.

Run by hand: ``python -m medgov.analytics.ingest.bench --patients 10000`` (generates the data with the
synthetic hospital), or ``--folder PATH`` for an existing export.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from medgov.analytics.ingest.load import DEFAULT_CHUNK_SIZE, ingest
from medgov.analytics.ingest.readers import discover


@dataclass(frozen=True, slots=True)
class Measurement:
    label: str
    bytes: int
    resources: int
    seconds: float
    peak_memory_bytes: int
    cpu_seconds: float
    materialise_seconds: float = 0.0
    table_seconds: tuple[tuple[str, float], ...] = ()

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes / 1_000_000 / self.seconds

    @property
    def resources_per_second(self) -> float:
        return self.resources / self.seconds


@dataclass(frozen=True, slots=True)
class IngestBenchmark:
    ingest: Measurement
    floor: Measurement

    @property
    def ratio(self) -> float:
        """How many times longer ingest takes than the floor."""
        return self.ingest.seconds / self.floor.seconds

    @property
    def cpu_ratio(self) -> float:
        """How many times the floor's CPU time ingest takes: steadier than the wall clock on a busy machine."""
        return self.ingest.cpu_seconds / self.floor.cpu_seconds

    def lines(self) -> list[str]:
        rows = [
            f"{m.label:<28} {m.bytes / 1e6:>9.1f} MB {m.resources:>10,} resources {m.seconds:>8.2f} s "
            f"{m.megabytes_per_second:>8.1f} MB/s {m.resources_per_second:>10,.0f} resources/s "
            f"peak {m.peak_memory_bytes / 2**20:>7.0f} MiB cpu {m.cpu_seconds:>7.2f} s"
            for m in (self.ingest, self.floor)
        ]
        landing = self.ingest.seconds - self.ingest.materialise_seconds
        tables = ", ".join(f"{name} {seconds:.2f}" for name, seconds in self.ingest.table_seconds)
        return [
            *rows,
            f"ingest takes {self.ratio:.2f}x the read_json floor ({self.cpu_ratio:.2f}x its CPU time; "
            f"landing {landing:.2f} s, {landing / self.floor.seconds:.2f}x; "
            f"materialising the tables {self.ingest.materialise_seconds:.2f} s)",
            f"tables (s): {tables}",
        ]


def _peak_memory_bytes() -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _cpu_seconds() -> float:
    """CPU time of this process, every thread included: on a busy machine it varies less than the wall clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure_ingest(files: list[Path], warehouse: Path, chunk_size: int) -> Measurement:
    started = time.perf_counter()
    table_seconds: dict[str, float] = {}
    report = ingest(files, warehouse, chunk_size=chunk_size, table_seconds=table_seconds)
    seconds = time.perf_counter() - started
    return Measurement(
        "medgov ingest",
        report.bytes,
        report.totals.read,
        seconds,
        _peak_memory_bytes(),
        _cpu_seconds(),
        report.materialise_seconds,
        tuple(table_seconds.items()),
    )


def _measure_floor(files: list[Path], warehouse: Path) -> Measurement:
    started = time.perf_counter()
    connection = duckdb.connect(str(warehouse))
    try:
        connection.execute(
            """
            CREATE TABLE raw AS
            SELECT json->>'resourceType' AS resource_type, json->>'id' AS id, json AS resource, filename
            FROM read_ndjson_objects(?, filename = true)
            """,
            [[str(path) for path in files]],
        ).fetchall()
        resources = int(connection.execute("SELECT count(*) FROM raw").fetchall()[0][0])
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in files)
    return Measurement("duckdb read_ndjson_objects", size, resources, seconds, _peak_memory_bytes(), _cpu_seconds())


def benchmark_ingest(
    folder: Path, *, work_dir: Path | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> IngestBenchmark:
    """Time ``ingest`` of the NDJSON files under ``folder`` into a new warehouse, and the read_json floor."""
    files = [path for path in discover([folder]) if ".ndjson" in path.name or ".jsonl" in path.name]
    if not files:
        raise FileNotFoundError(f"no NDJSON files under {folder}")
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            measured_ingest = pool.submit(_measure_ingest, files, Path(scratch) / "ingest.duckdb", chunk_size).result()
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            measured_floor = pool.submit(_measure_floor, files, Path(scratch) / "floor.duckdb").result()
    return IngestBenchmark(ingest=measured_ingest, floor=measured_floor)


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--folder", type=Path, help="NDJSON export to load (default: generate one)")
    parser.add_argument("--patients", type=int, default=10_000, help="patients to generate when no folder")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    options = parser.parse_args(arguments)
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.folder
        if folder is None:
            from medgov.analytics.synth import SynthConfig, generate

            folder = Path(scratch) / "export"
            generate(SynthConfig(patients=options.patients, seed=1), folder)
        result = benchmark_ingest(folder, chunk_size=options.chunk_size)
    print("\n".join(result.lines()))


if __name__ == "__main__":
    main()
