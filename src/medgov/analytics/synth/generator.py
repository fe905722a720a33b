"""Write the synthetic hospital system as FHIR R4 Bulk Data NDJSON, chunk by chunk.

Patients are simulated in chunks of ``CHUNK_PATIENTS``, each with its own random stream, so memory is bounded by
a chunk and the output depends only on the seed, the number of patients and the period: never on the number of
worker processes. Gzip output is one gzip member per chunk (RFC 1952 allows a file of several members), written
with a zero timestamp so the bytes are reproducible.
"""

from __future__ import annotations

import datetime as dt
import gzip
import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from medgov.analytics.synth import reference as ref
from medgov.analytics.synth.fhir import RESOURCE_TYPES, chunk_resources, ndjson, structure_resources
from medgov.analytics.synth.simulate import Chunk, Lookups, build_lookups, simulate_chunk
from medgov.analytics.synth.structure import HospitalSystem, build_hospital_system

CHUNK_PATIENTS = 2_000
PLANTED_FILE = "planted.json"
# FHIR NDJSON is repetitive enough that the fastest level already compresses it about 20-fold.
COMPRESS_LEVEL = 1


@dataclass(frozen=True, slots=True)
class SynthConfig:
    patients: int
    seed: int = 0
    start: dt.date = dt.date(2019, 1, 1)
    years: int = 6
    gzip: bool = False
    workers: int = 1
    # Part of the output's identity: a chunk's random stream is keyed by its position.
    chunk_patients: int = CHUNK_PATIENTS
    # Multiplies the planted outliers' log odds and rate ratios (docs/synth.md): above 1 makes them visible in a
    # population too small to show them at their documented size. The random streams do not depend on it.
    planted_effect_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.patients < 1:
            raise ValueError(f"patients must be at least 1, got {self.patients}")
        if not 1 <= self.years <= 50:
            raise ValueError(f"years must be between 1 and 50, got {self.years}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.chunk_patients < 1:
            raise ValueError(f"chunk_patients must be at least 1, got {self.chunk_patients}")
        if not 0 < self.planted_effect_scale <= 10:
            raise ValueError(f"planted_effect_scale must be above 0 and at most 10, got {self.planted_effect_scale}")


@dataclass(slots=True)
class ChunkStatistics:
    """Counts for the summary, computed from the arrays so no file has to be read back."""

    resources: dict[str, int] = field(default_factory=dict)
    bytes_written: dict[str, int] = field(default_factory=dict)
    admissions: int = 0
    deaths: int = 0
    readmission_index_stays: int = 0
    readmissions: int = 0
    emergency_visits: int = 0
    emergency_returns_72h: int = 0

    def add(self, other: ChunkStatistics) -> None:
        for name, value in other.resources.items():
            self.resources[name] = self.resources.get(name, 0) + value
        for name, value in other.bytes_written.items():
            self.bytes_written[name] = self.bytes_written.get(name, 0) + value
        self.admissions += other.admissions
        self.deaths += other.deaths
        self.readmission_index_stays += other.readmission_index_stays
        self.readmissions += other.readmissions
        self.emergency_visits += other.emergency_visits
        self.emergency_returns_72h += other.emergency_returns_72h


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What a run wrote: files, counts, realised rates and throughput."""

    config: SynthConfig
    out: Path
    files: dict[str, Path]
    resources: dict[str, int]
    bytes_written: dict[str, int]
    admissions: int
    in_hospital_mortality: float
    readmission_30_day: float
    emergency_return_72h: float
    seconds: float

    @property
    def total_resources(self) -> int:
        return sum(self.resources.values())

    @property
    def resources_per_second(self) -> float:
        return self.total_resources / self.seconds if self.seconds > 0 else float("inf")


def _statistics(chunk: Chunk) -> ChunkStatistics:
    """Crude in-hospital mortality, 30-day all-cause readmission and 72-hour ED return of the chunk.

    Readmission follows the CMS Hospital-Wide Readmission cohort in outline: index stays are live discharges
    that are not transfers to another acute facility nor against medical advice, and a readmission is any
    inpatient admission of the same patient starting within 30 days of the index discharge.
    """
    admissions = chunk.admissions
    expired = ref.DISPOSITION_INDEX["exp"]
    excluded = {ref.DISPOSITION_INDEX["other-hcf"], ref.DISPOSITION_INDEX["aadvice"], expired}
    died = admissions.disposition == expired
    same_patient_next = np.r_[admissions.patient[1:] == admissions.patient[:-1], False]
    next_start = np.r_[admissions.start[1:], np.inf]
    readmitted = same_patient_next & (next_start - admissions.end <= 30.0)
    index_stay = ~np.isin(admissions.disposition, list(excluded))
    visits = chunk.emergency
    return ChunkStatistics(
        admissions=int(admissions.start.size),
        deaths=int(died.sum()),
        readmission_index_stays=int(index_stay.sum()),
        readmissions=int((index_stay & readmitted).sum()),
        emergency_visits=int(visits.start.size),
        emergency_returns_72h=int(visits.is_return.sum()),
    )


def _encode(resources: dict[str, list[dict[str, object]]], compress: bool) -> tuple[dict[str, bytes], dict[str, int]]:
    payloads: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for name in RESOURCE_TYPES:
        items = resources.get(name)
        if not items:
            continue
        data = ndjson(items)
        payloads[name] = gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0) if compress else data
        counts[name] = len(items)
    return payloads, counts


# Worker state: the structure is rebuilt once per process from the seed rather than pickled.
_WORKER: dict[str, tuple[HospitalSystem, Lookups]] = {}


def _worker_init(seed: int, start: dt.date, years: int, effect_scale: float) -> None:
    system = build_hospital_system(seed, start, years, effect_scale)
    _WORKER["system"] = (system, build_lookups(system))


def _run_chunk(
    chunk_index: int, first_patient: int, count: int, compress: bool
) -> tuple[dict[str, bytes], ChunkStatistics]:
    system, lookups = _WORKER["system"]
    chunk = simulate_chunk(system, lookups, chunk_index, first_patient, count)
    statistics = _statistics(chunk)
    payloads, counts = _encode(chunk_resources(system, chunk), compress)
    statistics.resources = counts
    return payloads, statistics


def _chunks(patients: int, size: int) -> list[tuple[int, int, int]]:
    return [(index, first, min(size, patients - first)) for index, first in enumerate(range(0, patients, size))]


def _results(config: SynthConfig) -> Iterator[tuple[dict[str, bytes], ChunkStatistics]]:
    chunks = _chunks(config.patients, config.chunk_patients)
    if config.workers == 1 or len(chunks) == 1:
        _worker_init(config.seed, config.start, config.years, config.planted_effect_scale)
        for chunk_index, first, count in chunks:
            yield _run_chunk(chunk_index, first, count, config.gzip)
        return
    # spawn, not fork: forking a process that may hold threads (BLAS, a test runner) can deadlock.
    context = multiprocessing.get_context("spawn")
    window = 2 * config.workers  # bounded look-ahead keeps memory to a few chunks
    with ProcessPoolExecutor(
        max_workers=config.workers,
        mp_context=context,
        initializer=_worker_init,
        initargs=(config.seed, config.start, config.years, config.planted_effect_scale),
    ) as pool:
        pending: list[Future[tuple[dict[str, bytes], ChunkStatistics]]] = []
        iterator = iter(chunks)
        for chunk_index, first, count in iterator:
            pending.append(pool.submit(_run_chunk, chunk_index, first, count, config.gzip))
            if len(pending) >= window:
                break
        while pending:
            result = pending.pop(0).result()
            following = next(iterator, None)
            if following is not None:
                pending.append(pool.submit(_run_chunk, *following, config.gzip))
            yield result


def generate(config: SynthConfig, out: Path, progress: Callable[[int, int], None] | None = None) -> SynthSummary:
    """Write the hospital system of ``config`` to ``out`` as one NDJSON file per resource type, plus
    ``planted.json`` (see ``planted_outliers``). Existing files of the same names are replaced."""
    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".ndjson.gz" if config.gzip else ".ndjson"
    files = {name: out / f"{name}{suffix}" for name in RESOURCE_TYPES}
    system = build_hospital_system(config.seed, config.start, config.years, config.planted_effect_scale)
    totals = ChunkStatistics()
    handles = {name: path.open("wb") for name, path in files.items()}
    try:
        structure_payloads, structure_counts = _encode(structure_resources(system), config.gzip)
        for name, data in structure_payloads.items():
            handles[name].write(data)
        totals.add(
            ChunkStatistics(
                resources=structure_counts, bytes_written={k: len(v) for k, v in structure_payloads.items()}
            )
        )
        done = 0
        for payloads, statistics in _results(config):
            for name, data in payloads.items():
                handles[name].write(data)
            statistics.bytes_written = {name: len(data) for name, data in payloads.items()}
            totals.add(statistics)
            done = min(config.patients, done + config.chunk_patients)
            if progress is not None:
                progress(done, config.patients)
    finally:
        for handle in handles.values():
            handle.close()
    (out / PLANTED_FILE).write_bytes(
        orjson.dumps(system.planted.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )
    seconds = time.perf_counter() - began
    return SynthSummary(
        config=config,
        out=out,
        files=files,
        resources={name: totals.resources.get(name, 0) for name in RESOURCE_TYPES},
        bytes_written={name: totals.bytes_written.get(name, 0) for name in RESOURCE_TYPES},
        admissions=totals.admissions,
        in_hospital_mortality=totals.deaths / totals.admissions if totals.admissions else 0.0,
        readmission_30_day=(
            totals.readmissions / totals.readmission_index_stays if totals.readmission_index_stays else 0.0
        ),
        emergency_return_72h=(
            totals.emergency_returns_72h / totals.emergency_visits if totals.emergency_visits else 0.0
        ),
        seconds=seconds,
    )
