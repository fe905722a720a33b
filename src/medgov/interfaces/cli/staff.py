"""``medgov staff ...``: the medical staff office's batch commands, and its demo data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from medgov.interfaces.cli.demo_steps import DEMO_STEPS
from medgov.interfaces.cli.main import app, fail, setup_django

staff_app = typer.Typer(help="Medical staff office: imports and the daily scan.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


@staff_app.command("scan")
def scan(
    enqueue: Annotated[bool, typer.Option("--enqueue/--now", help="Queue for the worker, or run here.")] = True,
) -> None:
    """The daily scan: expiry reminders, suspension on credential lapse, reappointment applications."""
    setup_django()
    from medgov.governance.staff.tasks import daily_staff_scan

    if enqueue:
        result = daily_staff_scan.enqueue()
        typer.echo(f"queued daily staff scan {result.id}")
    else:
        typer.echo(str(daily_staff_scan.call()))


@staff_app.command("import-nppes")
def import_nppes(
    header_file: Annotated[Path, typer.Argument(help="NPPES ..._fileheader.csv")],
    data_file: Annotated[Path, typer.Argument(help="NPPES npidata_pfile_....csv")],
    department: Annotated[str, typer.Option(help="Department code for new practitioners.")] = "",
) -> None:
    """Import individual practitioners from an NPPES download: all rows or none."""
    setup_django()
    from medgov.governance.staff import nppes, services
    from medgov.governance.staff.models import Department

    target = Department.objects.filter(code=department).first() if department else None
    if department and target is None:
        raise fail(f"no department with code {department!r}")
    try:
        report = services.do_import_nppes(
            header_text=header_file.read_text(encoding="utf-8-sig"),
            data_text=data_file.read_text(encoding="utf-8-sig"),
            header_name=header_file.name,
            data_name=data_file.name,
            department=target,
            actor=None,
        )
    except (OSError, UnicodeDecodeError, nppes.NppesFileError) as error:
        raise fail(f"nothing imported: {error}") from None
    typer.echo(f"NPPES import: {report}")


@staff_app.command("import-warehouse")
def import_warehouse() -> None:
    """Link practitioners to the warehouse by NPI and add those not on file."""
    setup_django()
    from django.conf import settings
    from django.core.exceptions import ValidationError

    from medgov.analytics import api
    from medgov.governance.staff import services

    try:
        records = api.practitioner_directory(Path(settings.MEDGOV_WAREHOUSE))
        report = services.do_import_warehouse_practitioners(records, actor=None)
    except (FileNotFoundError, ValidationError) as error:
        raise fail(f"nothing imported: {'; '.join(getattr(error, 'messages', [str(error)]))}") from None
    typer.echo(f"warehouse import: {report}")


# --- demo data --------------------------------------------------------------------------------------------------

DEMO_ROSTER: tuple[tuple[str, str, str, str, str], ...] = (
    # given, family, specialty, department, practice group
    ("Amara", "Okafor", "Internal Medicine", "medicine", "Riverside Internists"),
    ("Ben", "Hargreaves", "Internal Medicine", "medicine", "Riverside Internists"),
    ("Carla", "Mendes", "Cardiovascular Disease", "medicine", "Harbor Cardiology"),
    ("Dev", "Raman", "Hospitalist", "medicine", ""),
    ("Elena", "Sokolova", "Hospitalist", "medicine", ""),
    ("Farid", "Haddad", "General Surgery", "surgery", "Lakeside Surgeons"),
    ("Grace", "Liu", "General Surgery", "surgery", "Lakeside Surgeons"),
    ("Hugo", "Berg", "Orthopaedic Surgery", "surgery", ""),
)


def _demo_npi(index: int) -> str:
    from medgov.governance.staff import rules

    stem = f"1{730000 + index * 37:08d}"
    return next(stem + str(check) for check in range(10) if rules.is_valid_npi(stem + str(check)))


def load_staff_demo() -> None:
    """Departments, catalogue, practitioners with credentials in every state, pending requests, open FPPEs and
    OPPE profiles. Idempotent: does nothing when the demo departments exist."""
    from django.conf import settings

    from medgov.analytics import api
    from medgov.governance.accounts.models import User
    from medgov.governance.staff import services
    from medgov.governance.staff.models import Department

    if Department.objects.filter(code="medicine").exists():
        typer.echo("  staff demo data already present")
        return
    from django.utils import timezone

    today = timezone.localdate()
    chief = User.objects.filter(username="chief").first()
    cmo = User.objects.filter(username="cmo").first()
    medicine = services.do_create_department(
        name="Internal Medicine", code="medicine", chief=chief, warehouse_id="dept-medicine", actor=None
    )
    surgery = services.do_create_department(name="Surgery", code="surgery", warehouse_id="dept-surgery", actor=None)
    departments = {"medicine": medicine, "surgery": surgery}
    items = {
        "medicine": services.do_create_privilege_item(
            medicine,
            code="im-core",
            name="Internal medicine core",
            criteria="Completed ACGME IM residency",
            actor=None,
        ),
        "surgery": services.do_create_privilege_item(
            surgery,
            code="gs-core",
            name="General surgery core",
            criteria="Completed ACGME surgery residency",
            actor=None,
        ),
    }
    sedation = services.do_create_privilege_item(
        medicine,
        code="sedation",
        name="Moderate sedation",
        kind="special",
        involves_controlled_substances=True,
        criteria="ACLS and 20 supervised sedations",
        actor=None,
    )

    # Practitioners of the generated hospital when its warehouse is there; the built-in roster otherwise.
    warehouse = Path(settings.MEDGOV_WAREHOUSE)
    roster: list[tuple[str, str, str, str, str, str, str | None]] = []
    if warehouse.exists():
        try:
            for record in api.practitioner_directory(warehouse)[:12]:
                department = "surgery" if "surg" in record.specialty_display.lower() else "medicine"
                roster.append(
                    (record.given, record.family, record.specialty_display, department, "", record.npi, record.id)
                )
        except Exception as error:
            typer.echo(f"  warehouse not readable ({error}); using the built-in roster")
            roster = []
    if not roster:
        roster = [(g, f, s, d, p, _demo_npi(i), None) for i, (g, f, s, d, p) in enumerate(DEMO_ROSTER)]

    verified = today - dt.timedelta(days=20)
    practitioners = []
    for index, (given, family, specialty, department, group, npi, warehouse_id) in enumerate(roster):
        practitioner = services.do_create_practitioner(
            npi=npi,
            family_name=family,
            given_name=given,
            credential_text="MD",
            specialty=specialty,
            department=departments[department],
            practice_group=group,
            warehouse_id=warehouse_id,
            appointment_category="active",
            actor=None,
        )
        # Credentials in every state: most valid, one expiring in 25 days, one in 75, one expired yesterday.
        licence_expiry = {
            1: today + dt.timedelta(days=25),
            2: today + dt.timedelta(days=75),
            3: today - dt.timedelta(days=1),
        }.get(index, today + dt.timedelta(days=700))
        files = [
            (
                "state_licence",
                "State Board of Medicine",
                f"MD-{40100 + index}",
                "MA",
                today - dt.timedelta(days=900),
                licence_expiry,
            ),
            (
                "dea_registration",
                "Drug Enforcement Administration",
                f"B{index}1234563",
                "MA",
                today - dt.timedelta(days=400),
                today + dt.timedelta(days=300 + index),
            ),
            (
                "board_certification",
                "American Board of Medical Specialties",
                f"ABMS-{index}",
                "",
                today - dt.timedelta(days=3000),
                today + dt.timedelta(days=1500),
            ),
            (
                "malpractice_coverage",
                "Commonwealth Physicians Mutual",
                f"POL-{index}",
                "",
                today - dt.timedelta(days=200),
                today + dt.timedelta(days=165),
            ),
            ("npdb_query", "National Practitioner Data Bank", f"NPDB-{index}", "", None, None),
            ("oig_exclusion", "HHS OIG LEIE", "", "", None, None),
            ("sam_exclusion", "SAM.gov", "", "", None, None),
            ("education", "State University School of Medicine", "MD", "", today - dt.timedelta(days=6000), None),
        ]
        for kind, issuer, number, state, issued, expires in files:
            if index == 4 and kind == "malpractice_coverage":
                continue  # missing: shows on the expirables dashboard
            services.do_add_credential(
                practitioner,
                kind=kind,
                issuer=issuer,
                number=number,
                state=state,
                issued_on=issued,
                expires_on=expires,
                result="confirmed",
                verified_on=verified,
                verification_source="primary source",
                actor=None,
            )
        practitioners.append(practitioner)

    # Privileges through the full path (opens FPPEs), except the last two: pending requests.
    for index, practitioner in enumerate(practitioners):
        home = practitioner.department
        assert home is not None
        requested = [items[home.code]] + ([sedation] if index == 0 and home.code == "medicine" else [])
        request = services.do_submit_privilege_request(
            practitioner, kind="initial", items=requested, is_complete=True, actor=None
        )
        if index >= len(practitioners) - 2 or index == 4:
            continue
        for step in ("department_chief", "credentials_committee", "medical_executive_committee", "board"):
            # Decided ten days ago, while every licence was current; the expired one lapses afterwards.
            services.do_review_privilege_request(
                request, step=step, outcome="approve", decided_on=today - dt.timedelta(days=10), actor=None
            )
    # Older FPPEs of all but the first two are concluded; theirs stay open.
    for index, practitioner in enumerate(practitioners):
        if index < 2:
            continue
        for fppe in practitioner.fppes.filter(status="open"):
            services.do_conclude_fppe(fppe, satisfactory=True, conclusion="Ten charts reviewed", actor=None)
    services.do_send_expiry_reminders(today=today)
    services.do_enforce_all_credential_lapses(today=today)

    # OPPE: the measure engine's per-practitioner results are not connected in this installation, so the demo
    # stores illustrative figures, labelled as such, in the same contract the engine will fill.
    _demo_oppe(medicine, practitioners, today)
    if cmo is not None:
        member = User.objects.filter(username="quality").first()
        if member is not None:
            services.do_appoint_peer_review_member(member, actor=None)
    first = practitioners[2]
    services.do_refer_peer_review(
        first,
        source="safety_event",
        reference="SE-DEMO-1",
        summary="Delayed escalation of a deteriorating patient overnight.",
        actor=None,
    )
    typer.echo(f"  {len(practitioners)} practitioners, 2 departments, credentials, requests, FPPEs and OPPE")


def _demo_oppe(department: Any, practitioners: Sequence[Any], today: dt.date) -> None:
    from medgov.analytics.api import (
        DepartmentFunnel,
        DepartmentOppeResults,
        FunnelLimit,
        FunnelPoint,
        IndicatorDefinition,
        PractitionerIndicatorResult,
        PractitionerResults,
    )
    from medgov.governance.staff import services
    from medgov.governance.staff.models import Department, Practitioner

    assert isinstance(department, Department)
    members = [p for p in practitioners if isinstance(p, Practitioner) and p.department_id == department.pk]
    for practitioner in members:
        if not practitioner.warehouse_id:
            Practitioner.objects.filter(pk=practitioner.pk).update(warehouse_id=f"demo-{practitioner.npi}")
            practitioner.warehouse_id = f"demo-{practitioner.npi}"
    figures = [(212, 19, 8.3), (198, 8, 7.9), (175, 7, 7.2), (0, 0, 0.0), (160, 6, 6.4)]
    results, points = [], []
    for practitioner, (cases, observed, expected) in zip(members, figures, strict=False):
        if cases == 0:
            continue  # no cases in the period: still gets a profile
        ratio = observed / expected
        half = 3.09 / (expected**0.5)
        results.append(
            PractitionerResults(
                str(practitioner.warehouse_id),
                (
                    PractitionerIndicatorResult("volume", cases, observed=cases, value=cases),
                    PractitionerIndicatorResult(
                        "mortality-oe",
                        cases,
                        observed=observed,
                        expected=expected,
                        value=round(ratio, 3),
                        lower=round(max(ratio - 1.96 / expected**0.5, 0), 3),
                        upper=round(ratio + 1.96 / expected**0.5, 3),
                        funnel_lower=round(max(1 - half, 0), 3),
                        funnel_upper=round(1 + half, 3),
                    ),
                ),
            )
        )
        points.append(FunnelPoint(str(practitioner.warehouse_id), cases, round(ratio, 3)))
    limits = tuple(
        FunnelLimit(n, round(max(1 - 3.09 / (n * 0.04) ** 0.5, 0), 3), round(1 + 3.09 / (n * 0.04) ** 0.5, 3))
        for n in (25, 50, 100, 150, 200, 250)
    )
    period_end = today.replace(day=1) - dt.timedelta(days=1)
    contract = DepartmentOppeResults(
        department_id=department.warehouse_id,
        period_start=period_end.replace(year=period_end.year - 1) + dt.timedelta(days=1),
        period_end=period_end,
        source="demo figures: measure engine not connected",
        indicators=(
            IndicatorDefinition("volume", "Inpatient discharges", "volume", higher_is_worse=False),
            IndicatorDefinition("mortality-oe", "Risk-adjusted in-hospital mortality (O/E)", "observed_expected"),
        ),
        practitioners=tuple(results),
        funnels=(DepartmentFunnel("mortality-oe", 1.0, tuple(points), limits),),
    )
    services.do_record_oppe_results(department, contract, actor=None)


DEMO_STEPS.append(("medical staff: practitioners, credentials, privileges, FPPE, OPPE", load_staff_demo))
