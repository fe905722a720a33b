"""``medgov bench``: generate a population, run each stage against its peers, print the table, write JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from medgov.analytics.bench import STAGES, Bench, BenchConfig, BenchResult
from medgov.analytics.bench.runner import BenchInputError
from medgov.interfaces.cli.main import DEFAULT_SERVE_THREADS, app, default_serve_workers, fail


@app.command()
def bench(
    patients: Annotated[int, typer.Option(help="Patients in the generated population.", min=1)] = 10_000,
    stages: Annotated[str, typer.Option(help=f"Comma-separated stages: {','.join(STAGES)}.")] = ",".join(STAGES),
    out: Annotated[Path | None, typer.Option(help="Write the results as JSON to this file.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic hospital.", min=0)] = 1,
    repeat: Annotated[int, typer.Option(help="Runs per implementation; the median is reported.", min=1)] = 1,
    peers: Annotated[
        bool, typer.Option("--peers/--no-peers", help="Run the peers (installed in their own environments).")
    ] = True,
    clients: Annotated[int, typer.Option(help="Web: concurrent clients.", min=1)] = 20,
    seconds: Annotated[int, typer.Option(help="Web: seconds of load per page.", min=1)] = 20,
    work_dir: Annotated[Path, typer.Option(help="Generated data and scratch files (reused).")] = Path("var/bench"),
    population: Annotated[
        Path | None,
        typer.Option(help="Use this FHIR NDJSON export (`medgov synth --out`) instead of generating one; read only."),
    ] = None,
    warehouse: Annotated[
        Path | None,
        typer.Option(help="A warehouse already loaded from --population (measures, stats, web); read only."),
    ] = None,
    server_workers: Annotated[
        int | None, typer.Option(help="Web: `medgov serve --workers` (default: as `medgov serve`).", min=1)
    ] = None,
    server_threads: Annotated[int, typer.Option(help="Web: `medgov serve --threads`.", min=1)] = DEFAULT_SERVE_THREADS,
    venvs: Annotated[Path, typer.Option(help="Cache of the peers' virtual environments.")] = Path("var/bench-venvs"),
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the table as Markdown (for the docs).")] = False,
) -> None:
    """Measure ingest, measures, statistics and the web pages on generated data, as ratios to their peers
    (DuckDB read_json, fhir4ds, pandas) run on the same input in the same run; results are checked equal first."""
    from medgov.interfaces.cli.demo import DEMO_PASSWORD

    chosen = tuple(item.strip() for item in stages.split(",") if item.strip())
    unknown = [item for item in chosen if item not in STAGES]
    if unknown or not chosen:
        raise fail(f"unknown stage {', '.join(unknown) or stages!r}; stages are: {', '.join(STAGES)}")
    config = BenchConfig(
        patients=patients,
        work_dir=work_dir,
        venv_dir=venvs,
        stages=chosen,
        seed=seed,
        peers=peers,
        repeat=repeat,
        web_clients=clients,
        web_seconds=seconds,
        web_password=DEMO_PASSWORD,
        web_workers=server_workers or default_serve_workers(),
        web_threads=server_threads,
        population=population,
        warehouse=warehouse,
    )
    console = Console(stderr=True)
    try:
        result = Bench(config, progress=lambda message: console.print(f"[dim]{message}[/dim]")).run()
    except BenchInputError as error:
        raise fail(str(error)) from None
    if markdown:
        typer.echo(markdown_table(result.to_json()))
    else:
        Console(width=200).print(render(result))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_json(), indent=1) + "\n")
        typer.echo(f"results: {out}")


def _equal(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "NO")


def render(result: BenchResult) -> Group:
    environment = result.environment
    table = Table(
        title=f"medgov bench: {result.patients:,} patients (seed {result.seed}), {environment['cpus']} CPUs, "
        f"Python {environment['python']}, DuckDB {environment['duckdb']}",
        title_justify="left",
    )
    headings = ("stage", "implementation", "wall s", "CPU s", "peak MiB", "throughput", "equal", "medgov/peer",
                "CPU medgov/peer")  # fmt: skip
    for heading in headings:
        table.add_column(heading, justify="left" if heading in ("stage", "implementation") else "right")
    notes: list[Text] = []
    for stage in result.stages:
        rows = [(stage.medgov, None, None), *((peer, stage.ratio(peer), stage.cpu_ratio(peer)) for peer in stage.peers)]
        for position, (measured, ratio, cpu_ratio) in enumerate(rows):
            table.add_row(
                stage.stage if position == 0 else "",
                measured.implementation,
                f"{measured.seconds:,.2f}",
                f"{measured.cpu_seconds:,.2f}",
                f"{measured.peak_memory_bytes / 2**20:,.0f}",
                f"{measured.throughput:,.0f} {measured.work_unit}/s",
                _equal(measured.equal),
                "" if ratio is None else f"{ratio:.2f}x",
                "" if cpu_ratio is None else f"{cpu_ratio:.2f}x",
                end_section=position == len(rows) - 1,
            )
        notes.extend(Text(f"{stage.stage}: {note}", style="dim") for note in stage.notes)
    notes.append(Text("medgov/peer = medgov's wall (or CPU) time over the peer's: below 1, medgov is faster"))
    return Group(table, *notes)


def markdown_table(document: dict[str, Any]) -> str:
    """The results document (``--out``) as a Markdown table with the notes below it, as docs/benchmarks.md shows."""
    lines = [
        f"{document['patients']:,} patients, {document['environment']['cpus']} CPUs, "
        f"{document['environment']['memory_bytes'] / 2**30:.0f} GiB, {document['environment']['date'][:10]}",
        "",
        "| stage | implementation | wall s | CPU s | peak MiB | throughput | equal | medgov/peer | CPU medgov/peer |",
        "|---|---|--:|--:|--:|--:|:-:|--:|--:|",
    ]
    notes: list[str] = []
    for stage in document["stages"]:
        rows = [(stage["medgov"], None, None), *((peer, peer["ratio"], peer["cpu_ratio"]) for peer in stage["peers"])]
        for position, (measured, ratio, cpu_ratio) in enumerate(rows):
            lines.append(
                f"| {stage['stage'] if position == 0 else ''} | {measured['implementation']} | "
                f"{measured['seconds']:,.2f} | {measured['cpu_seconds']:,.2f} | "
                f"{measured['peak_memory_bytes'] / 2**20:,.0f} | {measured['throughput']:,.0f} {measured['work_unit']}/s | "
                f"{_equal(measured['equal'])} | {'' if ratio is None else f'{ratio:.2f}x'} | "
                f"{'' if cpu_ratio is None else f'{cpu_ratio:.2f}x'} |"
            )
        notes.extend(f"- {stage['stage']}: {note}" for note in stage["notes"])
    return "\n".join([*lines, "", *notes])
