"""``medgov synth``: write a synthetic multi-hospital system as FHIR R4 Bulk Data NDJSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from medgov.interfaces.cli.main import app, fail


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(f"--start must be a date as YYYY-MM-DD, got {value!r}") from None


@app.command()
def synth(
    patients: Annotated[int, typer.Option(help="Number of patients.", min=1)],
    out: Annotated[Path, typer.Option(help="Folder for the NDJSON files (created if missing).")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same bytes.", min=0)] = 0,
    start: Annotated[str, typer.Option(help="First day of the period, YYYY-MM-DD.")] = "2019-01-01",
    years: Annotated[int, typer.Option(help="Length of the period in years.", min=1, max=50)] = 6,
    gzip: Annotated[bool, typer.Option("--gzip/--no-gzip", help="Write .ndjson.gz instead of .ndjson.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (the output does not depend on it).", min=1)] = 2,
) -> None:
    """Generate a synthetic hospital system (3 hospitals) as one NDJSON file per resource type, as $export
    writes them, plus planted.json naming the practitioners and units planted as outliers."""
    from medgov.analytics.synth import SynthConfig, generate

    config = SynthConfig(
        patients=patients, seed=seed, start=_parse_date(start), years=years, gzip=gzip, workers=workers
    )
    if out.exists() and not out.is_dir():
        raise fail(f"--out {out} exists and is not a folder")
    with typer.progressbar(length=patients, label="synth", file=None) as bar:
        last = 0

        def progress(done: int, total: int) -> None:
            nonlocal last
            bar.update(done - last)
            last = done

        summary = generate(config, out, progress=progress)
    for name, count in summary.resources.items():
        size = summary.bytes_written[name] / 1_000_000
        typer.echo(f"{summary.files[name].name:<36} {count:>12,} resources {size:>10,.1f} MB")
    typer.echo(
        f"{summary.total_resources:,} resources in {summary.seconds:.1f} s "
        f"({summary.resources_per_second:,.0f} resources/s); {summary.admissions:,} admissions, "
        f"in-hospital mortality {summary.in_hospital_mortality:.1%}, 30-day readmission "
        f"{summary.readmission_30_day:.1%}, 72-hour ED return {summary.emergency_return_72h:.1%}"
    )
    typer.echo(f"planted outliers: {out / 'planted.json'}")
