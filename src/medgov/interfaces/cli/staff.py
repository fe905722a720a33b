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


@staff_app.command("disaster-clocks")
def disaster_clocks(
    enqueue: Annotated[bool, typer.Option("--enqueue/--now", help="Queue for the worker, or run here.")] = True,
) -> None:
    """Hourly during an emergency activation: 72-hour clock reminders and overdue disaster privileges ended."""
    setup_django()
    from medgov.governance.staff.tasks import disaster_clock_scan

    if enqueue:
        result = disaster_clock_scan.enqueue()
        typer.echo(f"queued disaster clock scan {result.id}")
    else:
        typer.echo(str(disaster_clock_scan.call()))


@staff_app.command("record-oppe")
def record_oppe(
    enqueue: Annotated[bool, typer.Option("--enqueue/--now", help="Queue for the worker, or run here.")] = True,
) -> None:
    """OPPE profiles for every privileged practitioner due, from the measure engine on the warehouse."""
    setup_django()
    from medgov.governance.staff.tasks import record_due_oppe

    if enqueue:
        result = record_due_oppe.enqueue()
        typer.echo(f"queued OPPE run {result.id}")
    else:
        typer.echo(str(record_due_oppe.call()))


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
    # Departments and practitioners of the generated hospital when its warehouse is there (the department of the
    # first planted outlier, and surgery of the same hospital); the built-in roster otherwise.
    warehouse = Path(settings.MEDGOV_WAREHOUSE)
    directory: tuple[Any, ...] = ()
    medicine_id, surgery_id = "", ""
    if warehouse.exists():
        try:
            directory = api.practitioner_directory(warehouse)
        except Exception as error:
            typer.echo(f"  warehouse not readable ({error}); using the built-in roster")
        medicine_id = _demo_medicine_department(directory)
        surgery_id = medicine_id.rsplit("-", 1)[0] + "-surgery" if medicine_id else ""
    names = api.organisation_structure(warehouse).labels.get("department", {}) if medicine_id else {}
    medicine = services.do_create_department(
        name=names.get(medicine_id, "Internal Medicine"),
        code="medicine",
        chief=chief,
        warehouse_id=medicine_id,
        actor=None,
    )
    surgery = services.do_create_department(
        name=names.get(surgery_id, "Surgery"), code="surgery", warehouse_id=surgery_id, actor=None
    )
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

    roster: list[tuple[str, str, str, str, str, str, str | None]] = []
    for record in directory:
        department = {medicine_id: "medicine", surgery_id: "surgery"}.get(record.organization_id)
        if department is not None and medicine_id:
            roster.append(
                (record.given, record.family, record.specialty_display, department, "", record.npi, record.id)
            )
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

    _demo_oppe(medicine, warehouse, today)
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
    _demo_special_privileges(practitioners, items, today)
    _demo_safety_event_fppe(practitioners[0], today)
    typer.echo(f"  {len(practitioners)} practitioners, 2 departments, credentials, requests, FPPEs and OPPE")


def _demo_special_privileges(practitioners: Sequence[Any], items: dict[str, Any], today: dt.date) -> None:
    """An open exercise activation with two volunteers, one whose licence is still to verify and one awaiting the
    continuation decision, and temporary privileges for an applicant: the clocks on the staff pages."""
    from django.utils import timezone

    from medgov.governance.emergency.selectors import open_activations
    from medgov.governance.emergency.services import do_open_activation
    from medgov.governance.staff import services
    from medgov.governance.staff.models import Practitioner

    if not open_activations().exists():
        do_open_activation(title="Regional mass-casualty exercise", actor=None)
    now = timezone.now().replace(second=0, microsecond=0)
    item = items["medicine"]
    volunteers = []
    for index, (given, family, hours_ago) in enumerate((("Maja", "Lindqvist", 20), ("Tomas", "Quiroga", 40))):
        volunteer = services.do_create_practitioner(
            npi=_demo_npi(100 + index),
            family_name=family,
            given_name=given,
            credential_text="MD",
            specialty="Emergency Medicine",
            department=item.department,
            appointment_category="affiliate",
            actor=None,
        )
        [grant] = services.do_grant_disaster_privileges(
            volunteer, items=[item], presented_at=now - dt.timedelta(hours=hours_ago), actor=None
        )
        volunteers.append(grant)
    services.do_record_disaster_verification(
        volunteers[1],
        verified_at=now - dt.timedelta(hours=30),
        source="State Board of Medicine, online licence lookup",
        result="confirmed",
        actor=None,
    )
    # An applicant whose file is clean covers a patient-care need while the request goes through the committees.
    applicants = Practitioner.objects.filter(
        pk__in=[person.pk for person in practitioners], status="applicant", department__isnull=False
    ).order_by("-pk")
    applicant = next((person for person in applicants if not services.credential_lapse_reasons(person, today)), None)
    if applicant is not None and applicant.department is not None:
        services.do_grant_temporary_privileges(
            applicant,
            items=[items[applicant.department.code]],
            reason="patient_care_need",
            starts_on=today,
            ends_on=today + dt.timedelta(days=30),
            actor=None,
        )
    typer.echo("  disaster privileges under an open exercise activation: one licence to verify, one decision due")


def _demo_safety_event_fppe(practitioner: Any, today: dt.date) -> None:
    """A for-cause FPPE after the first submitted, non-sensitive demo safety event, when the safety demo is loaded."""
    from medgov.governance.safety.models import SafetyEvent
    from medgov.governance.staff import services

    event = (
        SafetyEvent.objects.filter(deleted_at__isnull=True, is_sensitive=False)
        .exclude(status="draft")
        .order_by("pk")
        .first()
    )
    if event is None:
        return
    services.do_open_for_cause_fppe(
        practitioner,
        trigger="for_cause_safety_event",
        criteria=f"Review of the care around {event.reference} and ten further charts",
        method="chart_review",
        starts_on=today,
        duration_days=60,
        safety_event_reference=event.reference,
        actor=None,
    )


def _demo_medicine_department(directory: Sequence[Any]) -> str:
    """The department of the generated hospital's first planted outlier (its ``planted.json`` sits beside the
    demo data), else the medicine department with the most practitioners."""
    import json

    from django.conf import settings

    from medgov.interfaces.cli.demo import demo_patients

    planted = Path(settings.DATA_DIR) / f"demo-fhir-{demo_patients()}" / "planted.json"
    if planted.exists():
        practitioners = json.loads(planted.read_text(encoding="utf-8")).get("practitioners", [])
        if practitioners:
            return str(practitioners[0]["department_id"])
    counts: dict[str, int] = {}
    for record in directory:
        if record.organization_id.endswith("-medicine"):
            counts[record.organization_id] = counts.get(record.organization_id, 0) + 1
    return max(counts, key=lambda key: counts[key]) if counts else ""


def _demo_oppe(department: Any, warehouse: Path, today: dt.date) -> None:
    """The department's first OPPE, over the last twelve full months, from the measure engine on the warehouse."""
    from medgov.analytics import api
    from medgov.governance.staff import rules, services

    if not department.warehouse_id:
        typer.echo("  no clinical warehouse: OPPE profiles are recorded once its data is loaded")
        return
    period_start, period_end = rules.oppe_period_ending(today)
    try:
        results = api.practitioner_oppe_results(
            warehouse, department_id=department.warehouse_id, period_start=period_start, period_end=period_end
        )
    except api.NoDataError as error:
        typer.echo(f"  OPPE not recorded: {error}")
        return
    profiles = services.do_record_oppe_results(department, results, actor=None)
    flagged = sum(1 for profile in profiles if profile.is_flagged)
    typer.echo(f"  OPPE from the measure engine: {len(profiles)} profiles, {flagged} flagged")


DEMO_STEPS.append(("medical staff: practitioners, credentials, privileges, FPPE, OPPE", load_staff_demo))
