"""``medgov demo``: a working system with demo data on the embedded defaults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from medgov.interfaces.cli.demo_steps import DEMO_STEPS
from medgov.interfaces.cli.main import app, serve, setup_django

DEMO_PASSWORD = "medgov-demo-2026!"

DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    ("cmo", "Dr. Alex Morgan", "cmo", ""),
    ("quality", "Jordan Lee", "quality_safety", "Quality & Patient Safety"),
    ("mso", "Sam Patel", "medical_staff_office", "Medical Staff Office"),
    ("chief", "Dr. Riley Chen", "department_chief", "Internal Medicine"),
    ("clinician", "Casey Brooks, RN", "clinician", "Internal Medicine"),
    ("board", "Pat Quinn", "board_member", ""),
    ("auditor", "Morgan Diaz", "auditor", ""),
    ("admin", "Taylor Admin", "administrator", ""),
)

# Later modules append their demo-data loaders to DEMO_STEPS (see demo_steps.py).

# The demo hospital system: seeded, six years ending with the last full quarter before today's date.
DEMO_SEED = 2026
DEMO_START = dt.date(2020, 10, 1)
DEMO_YEARS = 6


def demo_patients() -> int:
    from medgov.config.env import Env

    return Env().get_int("MEDGOV_DEMO_PATIENTS", 10000, minimum=100)


def ensure_clinical_data() -> Path:
    """Generate the seeded demo population once and load it into the warehouse (both are reused after)."""
    from django.conf import settings

    from medgov.analytics import api as analytics
    from medgov.analytics.synth import SynthConfig, generate

    patients = demo_patients()
    export = Path(settings.DATA_DIR) / f"demo-fhir-{patients}"
    warehouse = Path(settings.MEDGOV_WAREHOUSE)
    if not (export / "planted.json").exists():
        typer.echo(f"demo: generating {patients:,} synthetic patients into {export}")
        config = SynthConfig(patients=patients, seed=DEMO_SEED, start=DEMO_START, years=DEMO_YEARS, workers=2)
        generate(config, export)
    loaded = warehouse.exists() and analytics.warehouse_info(warehouse).raw_resources.get("Patient", 0) >= patients
    if not loaded:
        typer.echo(f"demo: loading {export} into the warehouse {warehouse}")
        # The NDJSON files only: planted.json beside them is the generator's answer key, not FHIR.
        report = analytics.ingest(sorted(export.glob("*.ndjson*")), warehouse)
        typer.echo(
            f"demo: {report.totals.read:,} resources read, {report.totals.quarantined:,} quarantined, "
            f"{report.seconds:.0f} s ({report.resources_per_second:,.0f} resources/s)"
        )
    return warehouse


def _safety_demo() -> None:
    from medgov.governance.safety.demo import load_demo_data

    load_demo_data()


DEMO_STEPS.append(("patient-safety events", _safety_demo))


def ensure_demo_users() -> None:
    from medgov.governance.accounts import services
    from medgov.governance.accounts.choices import Role
    from medgov.governance.accounts.models import User

    for username, name, role, department in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        services.do_create_user(
            username=username,
            password=DEMO_PASSWORD,
            roles=[Role(role)],
            display_name=name,
            department=department,
            email=f"{username}@demo.medgov.local",
            actor=None,
        )


DEMO_TARGETS = {
    # The CMO's targets for the headline measures, about national order of magnitude.
    "in-hospital-mortality": 0.03,
    "readmission-30-day": 0.15,
    "falls-with-injury": 0.5,
    "pressure-injuries": 1.0,
}


def ensure_measure_results(warehouse: Path) -> None:
    """Compute the measures once for the demo warehouse, and give the headline measures their targets."""
    from medgov.governance.accounts.models import User
    from medgov.governance.quality import services
    from medgov.governance.quality.choices import ImprovementDirection
    from medgov.governance.quality.models import Measure, MeasureRefresh
    from medgov.interfaces.cli.quality import default_periods

    if not MeasureRefresh.objects.filter(warehouse=str(warehouse), status="succeeded", result_count__gt=0).exists():
        period, reference = default_periods(warehouse)
        typer.echo(f"demo: computing every measure for {period} (risk models fitted on {reference})")
        done = services.do_refresh_measures(
            warehouse=str(warehouse), period=period, reference_period=reference, actor=None
        )
        typer.echo(f"demo: {done.result_count:,} results, {done.signal_count} signals")
    cmo = User.objects.get(username="cmo")
    for measure_id, value in DEMO_TARGETS.items():
        measure = Measure.objects.filter(measure_id=measure_id, is_current=True).first()
        if measure is None or measure.targets.exists():
            continue
        services.do_set_target(
            measure,
            value=value,
            direction=ImprovementDirection(measure.improvement_direction),
            owner=cmo,
            effective_from=DEMO_START,
            reason="Board-approved quality goal",
            actor=cmo,
        )


def ensure_board_report() -> None:
    """The last complete quarter's board report, as the quarterly schedule would have made it."""
    from django.utils import timezone

    from medgov.governance.reports import services
    from medgov.governance.reports.choices import ReportStatus
    from medgov.governance.reports.models import BoardReport
    from medgov.governance.reports.rules import last_complete_quarter

    quarter = last_complete_quarter(timezone.localdate())
    if BoardReport.objects.filter(quarter=quarter.code, status=ReportStatus.SUCCEEDED).exists():
        return
    typer.echo(f"demo: board quality and safety report for {quarter.code}")
    report = services.do_request_board_report(quarter, actor=None, scheduled=True, enqueue=False)
    services.do_generate_board_report(report, actor=None)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server when ready.")] = True,
) -> None:
    """Set up the embedded defaults with demo data, then serve at http://HOST:PORT."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    ensure_demo_users()
    warehouse = ensure_clinical_data()
    ensure_measure_results(warehouse)
    for label, step in DEMO_STEPS:
        typer.echo(f"demo: {label}")
        step()
    ensure_board_report()
    typer.echo("")
    typer.echo(f"medgov demo is ready at http://{host}:{port}/")
    typer.echo(
        f"sign in as 'cmo' (or quality, mso, chief, clinician, board, auditor, admin) with password {DEMO_PASSWORD}"
    )
    if serve_after:
        serve(host=host, port=port)
