"""Run the bench stages on one generated population and compare medgov with its peers on the same input.

Every implementation runs as its own process (:mod:`medgov.analytics.bench.process`); medgov's side in this
interpreter's environment (:mod:`medgov.analytics.bench.worker`), the peers from source files shipped in
``peers/`` inside their own virtual environments (:mod:`medgov.analytics.bench.venvs`). After the runs the
results are checked equal, with DuckDB over what each wrote, before any ratio is reported: an implementation
whose result differs is reported as unequal and its ratio should not be read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from medgov.analytics.bench.process import Run, run_measured
from medgov.analytics.bench.results import BenchResult, Measured, StageResult

STAGES: tuple[str, ...] = ("ingest", "measures", "stats", "web")
IN_PROCESS_STAGES: tuple[str, ...] = ("ingest", "measures", "stats")
MEASURES: tuple[str, ...] = ("readmission-30-day", "in-hospital-mortality")
MEASURE_TABLES: tuple[str, ...] = ("encounter", "encounter_diagnosis", "patient")
PROBE_PATIENTS = 200

Progress = Callable[[str], None]


class BenchInputError(ValueError):
    """The bench was given input it cannot use; the message names the input and the problem."""


@dataclass(frozen=True)
class BenchConfig:
    patients: int
    work_dir: Path
    venv_dir: Path
    stages: tuple[str, ...] = IN_PROCESS_STAGES
    seed: int = 1
    peers: bool = True
    peer_python: Path | None = None
    """Run the pandas peers with this interpreter instead of their own environment (the smoke test)."""
    repeat: int = 1
    start: dt.date = dt.date(2019, 1, 1)
    years: int = 6
    web_clients: int = 20
    web_seconds: int = 20
    web_username: str = "cmo"
    web_password: str = ""
    web_workers: int = 2
    web_threads: int = 4
    population: Path | None = None
    """A FHIR NDJSON export to use instead of generating one (read only; ``medgov synth`` writes one)."""
    warehouse: Path | None = None
    """A warehouse already loaded from ``population``, for the measures, stats and web stages (read only)."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def period(self) -> str:
        end = dt.date(self.start.year + self.years, self.start.month, self.start.day) - dt.timedelta(days=1)
        return f"{self.start.isoformat()}..{end.isoformat()}"


def peer_script(name: str) -> Path:
    return Path(str(resources.files("medgov.analytics.bench.peers").joinpath(f"{name}.py")))


def view_files() -> dict[str, Path]:
    folder = Path(str(resources.files("medgov.analytics.warehouse").joinpath("views")))
    return {path.stem: path for path in sorted(folder.glob("*.json"))}


class Bench:
    """One bench run: the population, the peer environments and the stages, in order."""

    def __init__(self, config: BenchConfig, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress or (lambda message: None)
        self.work = config.work_dir
        self.work.mkdir(parents=True, exist_ok=True)
        name = f"{config.patients}-seed{config.seed}"
        if config.warehouse is not None and "ingest" in config.stages:
            raise BenchInputError(
                f"the ingest stage rebuilds its warehouse, so it cannot run on the given warehouse {config.warehouse}"
            )
        self.population = config.population or self.work / f"population-{name}"
        self.warehouse = config.warehouse or self.work / f"warehouse-{name}.duckdb"
        self.measure_results = self.work / f"measures-medgov-{name}.json"
        self.peer_versions: dict[str, dict[str, str]] = {}

    # --- input ----------------------------------------------------------------------------------------------

    def files(self) -> list[Path]:
        if self.config.population is not None:
            return self._given_files(self.config.population)
        if not (self.population / "planted.json").exists():
            from medgov.analytics.synth import SynthConfig, generate

            self.progress(f"generating {self.config.patients:,} patients (seed {self.config.seed})")
            if self.population.exists():
                shutil.rmtree(self.population)
            generate(
                SynthConfig(
                    patients=self.config.patients,
                    seed=self.config.seed,
                    start=self.config.start,
                    years=self.config.years,
                    workers=min(os.cpu_count() or 1, 4),
                ),
                self.population,
            )
        # Only the NDJSON export: planted.json beside it is the generator's answer key, not FHIR.
        return sorted(self.population.glob("*.ndjson"))

    def _given_files(self, folder: Path) -> list[Path]:
        files = sorted(folder.glob("*.ndjson"))
        if not files:
            raise BenchInputError(f"the population folder {folder} holds no .ndjson files")
        patient_file = folder / "Patient.ndjson"
        if not patient_file.exists():
            raise BenchInputError(f"the population folder {folder} has no Patient.ndjson")
        with patient_file.open("rb") as lines:
            patients = sum(1 for line in lines if line.strip())
        if patients != self.config.patients:
            raise BenchInputError(
                f"the population folder {folder} holds {patients:,} patients, not {self.config.patients:,}: "
                f"pass --patients {patients}"
            )
        if self.config.warehouse is not None and not self.config.warehouse.exists():
            raise BenchInputError(f"the warehouse {self.config.warehouse} does not exist")
        return files

    def python_for(self, peer: str) -> Path:
        if self.config.peer_python is not None and peer == "pandas":
            return self.config.peer_python
        from medgov.analytics.bench.venvs import ensure_venv, installed

        self.progress(f"peer environment {peer}")
        python = ensure_venv(peer, self.config.venv_dir)
        self.peer_versions[peer] = installed(python)
        return python

    # --- running --------------------------------------------------------------------------------------------

    def _medgov(self, task: str, arguments: Mapping[str, Any], *, prepare: Callable[[], None] | None = None) -> Run:
        return self._repeat(
            [sys.executable, "-m", "medgov.analytics.bench.worker", task, json.dumps(arguments)], task, prepare
        )

    def _peer(
        self, peer: str, script: str, arguments: Mapping[str, Any], *, prepare: Callable[[], None] | None = None
    ) -> Run:
        argv = [str(self.python_for(peer)), str(peer_script(script)), json.dumps(arguments)]
        return self._repeat(argv, script, prepare)

    def _repeat(self, argv: list[str], label: str, prepare: Callable[[], None] | None) -> Run:
        runs = []
        for attempt in range(self.config.repeat):
            if prepare is not None:
                prepare()
            self.progress(f"  {label} run {attempt + 1}/{self.config.repeat}")
            runs.append(run_measured(argv, label=label))
        median = statistics.median_low(run.seconds for run in runs)
        return next(run for run in runs if run.seconds == median)

    # --- stages ---------------------------------------------------------------------------------------------

    def run(self) -> BenchResult:
        stages: list[StageResult] = []
        files = self.files()
        for stage in self.config.stages:
            self.progress(f"stage {stage}")
            if stage == "ingest":
                stages.extend(self.ingest(files))
            elif stage == "measures":
                stages.append(self.measures(files))
                stages.append(self.full_measures(files))
            elif stage == "stats":
                stages.append(self.stats(files))
            elif stage == "web":
                from medgov.analytics.bench.web import web_stage

                self.ensure_warehouse(files)
                stages.extend(
                    web_stage(self, files, username=self.config.web_username, password=self.config.web_password)
                )
            else:
                raise ValueError(f"unknown stage {stage!r}; stages are: {', '.join(STAGES)}")
        return BenchResult(self.config.patients, self.config.seed, self.environment(), tuple(stages))

    def environment(self) -> dict[str, Any]:
        memory = 0
        with contextlib.suppress(ValueError, OSError):
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "memory_bytes": memory,
            "repeat": self.config.repeat,
            "peer_versions": self.peer_versions,
            **self.config.extra,
        }

    def ensure_warehouse(self, files: list[Path]) -> None:
        if not self.warehouse.exists():
            self.progress("loading the warehouse (untimed)")
            run_measured(
                [sys.executable, "-m", "medgov.analytics.bench.worker", "ingest",
                 json.dumps({"files": [str(path) for path in files], "warehouse": str(self.warehouse)})],
                label="ingest",
            )  # fmt: skip

    def ingest(self, files: list[Path]) -> list[StageResult]:
        paths = [str(path) for path in files]
        size = sum(path.stat().st_size for path in files)
        floor_path = self.work / "floor.duckdb"
        pandas_out = self.work / "ingest-pandas"

        def fresh(*targets: Path) -> Callable[[], None]:
            def remove() -> None:
                for target in targets:
                    if target.is_dir():
                        shutil.rmtree(target)
                    elif target.exists():
                        target.unlink()

            return remove

        medgov = self._medgov(
            "ingest", {"files": paths, "warehouse": str(self.warehouse)}, prepare=fresh(self.warehouse)
        )
        expected = _resource_digest(self.warehouse, "SELECT resource_type, id FROM raw_resource")
        resources_read = int(medgov.output["resources"])
        peers = []
        floor = self._medgov("floor", {"files": paths, "warehouse": str(floor_path)}, prepare=fresh(floor_path))
        floor_equal = _resource_digest(floor_path, "SELECT resource_type, id FROM raw") == expected
        peers.append(_measured("duckdb read_ndjson_objects (floor)", floor, resources_read, "resources", floor_equal))
        fresh(floor_path)()
        notes = [
            f"{len(files)} NDJSON files, {size / 1e6:,.1f} MB; equal = the same resources (type and id) landed",
            f"medgov rebuilt its {len(medgov.output['tables'])} canonical tables in "
            f"{medgov.output['materialise_seconds']:.1f} s of its {medgov.seconds:.1f} s",
        ]
        if self.config.peers or self.config.peer_python is not None:
            run = self._peer("pandas", "ingest_pandas", {"files": paths, "out": str(pandas_out)},
                             prepare=fresh(pandas_out))  # fmt: skip
            query = f"SELECT resourceType AS resource_type, id FROM read_parquet('{pandas_out}/*.parquet', union_by_name = true)"
            peers.append(
                _measured("pandas + orjson loader", run, resources_read, "resources",
                          _resource_digest(None, query) == expected)
            )  # fmt: skip
            fresh(pandas_out)()
        results = [StageResult("ingest", _measured("medgov ingest", medgov, resources_read, "resources"),
                               tuple(peers), tuple(notes))]  # fmt: skip
        if self.config.peers:
            results.append(self.views(paths))
        return results

    def views(self, paths: list[str]) -> StageResult:
        """medgov's ViewDefinition compiler against fhir4ds on the views fhir4ds can run, from the same table."""
        views = view_files()
        python = self.python_for("fhir4ds")
        probe = self.work / f"population-{PROBE_PATIENTS}-probe"
        if not (probe / "planted.json").exists():
            from medgov.analytics.synth import SynthConfig, generate

            generate(SynthConfig(patients=PROBE_PATIENTS, seed=self.config.seed), probe)
        probe_db = self.work / "fhir4ds-probe.duckdb"
        probe_db.unlink(missing_ok=True)
        probed = run_measured(
            [str(python), str(peer_script("views_fhir4ds")),
             json.dumps({"files": [str(p) for p in sorted(probe.glob("*.ndjson"))],
                         "views": {name: str(path) for name, path in views.items()}, "warehouse": str(probe_db)})],
            label="fhir4ds probe",
        )  # fmt: skip
        probe_db.unlink(missing_ok=True)
        failed: dict[str, str] = dict(probed.output["failed"])
        supported = {name: str(path) for name, path in views.items() if name not in failed}
        medgov_db, peer_db = self.work / "views-medgov.duckdb", self.work / "views-fhir4ds.duckdb"
        arguments = {"files": paths, "views": supported}
        medgov = self._medgov("views", {**arguments, "warehouse": str(medgov_db)},
                              prepare=lambda: medgov_db.unlink(missing_ok=True))  # fmt: skip
        peer = self._peer("fhir4ds", "views_fhir4ds", {**arguments, "warehouse": str(peer_db)},
                          prepare=lambda: peer_db.unlink(missing_ok=True))  # fmt: skip
        unequal = [name for name in supported if _table_digest(medgov_db, name) != _table_digest(peer_db, name)]
        rows = int(medgov.output["rows"])
        notes = [
            f"views both run: {', '.join(supported) or 'none'} ({rows:,} rows); landing the NDJSON into the "
            f"resource table is included in both ({medgov.output['landing_seconds']:.1f} s for medgov)",
            *(f"fhir4ds cannot run view {name}: {reason}" for name, reason in failed.items()),
            *(f"view {name}: fhir4ds's rows differ from medgov's" for name in unequal),
        ]
        medgov_db.unlink(missing_ok=True)
        peer_db.unlink(missing_ok=True)
        return StageResult(
            "ingest: views",
            _measured("medgov ViewDefinition compiler", medgov, rows, "rows", details={"views": list(supported)}),
            (_measured("fhir4ds", peer, rows, "rows", not unequal and bool(supported), {"failed": failed}),),
            tuple(notes),
        )

    def measures(self, files: list[Path]) -> StageResult:
        self.ensure_warehouse(files)
        start, _, end = self.config.period.partition("..")
        medgov = self._medgov(
            "measures",
            {"warehouse": str(self.warehouse), "period": self.config.period, "measures": list(MEASURES),
             "out": str(self.measure_results)},
        )  # fmt: skip
        subjects = int(medgov.output["subjects"])
        peers = []
        notes = [
            f"{', '.join(MEASURES)} for {self.config.period} by department and month; work = index stays "
            "evaluated (both measures); medgov's run includes its risk models, Charlson scores and intervals",
        ]
        if self.config.peers or self.config.peer_python is not None:
            tables = self.work / "measure-tables"
            tables.mkdir(exist_ok=True)
            with duckdb.connect(str(self.warehouse), read_only=True) as connection:
                for name in MEASURE_TABLES:
                    connection.execute(f"COPY {name} TO '{tables / name}.parquet' (FORMAT parquet)")
            out = self.work / "measures-pandas.json"
            run = self._peer("pandas", "measures_pandas",
                             {"tables": str(tables), "period_start": start, "period_end": end, "out": str(out)})  # fmt: skip
            differences = compare_measure_counts(
                json.loads(self.measure_results.read_text()), json.loads(out.read_text())
            )
            notes.extend(differences[:10])
            peers.append(_measured("pandas", run, subjects, "index stays", not differences))
            notes.append("pandas reads the three warehouse tables it needs from Parquet (exported untimed)")
        return StageResult("measures", _measured("medgov measure engine", medgov, subjects, "index stays"),
                           tuple(peers), tuple(notes))  # fmt: skip

    def full_measures(self, files: list[Path]) -> StageResult:
        """Every measure by month, quarter and year, overall and by every dimension, risk models fitted on the
        first two years: the run ``medgov quality refresh`` makes."""
        self.ensure_warehouse(files)
        reference = f"{self.config.start.isoformat()}..{self.reference_end().isoformat()}"
        medgov = self._medgov(
            "measures-full",
            {"warehouse": str(self.warehouse), "period": self.config.period, "reference_period": reference},
        )
        output = medgov.output
        return StageResult(
            "measures: full set",
            _measured("medgov measure engine", medgov, int(output["subjects"]), "subjects"),
            (),
            (
                f"all {output['measures']} measures for {self.config.period} by month, quarter and year, overall "
                f"and by each of the {output['dimensions']} dimensions ({output['rows']:,} result rows), "
                f"{output['models']} risk models fitted on {reference}; work = subjects evaluated (all measures); "
                "no peer",
            ),
        )

    def reference_end(self) -> dt.date:
        start = self.config.start
        end = dt.date(start.year + self.config.years, start.month, start.day) - dt.timedelta(days=1)
        return min(end, dt.date(start.year + 2, start.month, start.day) - dt.timedelta(days=1))

    def stats(self, files: list[Path]) -> StageResult:
        if not self.measure_results.exists():
            self.ensure_warehouse(files)
            self.progress("computing measure results for the statistics (untimed)")
            run_measured(
                [sys.executable, "-m", "medgov.analytics.bench.worker", "measures",
                 json.dumps({"warehouse": str(self.warehouse), "period": self.config.period,
                             "measures": list(MEASURES), "out": str(self.measure_results)})],
                label="measures",
            )  # fmt: skip
        medgov = self._medgov("stats", {"results": str(self.measure_results)})
        charts = int(medgov.output["charts"]) + int(medgov.output["funnels"])
        return StageResult(
            "stats",
            _measured("medgov statistics", medgov, charts, "charts"),
            (),
            (
                f"{medgov.output['charts']} XmR charts (one per measure and department, monthly) and "
                f"{medgov.output['funnels']} funnel plots (one per measure and month); no peer: the reference "
                "vectors in the test suite are the comparison for correctness",
            ),
        )


def _measured(
    name: str, run: Run, work: float, unit: str, equal: bool | None = None, details: Mapping[str, Any] | None = None
) -> Measured:
    return Measured(
        name, run.seconds, run.cpu_seconds, run.peak_memory_bytes, work, unit, equal,
        {**run.output, **(details or {})},
    )  # fmt: skip


def _resource_digest(database: Path | None, query: str) -> dict[str, tuple[int, int]]:
    """Per resource type, how many resources and an order-free hash of their ids."""
    with duckdb.connect(str(database) if database else ":memory:", read_only=database is not None) as connection:
        rows = connection.execute(
            f"SELECT resource_type, count(*), sum(hash(id))::VARCHAR FROM ({query}) GROUP BY 1"
        ).fetchall()
    return {str(kind): (int(count), int(digest)) for kind, count, digest in rows}


def _table_digest(database: Path, table: str) -> tuple[int, int]:
    """Row count and an order-free hash of the rows, every value compared as text."""
    with duckdb.connect(str(database), read_only=True) as connection:
        columns = [row[0] for row in connection.execute(f'DESCRIBE "{table}"').fetchall()]
        text = ", ".join(f"coalesce(CAST(\"{column}\" AS VARCHAR), '<null>')" for column in columns)
        count, digest = connection.execute(
            f'SELECT count(*), coalesce(sum(hash(concat_ws(chr(31), {text}))), 0)::VARCHAR FROM "{table}"'
        ).fetchall()[0]
    return int(count), int(digest)


def compare_measure_counts(medgov: Sequence[Mapping[str, Any]], peer: Sequence[Mapping[str, Any]]) -> list[str]:
    """Differences between medgov's department x month counts and a peer's, as readable lines (none = equal)."""

    def key(row: Mapping[str, Any]) -> tuple[str, str, str]:
        return str(row["measure_id"]), str(row["period_start"])[:10], str(row["stratum"])

    def counts(row: Mapping[str, Any]) -> tuple[int, int, int]:
        return int(row["denominator"]), int(row["denominator_exclusion"]), int(row["numerator"])

    ours = {key(row): counts(row) for row in medgov if row.get("stratifier") == "department"}
    theirs = {key(row): counts(row) for row in peer}
    lines = []
    for item in sorted(ours.keys() | theirs.keys()):
        if ours.get(item) != theirs.get(item):
            lines.append(f"measures differ at {item}: medgov {ours.get(item)}, peer {theirs.get(item)}")
    return lines
