"""The medgov side of each stage, run by ``process.run_measured`` in a fresh interpreter.

``python -m medgov.analytics.bench.worker TASK ARGUMENTS_JSON RESULT_PATH``. Only the work is timed; reading
what it wrote back for the equality checks is the driver's job, after the process has ended, so that neither
the check's time nor its memory is charged to the implementation.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb

Task = Callable[[Mapping[str, Any]], dict[str, Any]]


def _ingest(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """medgov's loader: versions, quarantine and the canonical tables, into a new warehouse file."""
    from medgov.analytics import api

    report = api.ingest([Path(path) for path in arguments["files"]], Path(arguments["warehouse"]))
    return {
        "resources": report.totals.read,
        "bytes": report.bytes,
        "quarantined": report.totals.quarantined,
        "materialise_seconds": report.materialise_seconds,
        "tables": dict(report.tables),
    }


def _floor(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """DuckDB alone: the NDJSON lines land as JSON with their type and id, nothing else."""
    files = [str(path) for path in arguments["files"]]
    with duckdb.connect(arguments["warehouse"]) as connection:
        connection.execute(
            """
            CREATE TABLE raw AS
            SELECT json->>'resourceType' AS resource_type, json->>'id' AS id, json AS resource
            FROM read_ndjson_objects(?)
            """,
            [files],
        )
        resources = connection.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    return {"resources": int(resources), "bytes": sum(Path(path).stat().st_size for path in files)}


def _views(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """medgov's ViewDefinition compiler on the named views over the same landed table fhir4ds is given."""
    from medgov.analytics.ingest.viewdefinition import compile_view

    files = [str(path) for path in arguments["files"]]
    views = {name: json.loads(Path(path).read_text()) for name, path in arguments["views"].items()}
    with duckdb.connect(arguments["warehouse"]) as connection:
        started = time.perf_counter()
        connection.execute(
            "CREATE TABLE resources AS SELECT json->>'resourceType' AS resource_type, json AS resource "
            "FROM read_ndjson_objects(?)",
            [files],
        )
        landed = time.perf_counter() - started
        rows = {}
        for name, view in views.items():
            connection.execute(f'CREATE TABLE "{name}" AS {compile_view(view, source="resources").sql}')
            rows[name] = int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])
    return {"rows": sum(rows.values()), "landing_seconds": landed, "tables": rows}


def _measures(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """medgov's measure engine, through the facade, by department and month."""
    from medgov.analytics import api

    run = api.run_measures(
        Path(arguments["warehouse"]),
        arguments["period"],
        list(arguments["measures"]),
        grains=("month",),
        stratifiers=("department",),
    )
    results = run.results
    Path(arguments["out"]).write_bytes(_arrow_to_json(results))
    return {"rows": results.num_rows, "subjects": int(_sum_denominators(results))}


def _full_measures(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Every registered measure by month, quarter and year and every dimension, risk models fitted on the
    reference period: what ``medgov quality refresh`` asks of the engine."""
    from medgov.analytics import api

    run = api.run_measures(
        Path(arguments["warehouse"]),
        arguments["period"],
        None,
        grains=("month", "quarter", "year"),
        stratifiers=tuple(api.DIMENSIONS),
        reference_period=arguments["reference_period"],
    )
    results = run.results
    overall = [row for row in results.select(["grain", "stratifier", "initial_population"]).to_pylist()
               if row["grain"] == "year" and not row["stratifier"]]  # fmt: skip
    return {
        "rows": results.num_rows,
        "measures": len(set(results["measure_id"].to_pylist())),
        "subjects": sum(int(row["initial_population"]) for row in overall),
        "models": len(run.models),
        "dimensions": len(api.DIMENSIONS),
    }


def _arrow_to_json(table: Any) -> bytes:
    rows = table.select(
        ["measure_id", "grain", "period_start", "stratifier", "stratum", "denominator", "denominator_exclusion",
         "numerator"]
    ).to_pylist()  # fmt: skip
    return json.dumps(rows, default=str).encode()


def _sum_denominators(table: Any) -> int:
    return sum(
        row["denominator"] for row in table.select(["stratifier", "denominator"]).to_pylist() if not row["stratifier"]
    )


def _stats(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The statistics the quality pages draw from measure results: an XmR chart with Making Data Count rules
    for every department's monthly series, and a funnel plot of the departments for every month."""
    from medgov.analytics import api

    rows = json.loads(Path(arguments["results"]).read_text())
    series: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for row in rows:
        if row["stratifier"] != "department":
            continue
        numerator, denominator = int(row["numerator"]), int(row["denominator"]) - int(row["denominator_exclusion"])
        series.setdefault((row["measure_id"], row["stratum"]), {})[row["period_start"]] = (numerator, denominator)
    months = sorted({month for points in series.values() for month in points})
    charts = 0
    signals = 0
    for points in series.values():
        values = [
            points[month][0] / points[month][1] if month in points and points[month][1] else float("nan")
            for month in months
        ]
        chart = api.measure_control_chart(values, improvement_direction="decrease")
        charts += 1
        signals += sum(1 for kind in chart.point_type if str(kind).startswith("special_cause"))
    funnels = 0
    for measure_id in sorted({key[0] for key in series}):
        for month in months:
            units = [points[month] for key, points in series.items() if key[0] == measure_id and month in points]
            units = [unit for unit in units if unit[1] > 0]
            if len(units) >= 3:
                api.funnel_for_proportions([unit[0] for unit in units], [unit[1] for unit in units])
                funnels += 1
    return {"charts": charts, "funnels": funnels, "special_cause_points": signals}


TASKS: dict[str, Task] = {
    "ingest": _ingest,
    "floor": _floor,
    "views": _views,
    "measures": _measures,
    "measures-full": _full_measures,
    "stats": _stats,
}


def _preload(task: str) -> None:
    # Imports are a one-off cost of a process, not of the work; the peers import pandas before their clock
    # starts, so medgov's side loads its modules (and Ibis's lazily loaded DuckDB backend) before its clock too.
    if task in ("ingest", "measures", "measures-full", "stats"):
        from medgov.analytics import api  # noqa: F401
    if task == "views":
        from medgov.analytics.ingest import viewdefinition  # noqa: F401
    if task in ("measures", "measures-full"):
        import ibis

        ibis.duckdb  # noqa: B018  (loads the backend)
        from medgov.analytics.measures import engine, fhir, registry  # noqa: F401


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> None:
    task, arguments_json, result_path = argv if argv is not None else sys.argv[1:]
    arguments = json.loads(arguments_json)
    _preload(task)
    cpu_started, started = _cpu_seconds(), time.perf_counter()
    output = TASKS[task](arguments)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
    Path(result_path).write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "output": output}))


if __name__ == "__main__":
    main()
