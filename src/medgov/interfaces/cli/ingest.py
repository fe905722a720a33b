"""``medgov ingest`` and ``medgov warehouse``: load FHIR into the clinical warehouse and look at it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from medgov.analytics import api
from medgov.analytics.contracts import LoadReport, WarehouseInfo
from medgov.analytics.ingest.load import DEFAULT_CHUNK_SIZE
from medgov.analytics.ingest.readers import discover
from medgov.analytics.warehouse.connection import WAREHOUSE_ENV, default_warehouse_path
from medgov.interfaces.cli.main import app, fail

warehouse_app = typer.Typer(help="Inspect the clinical warehouse.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")

WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        help=f"Warehouse file (default: ${WAREHOUSE_ENV}, else var/warehouse.duckdb).",
        dir_okay=False,
    ),
]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="FHIR files or folders: NDJSON, Bundles, resources; .gz too.")],
    warehouse: WarehouseOption = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Records merged per round trip.")] = DEFAULT_CHUNK_SIZE,
) -> None:
    """Load FHIR R4 into the warehouse (idempotent, all-or-nothing) and rebuild its tables."""
    target = warehouse or default_warehouse_path()
    try:
        files = discover(paths)
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    if not files:
        raise fail("no FHIR files found (looked for .ndjson, .jsonl and .json, plain or .gz)")
    console = Console(stderr=True)
    total = sum(path.stat().st_size for path in files)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=total)

        def advance(done: int, path: Path) -> None:
            bar.update(task, advance=done, description=path.name[:40])

        report = api.ingest(files, target, chunk_size=chunk_size, progress=advance)
    Console().print(render_report(report, target))


@warehouse_app.command("info")
def info(warehouse: WarehouseOption = None) -> None:
    """Show the warehouse's tables, row counts, quarantine and last load."""
    target = warehouse or default_warehouse_path()
    try:
        details = api.warehouse_info(target)
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    Console().print(render_info(details))


def render_report(report: LoadReport, warehouse: Path) -> Group:
    # Summary lines sit below the table rather than in its caption, which would wrap to the table's width.
    table = Table(title=f"load {report.load_id} into {warehouse}", title_justify="left")
    for heading in ("resource type", "read", "new", "replaced", "unchanged", "stale", "quarantined"):
        if heading == "resource type":
            table.add_column(heading, no_wrap=True)
        else:
            table.add_column(heading, justify="right")
    rows = [*report.by_resource_type.items(), ("total", report.totals)]
    for name, counts in rows:
        table.add_row(
            name,
            *(
                f"{value:,}"
                for value in (
                    counts.read,
                    counts.new,
                    counts.replaced,
                    counts.unchanged,
                    counts.stale,
                    counts.quarantined,
                )
            ),
            style="bold" if name == "total" else None,
        )
    lines = [
        Text(
            f"{report.files} files, {report.bytes / 1_000_000:.1f} MB in {report.seconds:.1f} s: "
            f"{report.megabytes_per_second:.1f} MB/s, {report.resources_per_second:,.0f} resources/s "
            f"(tables rebuilt in {report.materialise_seconds:.1f} s)"
        )
    ]
    lines.extend(
        Text(f"quarantined, {reason}: {count:,}", style="red") for reason, count in report.quarantine_reasons.items()
    )
    if report.quarantine_reasons:
        lines.append(Text("see the quarantine table for each record's file, line, reason and text"))
    return Group(table, *lines)


def render_info(details: WarehouseInfo) -> Group:
    table = Table(title=f"warehouse {details.path}", title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for item in details.tables:
        table.add_row(item.name, f"{item.rows:,}")
    table.add_row("raw_resource", f"{sum(details.raw_resources.values()):,}", style="dim")
    table.add_row("quarantine", f"{details.quarantined:,}", style="red" if details.quarantined else "dim")
    last = details.last_load
    if last is None:
        summary = "no load yet"
    else:
        summary = (
            f"last load {last.load_id} finished {last.finished_at:%Y-%m-%d %H:%M:%S} UTC: {last.files} files, "
            f"{last.read:,} read, {last.new:,} new, {last.replaced:,} replaced, {last.unchanged:,} unchanged, "
            f"{last.stale:,} stale, {last.quarantined:,} quarantined"
        )
    return Group(table, Text(summary))
