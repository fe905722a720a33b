"""``medgov quality``: refresh stored measure results and signals from the warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from medgov.interfaces.cli.main import app, fail, setup_django

quality_app = typer.Typer(
    help="Quality measures: results for the pages, and the signals they raise.", no_args_is_help=True
)
app.add_typer(quality_app, name="quality")


def default_periods(warehouse: Path) -> tuple[str, str]:
    """The warehouse's whole quarters as the measured period, and its first two years as the reference."""
    from medgov.analytics import api as analytics

    span = analytics.clinical_period(warehouse)
    quarters = analytics.whole_quarters(*span) if span else None
    if quarters is None:
        raise fail(f"the warehouse {warehouse} holds no whole quarter of encounters; load data with medgov ingest")
    start, end = quarters
    reference_end = min(end, dt.date(start.year + 2, start.month, 1) - dt.timedelta(days=1))
    return f"{start}..{end}", f"{start}..{reference_end}"


@quality_app.command("refresh")
def refresh(
    warehouse: Annotated[
        Path | None, typer.Option(help="Warehouse file (default: the MEDGOV_WAREHOUSE setting).")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Measured period, e.g. 2021-01-01..2026-09-30 (default: all whole quarters).")
    ] = None,
    reference_period: Annotated[
        str | None, typer.Option(help="Period the risk models are fitted on (default: the first two years).")
    ] = None,
) -> None:
    """Evaluate every measure by month, quarter and year and every dimension, store the results the pages read,
    and raise new signals (SPC special causes, funnel outliers, count aberrations)."""
    setup_django()
    from django.conf import settings

    from medgov.analytics import api as analytics
    from medgov.governance.quality import services

    path = warehouse or Path(settings.MEDGOV_WAREHOUSE)
    default_period, default_reference = default_periods(path)
    try:
        done = services.do_refresh_measures(
            warehouse=str(path),
            period=period or default_period,
            reference_period=reference_period or (default_reference if period is None else None),
            actor=None,
        )
    except (analytics.MeasureInputError, LookupError) as error:
        raise fail(str(error)) from None
    typer.echo(f"stored {done.result_count:,} results; {done.signal_count} new signal(s)")
