"""``medgov measures``: list the registered measures, show one, run them on the warehouse."""

from __future__ import annotations

import csv
import io
import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from medgov.analytics import api
from medgov.analytics.warehouse.connection import WAREHOUSE_ENV, default_warehouse_path
from medgov.interfaces.cli.main import app, fail

measures_app = typer.Typer(help="Quality and outcome measures: list, show, run.", no_args_is_help=True)
app.add_typer(measures_app, name="measures")

TABLE_COLUMNS = (
    "measure_id", "grain", "period_start", "period_end", "stratifier", "stratum", "initial_population",
    "denominator", "denominator_exclusion", "numerator", "score", "score_lower", "score_upper", "observed",
    "expected", "oe_ratio", "oe_lower", "oe_upper", "status",
)  # fmt: skip


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    fhir = "fhir"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@measures_app.command("list")
def list_measures() -> None:
    """List every registered measure and version."""
    table = Table("id", "version", "scoring", "source", "title")
    for item in api.list_measures():
        table.add_row(item.id, item.version, item.scoring, item.source, item.title)
    Console().print(table)


@measures_app.command()
def show(
    measure: Annotated[str, typer.Argument(help="Measure id, optionally id@version.")],
) -> None:
    """Show a measure's definition: populations, scoring, source and what is simplified."""
    name, _, version = measure.partition("@")
    try:
        item = api.measure_info(name, version or None)
    except api.UnknownMeasureError as error:
        raise fail(str(error)) from None
    for field in ("id", "version", "title", "description", "rationale", "source", "definition", "scoring",
                  "improvement_notation", "unit_of_analysis", "rate_unit", "risk_model", "minimum_denominator"):  # fmt: skip
        typer.echo(f"{field:<22} {getattr(item, field)}")
    for line in item.simplifications:
        typer.echo(f"{'simplified':<22} {line}")


@measures_app.command()
def run(
    period: Annotated[str, typer.Option(help="YYYY, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD.")],
    measure: Annotated[
        list[str] | None, typer.Option("--measure", "-m", help="Measure id (repeatable); default: all.")
    ] = None,
    by: Annotated[
        list[str] | None, typer.Option("--by", help="Stratifier (repeatable): a dimension or dims joined by +.")
    ] = None,
    grain: Annotated[
        list[str] | None, typer.Option("--grain", help="period, month, quarter or year (repeatable).")
    ] = None,
    reference_period: Annotated[
        str | None, typer.Option("--reference-period", help="Period the risk models are fitted on.")
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    subject_lists: Annotated[bool, typer.Option("--subject-lists", help="FHIR: include subject lists.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            "--warehouse",
            help=f"Warehouse file (default: ${WAREHOUSE_ENV}, else var/warehouse.duckdb).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Evaluate measures for a period, by time grain and stratifier, as a table, CSV, JSON or FHIR."""
    try:
        result = api.run_measures(
            warehouse or default_warehouse_path(), period, measure or None, grains=grain or ("period",),
            stratifiers=by or (), reference_period=reference_period, subject_lists=subject_lists,
            measure_reports=output_format is OutputFormat.fhir,
        )  # fmt: skip
    except (api.UnknownMeasureError, api.MeasureInputError, ValueError) as error:
        raise fail(str(error.args[0]) if error.args else str(error)) from None
    rows = [{key: _plain(value) for key, value in row.items()} for row in result.results.to_pylist()]
    if output_format is OutputFormat.table:
        table = Table(*TABLE_COLUMNS)
        for row in rows:
            table.add_row(*[_cell(row[column]) for column in TABLE_COLUMNS])
        console = Console(file=out.open("w") if out else None, width=240)
        console.print(table)
        for model in result.models:
            c_statistic = "n/a" if model.c_statistic is None else f"{model.c_statistic:.3f}"
            console.print(
                f"risk model {model.measure_id}: {model.kind} {model.formula or ''} on {model.reference_period}, "
                f"n={model.n}, c={c_statistic}, calibration slope={_cell(model.calibration_slope)}"
            )
            for label, check in (("in sample", model.in_sample), ("held out", model.held_out)):
                console.print(f"  {label}: {_model_check(check)}")
        return
    if output_format is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(result.results.column_names))
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    elif output_format is OutputFormat.json:
        text = json.dumps(rows, indent=1)
    else:
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": report} for report in result.measure_reports],
        }
        text = json.dumps(bundle, indent=1)
    if out:
        out.write_text(text)
    else:
        typer.echo(text, nl=False)


def _model_check(check: api.ModelCheck | None) -> str:
    """One line of a model's discrimination and calibration on a set of cases."""
    if check is None:
        return "no cases (the measured period lies within the reference period)"
    parts = [f"n={check.n}", f"O={check.observed:,.0f}", f"E={check.expected:,.1f}", f"O/E={_cell(check.oe_ratio)}"]
    if check.c_statistic is not None:
        parts.append(f"c={check.c_statistic:.3f}")
    parts.append(f"calibration-in-the-large={_cell(check.calibration_intercept)}")
    parts.append(f"slope={_cell(check.calibration_slope)}")
    if check.hosmer_lemeshow is not None:
        parts.append(f"Hosmer-Lemeshow={check.hosmer_lemeshow:.1f} (p={_cell(check.hosmer_lemeshow_p)})")
    deciles = " ".join(_cell(group.observed / group.expected if group.expected else None) for group in check.groups)
    parts.append(f"O/E by decile of risk: {deciles}")
    return ", ".join(parts + list(check.notes))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
