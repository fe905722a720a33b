"""``medgov report``: reports made on the server, e.g. by a scheduler (cron, a systemd timer)."""

from __future__ import annotations

from typing import Annotated

import typer

from medgov.interfaces.cli.main import app, fail, setup_django

report_app = typer.Typer(help="Generate reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("board")
def board(
    quarter: Annotated[
        str, typer.Option(help="Quarter to report, e.g. 2026Q3; by default the last complete quarter.")
    ] = "",
    enqueue: Annotated[
        bool,
        typer.Option(
            "--enqueue/--now",
            help="Queue the report for the task worker (as a schedule would), or generate it now (the default).",
        ),
    ] = False,
) -> None:
    """Generate the board quality & safety report (PDF + snapshot), stored like one requested on the web."""
    from medgov.governance.reports.rules import InvalidQuarter, last_complete_quarter, parse_quarter

    setup_django()
    from django.utils import timezone

    try:
        chosen = parse_quarter(quarter) if quarter else last_complete_quarter(timezone.localdate())
    except InvalidQuarter as error:
        raise fail(str(error)) from None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from medgov.governance.reports import services

    if enqueue:
        report = services.do_request_board_report(chosen, actor=None, scheduled=True)
        report.refresh_from_db()
        typer.echo(f"queued board report #{report.pk} for {chosen.code} (task {report.task_result_id or 'pending'})")
        return
    report = services.do_request_board_report(chosen, actor=None, scheduled=True, enqueue=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(f"board report {chosen.code}", total=100)

        def show(percent: int, label: str) -> None:
            bar.update(task, completed=percent, description=f"board report {chosen.code}: {label}")

        report = services.do_generate_board_report(report, actor=None, on_progress=show)
    typer.echo(
        f"board report #{report.pk} for {chosen.code}: {report.pdf.path} "
        f"({report.pdf.size:,} bytes, {report.generation_seconds:.1f} s, measure refreshes "
        f"{', '.join(str(i) for i in report.snapshot['measure_refreshes']) or 'none'})"
    )
