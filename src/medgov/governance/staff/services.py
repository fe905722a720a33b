"""The only writers of the medical staff office.

Each ``do_<verb>_<noun>(..., *, actor)`` checks authorisation, validates, writes inside one transaction together
with its audit event, and schedules notifications on commit. ``actor=None`` is the system (scheduled tasks) or a
trusted operator on the server's command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from medgov.analytics import api as analytics
from medgov.analytics.api import AttendedEncounter, DepartmentOppeResults, WarehousePractitioner
from medgov.governance.core import audit
from medgov.governance.core.notices import notify
from medgov.governance.core.permissions import require_permissions as _require
from medgov.governance.emergency.selectors import open_activations
from medgov.governance.safety import selectors as safety_selectors
from medgov.governance.safety.choices import EventStatus as SafetyEventStatus
from medgov.governance.safety.models import SafetyEvent
from medgov.governance.staff import nppes, rules
from medgov.governance.staff.choices import (
    REQUIRED_KINDS,
    VERIFIED_ONCE_KINDS,
    AppointmentCategory,
    CareRating,
    CredentialKind,
    CredentialStatus,
    DisasterContinuation,
    DocumentationRating,
    FppeMethod,
    FppeStatus,
    FppeTrigger,
    GrantKind,
    GrantStatus,
    IndicatorKind,
    OppeDecision,
    OppeStatus,
    OutcomeRating,
    PeerReviewDetermination,
    PeerReviewStatus,
    PractitionerStatus,
    PrivilegeKind,
    ReferralSource,
    RequestKind,
    RequestStatus,
    ReviewStep,
    StepOutcome,
    TemporaryReason,
    VerificationResult,
)
from medgov.governance.staff.models import (
    Appointment,
    Credential,
    CredentialReminder,
    Department,
    Fppe,
    OppeIndicator,
    OppeProfile,
    PeerReviewCase,
    PeerReviewRating,
    Practitioner,
    PrivilegeGrant,
    PrivilegeItem,
    PrivilegeRequest,
    PrivilegeReview,
    StaffPolicy,
)

PEER_REVIEW_COMMITTEE_GROUP = "peer_review_committee"
CLOSED_GRANT_STATUSES = (GrantStatus.REVOKED, GrantStatus.EXPIRED, GrantStatus.ENDED)
PRACTITIONER_AUDIT_FIELDS = (
    "npi",
    "family_name",
    "given_name",
    "middle_name",
    "credential_text",
    "taxonomy_code",
    "specialty",
    "department",
    "appointment_category",
    "status",
    "warehouse_id",
    "user",
    "practice_group",
    "email",
)


def _require_any(actor: Any | None, *permissions: str) -> None:
    if actor is not None and not any(actor.has_perm(permission) for permission in permissions):
        raise PermissionDenied


def _today() -> dt.date:
    return timezone.localdate()


def _user(actor: Any | None) -> Any | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def policy_for(hospital: str = "") -> StaffPolicy:
    """The hospital's staff policy, else the organisation's, else the defaults."""
    return (
        StaffPolicy.objects.filter(hospital=hospital).first()
        or StaffPolicy.objects.filter(hospital="").first()
        or StaffPolicy()
    )


def _policy_of(practitioner: Practitioner) -> StaffPolicy:
    return policy_for(practitioner.department.hospital if practitioner.department else "")


def _users_with_permission(codename: str) -> list[Any]:
    app_label, name = codename.split(".", 1)
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=name).first()
    if permission is None:
        return []
    user_model = get_user_model()
    return list(
        user_model.objects.filter(
            Q(groups__permissions=permission) | Q(user_permissions=permission) | Q(is_superuser=True), is_active=True
        ).distinct()
    )


def _office_and_chief(practitioner: Practitioner) -> list[Any]:
    recipients = _users_with_permission("staff.manage_staff")
    if practitioner.department is not None and practitioner.department.chief is not None:
        recipients.append(practitioner.department.chief)
    return recipients


# --- practitioner file ------------------------------------------------------------------------------------------


def validate_npi(npi: str) -> str:
    npi = npi.strip()
    problem = rules.npi_error(npi)
    if problem is not None:
        raise ValidationError({"npi": problem})
    return npi


def do_create_department(
    *, name: str, code: str, hospital: str = "", chief: Any | None = None, warehouse_id: str = "", actor: Any | None
) -> Department:
    _require(actor, "staff.manage_staff")
    if Department.objects.filter(code=code).exists():
        raise ValidationError({"code": f"a department with code {code!r} already exists"})
    with transaction.atomic():
        department = Department.objects.create(
            name=name,
            code=code,
            hospital=hospital,
            chief=chief,
            warehouse_id=warehouse_id,
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        audit.record(actor=actor, action="staff.department_create", target=department, after=audit.snapshot(department))
    return department


def do_create_practitioner(
    *,
    npi: str,
    family_name: str,
    given_name: str,
    middle_name: str = "",
    credential_text: str = "",
    taxonomy_code: str = "",
    specialty: str = "",
    department: Department | None = None,
    appointment_category: str = AppointmentCategory.PROVISIONAL,
    warehouse_id: str | None = None,
    user: Any | None = None,
    practice_group: str = "",
    email: str = "",
    actor: Any | None,
) -> Practitioner:
    _require(actor, "staff.manage_staff")
    npi = validate_npi(npi)
    if not family_name.strip() or not given_name.strip():
        raise ValidationError({"family_name": "a practitioner needs a family and a given name"})
    if appointment_category not in AppointmentCategory.values:
        raise ValidationError({"appointment_category": f"unknown appointment category {appointment_category!r}"})
    if Practitioner.objects.filter(npi=npi).exists():
        raise ValidationError({"npi": f"a practitioner with NPI {npi} is already on file"})
    with transaction.atomic():
        practitioner = Practitioner.objects.create(
            npi=npi,
            family_name=family_name.strip(),
            given_name=given_name.strip(),
            middle_name=middle_name.strip(),
            credential_text=credential_text.strip(),
            taxonomy_code=taxonomy_code.strip(),
            specialty=specialty.strip(),
            department=department,
            appointment_category=appointment_category,
            warehouse_id=warehouse_id or None,
            user=user,
            practice_group=practice_group.strip(),
            email=email.strip(),
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        audit.record(
            actor=actor,
            action="staff.practitioner_create",
            target=practitioner,
            after=audit.snapshot(practitioner, PRACTITIONER_AUDIT_FIELDS),
        )
    return practitioner


def do_update_practitioner(practitioner: Practitioner, *, actor: Any | None, **changes: Any) -> Practitioner:
    _require(actor, "staff.manage_staff")
    allowed = set(PRACTITIONER_AUDIT_FIELDS) - {"npi", "status"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValidationError(f"these fields cannot be changed here: {', '.join(unknown)}")
    with transaction.atomic():
        locked = Practitioner.objects.select_for_update(of=("self",)).get(pk=practitioner.pk)
        before = audit.snapshot(locked, PRACTITIONER_AUDIT_FIELDS)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.updated_by = _user(actor)
        locked.full_clean(exclude=["created_by", "updated_by"])
        locked.save()
        old, new = audit.changed(before, audit.snapshot(locked, PRACTITIONER_AUDIT_FIELDS))
        if new:
            audit.record(actor=actor, action="staff.practitioner_update", target=locked, before=old, after=new)
    return locked


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def do_import_nppes(
    *,
    header_text: str,
    data_text: str,
    header_name: str,
    data_name: str,
    department: Department | None = None,
    actor: Any | None,
) -> ImportReport:
    """Import individual practitioners from an NPPES header file and data file: all rows or none.

    A practitioner already on file (same NPI) keeps its record; blank name fields are filled from NPPES.
    """
    _require(actor, "staff.manage_staff")
    records = nppes.parse_nppes(header_text, data_text, header_name=header_name, data_name=data_name)
    created = updated = unchanged = 0
    with transaction.atomic():
        existing = {
            practitioner.npi: practitioner
            for practitioner in Practitioner.objects.select_for_update(of=("self",)).filter(
                npi__in=[record.npi for record in records]
            )
        }
        for record in records:
            practitioner = existing.get(record.npi)
            if practitioner is None:
                practitioner = Practitioner.objects.create(
                    npi=record.npi,
                    family_name=record.family_name,
                    given_name=record.given_name,
                    middle_name=record.middle_name,
                    credential_text=record.credential_text,
                    taxonomy_code=record.taxonomy_code,
                    department=department,
                    created_by=_user(actor),
                    updated_by=_user(actor),
                )
                created += 1
                audit.record(
                    actor=actor,
                    action="staff.practitioner_import",
                    target=practitioner,
                    after={**audit.snapshot(practitioner, PRACTITIONER_AUDIT_FIELDS), "source": data_name},
                )
                continue
            before = audit.snapshot(practitioner, ["taxonomy_code", "credential_text", "middle_name"])
            for field in ("taxonomy_code", "credential_text", "middle_name"):
                if not getattr(practitioner, field) and getattr(record, field):
                    setattr(practitioner, field, getattr(record, field))
            old, new = audit.changed(before, audit.snapshot(practitioner, list(before)))
            if not new:
                unchanged += 1
                continue
            practitioner.updated_by = _user(actor)
            practitioner.save()
            updated += 1
            audit.record(actor=actor, action="staff.practitioner_import", target=practitioner, before=old, after=new)
    return ImportReport(created, updated, unchanged)


def do_import_warehouse_practitioners(records: Sequence[WarehousePractitioner], *, actor: Any | None) -> ImportReport:
    """Link practitioners to the warehouse by NPI, creating those not on file: all or none.

    The department comes from the warehouse organisation of the practitioner's role when a department names it.
    """
    _require(actor, "staff.manage_staff")
    for record in records:
        problem = rules.npi_error(record.npi)
        if problem is not None:
            raise ValidationError(f"warehouse practitioner {record.id}: {problem}")
    departments = {department.warehouse_id: department for department in Department.objects.exclude(warehouse_id="")}
    created = updated = unchanged = 0
    with transaction.atomic():
        for record in records:
            practitioner = Practitioner.objects.select_for_update(of=("self",)).filter(npi=record.npi).first()
            department = departments.get(record.organization_id)
            if practitioner is None:
                practitioner = Practitioner.objects.create(
                    npi=record.npi,
                    family_name=record.family or "(unknown)",
                    given_name=record.given or "(unknown)",
                    taxonomy_code=record.specialty_code if record.specialty_code[:1].isdigit() else "",
                    specialty=record.specialty_display,
                    department=department,
                    warehouse_id=record.id,
                    created_by=_user(actor),
                    updated_by=_user(actor),
                )
                created += 1
                audit.record(
                    actor=actor,
                    action="staff.practitioner_import",
                    target=practitioner,
                    after={**audit.snapshot(practitioner, PRACTITIONER_AUDIT_FIELDS), "source": "warehouse"},
                )
                continue
            before = audit.snapshot(practitioner, ["warehouse_id", "department", "specialty"])
            practitioner.warehouse_id = record.id
            if practitioner.department is None and department is not None:
                practitioner.department = department
            if not practitioner.specialty and record.specialty_display:
                practitioner.specialty = record.specialty_display
            old, new = audit.changed(before, audit.snapshot(practitioner, list(before)))
            if not new:
                unchanged += 1
                continue
            practitioner.updated_by = _user(actor)
            practitioner.save()
            updated += 1
            audit.record(actor=actor, action="staff.practitioner_link", target=practitioner, before=old, after=new)
    return ImportReport(created, updated, unchanged)


# --- appointments and reappointment -----------------------------------------------------------------------------


def reappointment_cycle_for(practitioner: Practitioner) -> int:
    policy = _policy_of(practitioner)
    states = practitioner.credentials.filter(kind=CredentialKind.STATE_LICENCE).exclude(state="")
    return rules.reappointment_cycle_months(
        policy.reappointment_months,
        {str(state).upper(): int(months) for state, months in policy.state_reappointment_months.items()},
        states.values_list("state", flat=True),
    )


def do_appoint_practitioner(
    practitioner: Practitioner,
    *,
    starts_on: dt.date,
    category: str,
    ends_on: dt.date | None = None,
    actor: Any | None,
) -> Appointment:
    """Record a term of appointment; it ends the day before reappointment falls due unless ``ends_on`` is given."""
    _require(actor, "staff.manage_staff")
    if category not in AppointmentCategory.values:
        raise ValidationError({"category": f"unknown appointment category {category!r}"})
    if ends_on is None:
        ends_on = rules.reappointment_due_on(starts_on, reappointment_cycle_for(practitioner)) - dt.timedelta(days=1)
    if ends_on < starts_on:
        raise ValidationError({"ends_on": "an appointment cannot end before it starts"})
    with transaction.atomic():
        Practitioner.objects.select_for_update(of=("self",)).get(pk=practitioner.pk)
        for other in practitioner.appointments.all():
            if rules.periods_overlap(starts_on, ends_on, other.starts_on, other.ends_on):
                raise ValidationError(
                    {
                        "starts_on": (
                            f"the appointment {starts_on.isoformat()} to {ends_on.isoformat()} overlaps the "
                            f"appointment {other.starts_on.isoformat()} to {other.ends_on.isoformat()}"
                        )
                    }
                )
        appointment = Appointment.objects.create(
            practitioner=practitioner,
            category=category,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        Practitioner.objects.filter(pk=practitioner.pk).update(appointment_category=category)
        audit.record(
            actor=actor, action="staff.appointment_create", target=appointment, after=audit.snapshot(appointment)
        )
    return appointment


def current_appointment(practitioner: Practitioner, on: dt.date) -> Appointment | None:
    return practitioner.appointments.filter(starts_on__lte=on, ends_on__gte=on).first()


def latest_appointment(practitioner: Practitioner) -> Appointment | None:
    return practitioner.appointments.order_by("-starts_on").first()


# --- credentials ------------------------------------------------------------------------------------------------


def do_add_credential(
    practitioner: Practitioner,
    *,
    kind: str,
    issuer: str,
    number: str = "",
    state: str = "",
    issued_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    result: str = "",
    verified_on: dt.date | None = None,
    verification_source: str = "",
    source_document: UploadedFile[Any] | None = None,
    notes: str = "",
    status: str = CredentialStatus.ACTIVE,
    actor: Any | None,
) -> Credential:
    _require(actor, "staff.manage_staff")
    errors: dict[str, str] = {}
    if kind not in CredentialKind.values:
        errors["kind"] = f"unknown credential kind {kind!r}"
    if not issuer.strip():
        errors["issuer"] = "name the issuer (board, agency, school, carrier or data bank)"
    problem = rules.expiry_error(issued_on, expires_on)
    if problem is not None:
        errors["expires_on"] = problem
    if result and result not in VerificationResult.values:
        errors["result"] = f"unknown verification result {result!r}"
    if verified_on is not None and verified_on > _today():
        errors["verified_on"] = "a verification cannot be dated in the future"
    if verified_on is not None and not result:
        errors["result"] = "record what the primary source confirmed"
    if state and (len(state) != 2 or not state.isalpha()):
        errors["state"] = f"state {state!r} is not a two-letter code"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        credential = Credential(
            practitioner=practitioner,
            kind=kind,
            issuer=issuer.strip(),
            number=number.strip(),
            state=state.upper(),
            issued_on=issued_on,
            expires_on=expires_on,
            status=status,
            result=result,
            verified_on=verified_on,
            verified_by=_user(actor) if verified_on is not None else None,
            verification_source=verification_source.strip(),
            notes=notes,
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        if source_document is not None:
            credential.source_document.save(source_document.name or "document", source_document, save=False)
        credential.save()
        # A renewed licence supersedes the older record of the same kind, number and state.
        if number.strip():
            Credential.objects.filter(
                practitioner=practitioner,
                kind=kind,
                number=number.strip(),
                state=state.upper(),
                status=CredentialStatus.ACTIVE,
            ).exclude(pk=credential.pk).update(status=CredentialStatus.SUPERSEDED)
        audit.record(
            actor=actor,
            action="staff.credential_add",
            target=credential,
            after=audit.snapshot(credential),
        )
        _reinstate_if_cleared(practitioner, _today(), actor)
    return credential


def do_verify_credential(
    credential: Credential,
    *,
    verified_on: dt.date,
    result: str,
    verification_source: str,
    source_document: UploadedFile[Any] | None = None,
    actor: Any | None,
) -> Credential:
    _require(actor, "staff.manage_staff")
    if result not in VerificationResult.values:
        raise ValidationError({"result": f"unknown verification result {result!r}"})
    if verified_on > _today():
        raise ValidationError({"verified_on": "a verification cannot be dated in the future"})
    if not verification_source.strip():
        raise ValidationError({"verification_source": "name the primary source consulted"})
    fields = ["verified_on", "result", "verification_source", "verified_by", "source_document"]
    with transaction.atomic():
        locked = Credential.objects.select_for_update(of=("self",)).get(pk=credential.pk)
        before = audit.snapshot(locked, fields)
        locked.verified_on = verified_on
        locked.result = result
        locked.verification_source = verification_source.strip()
        locked.verified_by = _user(actor)
        locked.updated_by = _user(actor)
        if source_document is not None:
            locked.source_document.save(source_document.name or "document", source_document, save=False)
        locked.save()
        old, new = audit.changed(before, audit.snapshot(locked, fields))
        audit.record(actor=actor, action="staff.credential_verify", target=locked, before=old, after=new)
        _reinstate_if_cleared(locked.practitioner, _today(), actor)
    return locked


def do_set_credential_status(credential: Credential, status: str, *, actor: Any | None) -> Credential:
    """Record an action by the issuer (a board suspends or revokes a licence); lapse rules apply at once."""
    _require(actor, "staff.manage_staff")
    if status not in CredentialStatus.values:
        raise ValidationError({"status": f"unknown credential status {status!r}"})
    with transaction.atomic():
        locked = Credential.objects.select_for_update(of=("self",)).get(pk=credential.pk)
        if locked.status == status:
            return locked
        before = locked.status
        locked.status = status
        locked.updated_by = _user(actor)
        locked.save(update_fields=["status", "updated_by", "updated_at"])
        audit.record(
            actor=actor,
            action="staff.credential_status",
            target=locked,
            before={"status": before},
            after={"status": status},
        )
        do_enforce_credential_lapse(locked.practitioner, today=_today(), actor=actor)
        _reinstate_if_cleared(locked.practitioner, _today(), actor)
    return locked


def _live(credentials: Iterable[Credential]) -> list[Credential]:
    return [credential for credential in credentials if credential.status != CredentialStatus.SUPERSEDED]


def prescribes_controlled_substances(practitioner: Practitioner) -> bool:
    return (
        practitioner.grants.exclude(status__in=CLOSED_GRANT_STATUSES)
        .filter(item__involves_controlled_substances=True)
        .exists()
    )


def _credential_problem(credentials: list[Credential], label: str, today: dt.date) -> str | None:
    """Why none of ``credentials`` is a current, verified credential; None when one is."""
    if not credentials:
        return f"{label} is missing"
    problems = []
    for credential in credentials:
        if credential.status in (CredentialStatus.SUSPENDED, CredentialStatus.REVOKED):
            problems.append(
                f"{label} {credential.number} is {credential.get_status_display().lower()}".replace("  ", " ")
            )
        elif rules.is_lapsed(credential.expires_on, today):
            assert credential.expires_on is not None
            problems.append(
                f"{label} {credential.number} expired on {credential.expires_on.isoformat()}".replace("  ", " ")
            )
        elif not credential.is_verified:
            problems.append(f"{label} {credential.number} is not verified".replace("  ", " "))
        else:
            return None
    return "; ".join(problems)


def credential_lapse_reasons(practitioner: Practitioner, today: dt.date) -> list[str]:
    """Why the practitioner cannot hold active privileges today: licence (and DEA where they prescribe
    controlled substances) expired, suspended, revoked or unverified. Empty when they can."""
    credentials = _live(practitioner.credentials.all())
    reasons = []
    licence = _credential_problem(
        [c for c in credentials if c.kind == CredentialKind.STATE_LICENCE], "state licence", today
    )
    if licence:
        reasons.append(licence)
    if prescribes_controlled_substances(practitioner):
        dea = _credential_problem(
            [c for c in credentials if c.kind == CredentialKind.DEA_REGISTRATION], "DEA registration", today
        )
        if dea:
            reasons.append(dea)
    return reasons


def do_enforce_credential_lapse(practitioner: Practitioner, *, today: dt.date, actor: Any | None = None) -> bool:
    """Suspend a practitioner whose required licence or DEA registration has lapsed. True if suspended now.

    Disaster privileges are left to their own clocks: the volunteer's licence is verified on the grant within 72
    hours of presenting (EM.02.02.13), usually with no credential on file here, and the disaster-clock scan ends
    the grant when it is not (do_end_lapsed_special_grants)."""
    with transaction.atomic():
        locked = Practitioner.objects.select_for_update(of=("self",)).get(pk=practitioner.pk)
        if locked.status == PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE:
            return False
        active = list(locked.grants.filter(status=GrantStatus.ACTIVE).exclude(kind=GrantKind.DISASTER))
        if not active and locked.status != PractitionerStatus.ACTIVE:
            return False
        reasons = credential_lapse_reasons(locked, today)
        if not reasons:
            return False
        before_status = locked.status
        locked.status = PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE
        locked.save(update_fields=["status", "updated_at"])
        PrivilegeGrant.objects.filter(pk__in=[grant.pk for grant in active]).update(
            status=GrantStatus.SUSPENDED_CREDENTIAL_LAPSE
        )
        audit.record(
            actor=actor,
            action="staff.practitioner_suspend_credential_lapse",
            target=locked,
            before={"status": before_status, "active_grants": [grant.pk for grant in active]},
            after={"status": locked.status, "reasons": reasons, "effective_on": today},
        )
        recipients = [*_office_and_chief(locked), *_users_with_permission("staff.decide_privileges"), locked.user]
        notify(
            recipients,
            f"{locked} is suspended (credential lapse) from {today.isoformat()}: {'; '.join(reasons)}",
            link=f"/staff/practitioners/{locked.pk}/",
        )
    return True


def _reinstate_if_cleared(practitioner: Practitioner, today: dt.date, actor: Any | None) -> bool:
    """Lift a credential-lapse suspension once the licence (and DEA) are current and verified again."""
    locked = Practitioner.objects.select_for_update(of=("self",)).get(pk=practitioner.pk)
    if locked.status != PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE or credential_lapse_reasons(locked, today):
        return False
    suspended = list(locked.grants.filter(status=GrantStatus.SUSPENDED_CREDENTIAL_LAPSE))
    locked.status = PractitionerStatus.ACTIVE
    locked.save(update_fields=["status", "updated_at"])
    PrivilegeGrant.objects.filter(pk__in=[grant.pk for grant in suspended]).update(status=GrantStatus.ACTIVE)
    audit.record(
        actor=actor,
        action="staff.practitioner_reinstate",
        target=locked,
        before={"status": PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE},
        after={"status": PractitionerStatus.ACTIVE, "reinstated_grants": [grant.pk for grant in suspended]},
    )
    notify(_office_and_chief(locked), f"{locked}: credentials are current again; privileges reinstated")
    return True


def decision_blockers(practitioner: Practitioner, *, decision_on: dt.date, reappointment: bool = False) -> list[str]:
    """What stops a committee from approving this practitioner's file on ``decision_on``.

    Stale or missing primary-source verification of any current credential (education and training excepted:
    they are verified once); an NPDB query older than two years; for reappointment, an open FPPE.
    """
    policy = _policy_of(practitioner)
    credentials = _live(practitioner.credentials.exclude(status=CredentialStatus.REVOKED))
    blockers: list[str] = []
    kinds_on_file = {credential.kind for credential in credentials}
    required = list(REQUIRED_KINDS)
    if prescribes_controlled_substances(practitioner) or any(
        item.involves_controlled_substances for item in _requested_items(practitioner)
    ):
        required.append(CredentialKind.DEA_REGISTRATION)
    for kind in required:
        if kind not in kinds_on_file:
            blockers.append(f"{CredentialKind(kind).label} is missing")
    for credential in credentials:
        if credential.kind in VERIFIED_ONCE_KINDS:
            if credential.verified_on is None:
                blockers.append(f"{credential.get_kind_display()} is not verified")
            continue
        if rules.is_verification_stale(credential.verified_on, decision_on, policy.verification_window_days):
            if credential.verified_on is None:
                blockers.append(f"{credential.get_kind_display()} {credential.number}".strip() + " is not verified")
            else:
                age = (decision_on - credential.verified_on).days
                blockers.append(
                    f"{credential.get_kind_display()} {credential.number}".strip()
                    + f" was verified {age} days before the decision (limit {policy.verification_window_days})"
                )
    npdb = [c.verified_on for c in credentials if c.kind == CredentialKind.NPDB_QUERY and c.verified_on]
    latest_npdb = max(npdb) if npdb else None
    if latest_npdb is not None and rules.is_npdb_query_too_old(latest_npdb, decision_on):
        blockers.append(
            f"the NPDB query of {latest_npdb.isoformat()} is more than two years old "
            f"(valid until {rules.npdb_query_valid_until(latest_npdb).isoformat()})"
        )
    if reappointment:
        for fppe in practitioner.fppes.filter(status=FppeStatus.OPEN):
            blockers.append(f"an FPPE opened on {fppe.starts_on.isoformat()} is still open")
    return blockers


def _requested_items(practitioner: Practitioner) -> list[PrivilegeItem]:
    pending = [request for request in practitioner.privilege_requests.all() if request.is_pending]
    return [item for request in pending for item in request.items.all()]


def is_clean_application(practitioner: Practitioner, on: dt.date) -> bool:
    """A complete initial application pending approval, with every credential verified and nothing adverse."""
    pending = practitioner.privilege_requests.filter(
        kind=RequestKind.INITIAL,
        is_complete=True,
        status__in=list(PrivilegeRequest.NEXT_STEP),
    ).exists()
    if not pending:
        return False
    credentials = _live(practitioner.credentials.all())
    if any(credential.result == VerificationResult.ADVERSE for credential in credentials):
        return False
    return not decision_blockers(practitioner, decision_on=on)


# --- privileges -------------------------------------------------------------------------------------------------


def do_create_privilege_item(
    department: Department,
    *,
    code: str,
    name: str,
    kind: str = PrivilegeKind.CORE,
    criteria: str = "",
    involves_controlled_substances: bool = False,
    actor: Any | None,
) -> PrivilegeItem:
    _require(actor, "staff.manage_staff")
    if kind not in PrivilegeKind.values:
        raise ValidationError({"kind": f"unknown privilege kind {kind!r}"})
    if PrivilegeItem.objects.filter(department=department, code=code).exists():
        raise ValidationError({"code": f"{department} already has a privilege with code {code!r}"})
    with transaction.atomic():
        item = PrivilegeItem.objects.create(
            department=department,
            code=code,
            name=name,
            kind=kind,
            criteria=criteria,
            involves_controlled_substances=involves_controlled_substances,
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        audit.record(actor=actor, action="staff.privilege_item_create", target=item, after=audit.snapshot(item))
    return item


def do_submit_privilege_request(
    practitioner: Practitioner,
    *,
    kind: str,
    items: Sequence[PrivilegeItem],
    submitted_on: dt.date | None = None,
    is_complete: bool = False,
    note: str = "",
    actor: Any | None,
) -> PrivilegeRequest:
    _require(actor, "staff.manage_staff")
    if kind not in RequestKind.values:
        raise ValidationError({"kind": f"unknown request kind {kind!r}"})
    if not items:
        raise ValidationError({"items": "request at least one privilege"})
    inactive = [item.name for item in items if not item.is_active]
    if inactive:
        raise ValidationError({"items": f"no longer in the catalogue: {', '.join(inactive)}"})
    with transaction.atomic():
        request = PrivilegeRequest.objects.create(
            practitioner=practitioner,
            kind=kind,
            submitted_on=submitted_on or _today(),
            is_complete=is_complete,
            note=note,
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        request.items.set(items)
        audit.record(
            actor=actor,
            action="staff.privilege_request_submit",
            target=request,
            after={**audit.snapshot(request), "items": sorted(item.pk for item in items)},
        )
        chief = practitioner.department.chief if practitioner.department else None
        notify(
            [chief],
            f"Privilege request of {practitioner} awaits your recommendation",
            link=f"/staff/requests/{request.pk}/",
        )
    return request


def do_mark_request_complete(request: PrivilegeRequest, *, actor: Any | None) -> PrivilegeRequest:
    _require(actor, "staff.manage_staff")
    with transaction.atomic():
        locked = PrivilegeRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
        if locked.is_complete:
            return locked
        locked.is_complete = True
        locked.updated_by = _user(actor)
        locked.save(update_fields=["is_complete", "updated_by", "updated_at"])
        audit.record(
            actor=actor,
            action="staff.privilege_request_complete",
            target=locked,
            before={"is_complete": False},
            after={"is_complete": True},
        )
    return locked


STEP_PERMISSION = {
    ReviewStep.DEPARTMENT_CHIEF: "staff.recommend_privileges",
    ReviewStep.CREDENTIALS_COMMITTEE: "staff.decide_privileges",
    ReviewStep.MEDICAL_EXECUTIVE_COMMITTEE: "staff.decide_privileges",
    ReviewStep.BOARD: "staff.decide_privileges",
}


def do_review_privilege_request(
    request: PrivilegeRequest,
    *,
    step: str,
    outcome: str,
    note: str = "",
    decided_on: dt.date | None = None,
    actor: Any | None,
) -> PrivilegeRequest:
    """Record one step of request -> chief -> credentials committee -> MEC -> board; the board's approval grants."""
    if step not in ReviewStep.values or outcome not in StepOutcome.values:
        raise ValidationError("unknown review step or outcome")
    _require(actor, STEP_PERMISSION[ReviewStep(step)])
    decided_on = decided_on or _today()
    with transaction.atomic():
        locked = (
            PrivilegeRequest.objects.select_for_update(of=("self",))
            .select_related("practitioner__department")
            .get(pk=request.pk)
        )
        practitioner = locked.practitioner
        if step == ReviewStep.DEPARTMENT_CHIEF and actor is not None:
            chief = practitioner.department.chief if practitioner.department else None
            if chief is None or chief.pk != actor.pk:
                raise PermissionDenied
        if not locked.can_decide(step):
            expected = locked.next_step
            raise ValidationError(
                f"this request is {locked.get_status_display().lower()}; "
                + (f"the next step is {ReviewStep(expected).label.lower()}" if expected else "it takes no more steps")
            )
        if outcome == StepOutcome.APPROVE and step != ReviewStep.DEPARTMENT_CHIEF:
            if not locked.is_complete:
                raise ValidationError("the application is not complete: the office must confirm it first")
            blockers = decision_blockers(
                practitioner, decision_on=decided_on, reappointment=locked.kind == RequestKind.REAPPOINTMENT
            )
            if blockers:
                raise ValidationError([f"cannot approve: {blocker}" for blocker in blockers])
            if step == ReviewStep.BOARD:
                lapse = credential_lapse_reasons(practitioner, decided_on)
                if lapse:
                    raise ValidationError([f"cannot approve: {reason}" for reason in lapse])
        review = PrivilegeReview.objects.create(
            request=locked, step=step, outcome=outcome, decided_by=_user(actor), decided_on=decided_on, note=note
        )
        before = locked.status
        locked.status = locked.STATUS_AFTER[step] if outcome == StepOutcome.APPROVE else RequestStatus.DENIED
        locked.updated_by = _user(actor)
        locked.save(update_fields=["status", "updated_by", "updated_at"])
        audit.record(
            actor=actor,
            action="staff.privilege_request_review",
            target=locked,
            before={"status": before},
            after={"status": locked.status, "step": step, "outcome": outcome, "review": review.pk},
        )
        if locked.status == RequestStatus.GRANTED:
            _grant_request(locked, decided_on, actor)
        notify(
            _office_and_chief(practitioner),
            f"Privilege request of {practitioner}: {review}",
            link=f"/staff/requests/{locked.pk}/",
        )
    return locked


def _has_held(practitioner: Practitioner, item: PrivilegeItem) -> bool:
    return practitioner.grants.filter(item=item).exists()


def _grant_request(request: PrivilegeRequest, granted_on: dt.date, actor: Any | None) -> None:
    practitioner = request.practitioner
    policy = _policy_of(practitioner)
    for item in request.items.all():
        current = practitioner.grants.filter(item=item, kind=GrantKind.REGULAR, status=GrantStatus.ACTIVE).first()
        if current is not None:
            continue  # reappointment renews a privilege already held
        is_new = not _has_held(practitioner, item)
        practitioner.grants.filter(item=item, kind=GrantKind.TEMPORARY, status=GrantStatus.ACTIVE).update(
            status=GrantStatus.ENDED, ends_on=granted_on
        )
        grant = PrivilegeGrant.objects.create(
            practitioner=practitioner,
            item=item,
            kind=GrantKind.REGULAR,
            request=request,
            starts_on=granted_on,
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        audit.record(actor=actor, action="staff.privilege_grant", target=grant, after=audit.snapshot(grant))
        if is_new:
            trigger = FppeTrigger.NEW_APPLICANT if request.kind == RequestKind.INITIAL else FppeTrigger.NEW_PRIVILEGE
            _open_fppe(grant, trigger, policy, actor)
    if practitioner.status == PractitionerStatus.APPLICANT:
        Practitioner.objects.filter(pk=practitioner.pk).update(status=PractitionerStatus.ACTIVE)
        audit.record(
            actor=actor,
            action="staff.practitioner_activate",
            target=practitioner,
            before={"status": PractitionerStatus.APPLICANT},
            after={"status": PractitionerStatus.ACTIVE},
        )
    if request.kind in (RequestKind.INITIAL, RequestKind.REAPPOINTMENT):
        latest = latest_appointment(practitioner)
        starts_on = granted_on
        if latest is not None and latest.ends_on >= granted_on:
            starts_on = latest.ends_on + dt.timedelta(days=1)
        category = (
            AppointmentCategory.PROVISIONAL
            if request.kind == RequestKind.INITIAL
            else (latest.category if latest is not None else practitioner.appointment_category)
        )
        do_appoint_practitioner(practitioner, starts_on=starts_on, category=category, actor=None)


def _open_fppe(grant: PrivilegeGrant, trigger: str, policy: StaffPolicy, actor: Any | None) -> Fppe:
    """FPPE for a newly granted privilege starts on the grant date; board certification exempts no one."""
    method = FppeMethod.PROCTORING if grant.kind == GrantKind.DISASTER else FppeMethod.CHART_REVIEW
    criteria = grant.item.criteria or f"Competence in {grant.item.name} as the department's FPPE plan defines it"
    fppe = Fppe.objects.create(
        practitioner=grant.practitioner,
        grant=grant,
        trigger=trigger,
        method=method,
        criteria=criteria,
        starts_on=grant.starts_on,
        ends_on=rules.fppe_ends_on(grant.starts_on, policy.fppe_default_days),
        created_by=_user(actor),
        updated_by=_user(actor),
    )
    audit.record(actor=actor, action="staff.fppe_open", target=fppe, after=audit.snapshot(fppe))
    return fppe


def do_grant_temporary_privileges(
    practitioner: Practitioner,
    *,
    items: Sequence[PrivilegeItem],
    reason: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
    actor: Any | None,
) -> list[PrivilegeGrant]:
    _require(actor, "staff.decide_privileges")
    if not items:
        raise ValidationError({"items": "grant at least one privilege"})
    policy = _policy_of(practitioner)
    errors = rules.temporary_privilege_errors(
        reason=reason,
        starts_on=starts_on,
        ends_on=ends_on,
        has_pending_clean_application=reason != TemporaryReason.PENDING_CLEAN_APPLICATION
        or is_clean_application(practitioner, starts_on),
    )
    errors += [f"cannot grant: {reason_}" for reason_ in credential_lapse_reasons(practitioner, starts_on)]
    if errors:
        raise ValidationError(errors)
    grants = []
    with transaction.atomic():
        Practitioner.objects.select_for_update(of=("self",)).get(pk=practitioner.pk)
        for item in items:
            is_new = not _has_held(practitioner, item)
            grant = PrivilegeGrant.objects.create(
                practitioner=practitioner,
                item=item,
                kind=GrantKind.TEMPORARY,
                temporary_reason=reason,
                starts_on=starts_on,
                ends_on=ends_on,
                created_by=_user(actor),
                updated_by=_user(actor),
            )
            audit.record(
                actor=actor, action="staff.privilege_grant_temporary", target=grant, after=audit.snapshot(grant)
            )
            if is_new:
                trigger = (
                    FppeTrigger.NEW_APPLICANT
                    if practitioner.status == PractitionerStatus.APPLICANT
                    else FppeTrigger.NEW_PRIVILEGE
                )
                _open_fppe(grant, trigger, policy, actor)
            grants.append(grant)
        notify(_office_and_chief(practitioner), f"Temporary privileges granted to {practitioner} until {ends_on}")
    return grants


def do_grant_disaster_privileges(
    practitioner: Practitioner, *, items: Sequence[PrivilegeItem], presented_at: dt.datetime, actor: Any | None
) -> list[PrivilegeGrant]:
    """Disaster privileges exist only while an emergency operations plan activation is open (EM.02.02.13)."""
    _require(actor, "staff.decide_privileges")
    if not items:
        raise ValidationError({"items": "grant at least one privilege"})
    activation = open_activations().order_by("-activated_at").first()
    if activation is None:
        raise ValidationError(
            "disaster privileges can be granted only while an emergency operations plan activation is open"
        )
    policy = _policy_of(practitioner)
    grants = []
    with transaction.atomic():
        for item in items:
            is_new = not _has_held(practitioner, item)
            grant = PrivilegeGrant.objects.create(
                practitioner=practitioner,
                item=item,
                kind=GrantKind.DISASTER,
                activation=activation,
                starts_on=timezone.localdate(presented_at),
                presented_at=presented_at,
                created_by=_user(actor),
                updated_by=_user(actor),
            )
            audit.record(
                actor=actor, action="staff.privilege_grant_disaster", target=grant, after=audit.snapshot(grant)
            )
            if is_new:
                _open_fppe(grant, FppeTrigger.NEW_PRIVILEGE, policy, actor)
            grants.append(grant)
        notify(
            _office_and_chief(practitioner),
            f"Disaster privileges for {practitioner}: verify the licence by "
            f"{rules.disaster_licence_verification_due(presented_at):%Y-%m-%d %H:%M} and decide on continuation by "
            f"{rules.disaster_continuation_due(presented_at):%Y-%m-%d %H:%M}",
        )
    return grants


def _require_open_disaster_grant(grant: PrivilegeGrant, what: str) -> PrivilegeGrant:
    """The grant, locked, if it is an active disaster grant under an activation that is still open."""
    locked = PrivilegeGrant.objects.select_for_update(of=("self",)).select_related("activation").get(pk=grant.pk)
    if locked.kind != GrantKind.DISASTER or locked.presented_at is None:
        raise ValidationError(f"only disaster privileges have a 72-hour {what}")
    activation = locked.activation
    if activation is None or activation.closed_at is not None:
        closed = f" on {timezone.localtime(activation.closed_at):%Y-%m-%d %H:%M}" if activation else ""
        raise ValidationError(
            f"the emergency activation “{activation}” closed{closed}: the disaster privileges under it have ended"
        )
    if locked.status != GrantStatus.ACTIVE:
        raise ValidationError(f"these disaster privileges are {locked.get_status_display().lower()}")
    return locked


def _moment_error(moment: dt.datetime, presented_at: dt.datetime, label: str) -> str | None:
    if moment < presented_at:
        return (
            f"the {label} cannot be before the volunteer presented ({timezone.localtime(presented_at):%Y-%m-%d %H:%M})"
        )
    if moment > timezone.now():
        return f"the {label} cannot be in the future"
    return None


def do_record_disaster_verification(
    grant: PrivilegeGrant,
    *,
    verified_at: dt.datetime,
    source: str,
    result: str,
    verified_by: Any | None = None,
    actor: Any | None,
) -> PrivilegeGrant:
    """Record the primary-source verification of a disaster volunteer's licence (EM.02.02.13 EP 6: within 72 hours
    of presenting). A licence the primary source does not confirm ends the disaster privileges at once."""
    _require(actor, "staff.manage_staff")
    verifier = verified_by if verified_by is not None else _user(actor)
    errors: dict[str, str] = {}
    if not source.strip():
        errors["source"] = "name the primary source consulted (the licensing board, its website, a CVO)"
    if result not in VerificationResult.values:
        errors["result"] = f"unknown verification result {result!r}"
    if verifier is not None and not verifier.has_perm("staff.manage_staff"):
        errors["verified_by"] = f"{verifier} is not in the medical staff office"
    if grant.presented_at is not None:
        problem = _moment_error(verified_at, grant.presented_at, "verification")
        if problem is None and verified_at > rules.disaster_licence_verification_due(grant.presented_at):
            problem = (
                "the licence was verified more than 72 hours after the volunteer presented; "
                "the privileges have to be granted again"
            )
        if problem is not None:
            errors["verified_at"] = problem
    with transaction.atomic():
        locked = _require_open_disaster_grant(grant, "licence verification")
        if locked.licence_verified_at is not None:
            raise ValidationError(
                f"the licence verification is already recorded "
                f"({timezone.localtime(locked.licence_verified_at):%Y-%m-%d %H:%M})"
            )
        if errors:
            raise ValidationError(errors)
        locked.licence_verified_at = verified_at
        locked.licence_verification_source = source.strip()
        locked.licence_verification_result = result
        locked.licence_verified_by = verifier
        if result == VerificationResult.NOT_CONFIRMED:
            locked.status = GrantStatus.ENDED
            locked.ends_on = timezone.localdate(verified_at)
        locked.updated_by = _user(actor)
        locked.save()
        audit.record(
            actor=actor,
            action="staff.disaster_licence_verify",
            target=locked,
            before={"licence_verified_at": None, "status": GrantStatus.ACTIVE},
            after={
                "licence_verified_at": verified_at,
                "source": locked.licence_verification_source,
                "result": result,
                "verified_by": verifier.pk if verifier is not None else None,
                "status": locked.status,
            },
        )
        if locked.status == GrantStatus.ENDED:
            notify(
                _office_and_chief(locked.practitioner),
                f"{locked}: the licence could not be confirmed; disaster privileges ended",
                link=f"/staff/practitioners/{locked.practitioner_id}/",
            )
    return locked


def do_decide_disaster_continuation(
    grant: PrivilegeGrant, *, continue_privileges: bool, decided_at: dt.datetime, reason: str, actor: Any | None
) -> PrivilegeGrant:
    """Decide whether disaster privileges continue (EM.02.02.13 EP 7: within 72 hours of the volunteer's arrival),
    on the evidence of the verified licence and of the volunteer's performance."""
    _require(actor, "staff.decide_privileges")
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "give the reason for the decision (observed performance, the verified licence)"
    if grant.presented_at is not None:
        problem = _moment_error(decided_at, grant.presented_at, "decision")
        if problem is None and decided_at > rules.disaster_continuation_due(grant.presented_at):
            problem = "the continuation decision is due within 72 hours of the volunteer's arrival"
        if problem is not None:
            errors["decided_at"] = problem
    with transaction.atomic():
        locked = _require_open_disaster_grant(grant, "continuation decision")
        if locked.continuation_decided_at is not None:
            raise ValidationError(
                f"continuation was already decided "
                f"({timezone.localtime(locked.continuation_decided_at):%Y-%m-%d %H:%M})"
            )
        if continue_privileges and locked.licence_verified_at is None:
            errors["continue_privileges"] = "verify the licence before continuing disaster privileges"
        if errors:
            raise ValidationError(errors)
        locked.continuation_decided_at = decided_at
        locked.continuation_decision = (
            DisasterContinuation.CONTINUE if continue_privileges else DisasterContinuation.END
        )
        locked.continuation_reason = reason.strip()
        locked.continuation_decided_by = _user(actor)
        if not continue_privileges:
            locked.status = GrantStatus.ENDED
            locked.ends_on = timezone.localdate(decided_at)
        locked.updated_by = _user(actor)
        locked.save()
        audit.record(
            actor=actor,
            action="staff.disaster_continuation",
            target=locked,
            before={"status": GrantStatus.ACTIVE},
            after={
                "continue": continue_privileges,
                "decided_at": decided_at,
                "reason": locked.continuation_reason,
                "status": locked.status,
            },
        )
    return locked


# --- FPPE -------------------------------------------------------------------------------------------------------


def safety_event_for_fppe(reference: str, *, actor: Any | None) -> SafetyEvent:
    """The submitted safety event a reference such as ``SE-00012`` names, if the actor may see it.

    A missing event and one the actor may not see get the same answer, so a reference reveals nothing."""
    if not reference.strip():
        raise ValidationError({"safety_event_reference": "name the safety event the FPPE comes from"})
    try:
        event_id = rules.safety_event_id(reference)
    except ValueError as error:
        raise ValidationError({"safety_event_reference": str(error)}) from None
    event = (
        SafetyEvent.objects.filter(pk=event_id, deleted_at__isnull=True)
        .exclude(status=SafetyEventStatus.DRAFT)
        .select_related("unit")
        .first()
    )
    if event is None or (actor is not None and safety_selectors.access_of(actor, event) is None):
        raise ValidationError(
            {
                "safety_event_reference": f"there is no safety event {rules.SAFETY_EVENT_PREFIX}{event_id:05d} "
                "that you may see: check the reference on the event's page"
            }
        )
    return event


def do_open_for_cause_fppe(
    practitioner: Practitioner,
    *,
    trigger: str,
    criteria: str,
    method: str,
    starts_on: dt.date,
    duration_days: int,
    oppe: OppeProfile | None = None,
    safety_event_reference: str = "",
    actor: Any | None,
) -> Fppe:
    _require_any(actor, "staff.decide_oppe", "staff.decide_privileges")
    if trigger not in (FppeTrigger.FOR_CAUSE_OPPE, FppeTrigger.FOR_CAUSE_SAFETY_EVENT):
        raise ValidationError({"trigger": "a for-cause FPPE comes from an OPPE or a safety event"})
    if trigger == FppeTrigger.FOR_CAUSE_OPPE and oppe is None:
        raise ValidationError({"oppe": "name the OPPE the FPPE comes from"})
    safety_event = None
    if trigger == FppeTrigger.FOR_CAUSE_SAFETY_EVENT:
        safety_event = safety_event_for_fppe(safety_event_reference, actor=actor)
        safety_event_reference = safety_event.reference
    if method not in FppeMethod.values:
        raise ValidationError({"method": f"unknown FPPE method {method!r}"})
    if duration_days < 1:
        raise ValidationError({"duration_days": "an FPPE lasts at least one day"})
    if not criteria.strip():
        raise ValidationError({"criteria": "state the criteria the evaluation applies"})
    with transaction.atomic():
        fppe = Fppe.objects.create(
            practitioner=practitioner,
            trigger=trigger,
            method=method,
            criteria=criteria.strip(),
            starts_on=starts_on,
            ends_on=rules.fppe_ends_on(starts_on, duration_days),
            oppe=oppe,
            safety_event=safety_event,
            safety_event_reference=safety_event_reference.strip(),
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        audit.record(actor=actor, action="staff.fppe_open", target=fppe, after=audit.snapshot(fppe))
        notify(
            _office_and_chief(practitioner),
            f"For-cause FPPE opened for {practitioner}",
            link=f"/staff/practitioners/{practitioner.pk}/",
        )
    return fppe


def do_conclude_fppe(fppe: Fppe, *, satisfactory: bool, conclusion: str, actor: Any | None) -> Fppe:
    _require_any(actor, "staff.decide_oppe", "staff.decide_privileges")
    if not conclusion.strip():
        raise ValidationError({"conclusion": "summarise what the evaluation found"})
    with transaction.atomic():
        locked = Fppe.objects.select_for_update(of=("self",)).get(pk=fppe.pk)
        if not locked.can_conclude():
            raise ValidationError("this FPPE is already concluded")
        locked.status = FppeStatus.COMPLETED_SATISFACTORY if satisfactory else FppeStatus.COMPLETED_UNSATISFACTORY
        locked.conclusion = conclusion.strip()
        locked.concluded_on = _today()
        locked.updated_by = _user(actor)
        locked.save()
        audit.record(
            actor=actor,
            action="staff.fppe_conclude",
            target=locked,
            before={"status": FppeStatus.OPEN},
            after={"status": locked.status, "concluded_on": locked.concluded_on},
        )
    return locked


# --- OPPE -------------------------------------------------------------------------------------------------------


def privileged_practitioners(department: Department) -> list[Practitioner]:
    """Practitioners of the department who hold privileges that are not ended (suspended ones included)."""
    return list(
        Practitioner.objects.filter(department=department)
        .filter(grants__status__in=[GrantStatus.ACTIVE, GrantStatus.LIMITED, GrantStatus.SUSPENDED_CREDENTIAL_LAPSE])
        .distinct()
        .order_by("family_name", "given_name")
    )


def do_record_oppe_results(
    department: Department,
    results: DepartmentOppeResults,
    *,
    actor: Any | None,
    practitioners: Sequence[Practitioner] | None = None,
    encounters: Sequence[AttendedEncounter] | None = None,
) -> list[OppeProfile]:
    """Store one OPPE profile per privileged practitioner of the department (or of ``practitioners`` among them)
    from the measure engine's results.

    Practitioners the results do not mention (no cases) still get a profile, with zero cases on every indicator.
    A profile already stored for the same period is kept as it is. With ``encounters`` (the department's attended
    encounters in the period), each profile also counts the safety events joined to the practitioner's care.
    """
    _require_any(actor, "staff.manage_staff", "staff.decide_oppe")
    if results.period_end < results.period_start:
        raise ValidationError("the OPPE period ends before it starts")
    by_practitioner = {result.practitioner_id: result for result in results.practitioners}
    funnels = {funnel.measure_id: funnel for funnel in results.funnels}
    created: list[OppeProfile] = []
    chosen = None if practitioners is None else {practitioner.pk for practitioner in practitioners}
    with transaction.atomic():
        for practitioner in privileged_practitioners(department):
            if chosen is not None and practitioner.pk not in chosen:
                continue
            if OppeProfile.objects.filter(practitioner=practitioner, period_end=results.period_end).exists():
                continue
            profile = OppeProfile.objects.create(
                practitioner=practitioner,
                department=department,
                period_start=results.period_start,
                period_end=results.period_end,
                source=results.source[:300],
                created_by=_user(actor),
                updated_by=_user(actor),
            )
            own = by_practitioner.get(practitioner.warehouse_id or "")
            values = {item.measure_id: item for item in own.indicators} if own is not None else {}
            for definition in results.indicators:
                value = values.get(definition.measure_id)
                funnel = funnels.get(definition.measure_id)
                cases = value.cases if value is not None else 0
                plotted = definition.kind != IndicatorKind.VOLUME
                OppeIndicator.objects.create(
                    profile=profile,
                    code=definition.measure_id,
                    name=definition.name,
                    kind=definition.kind,
                    higher_is_worse=definition.higher_is_worse,
                    cases=cases,
                    observed=value.observed
                    if value
                    else (0.0 if definition.kind != IndicatorKind.OBSERVED_EXPECTED else None),
                    expected=value.expected if value else None,
                    value=value.value
                    if value
                    else (0.0 if definition.kind != IndicatorKind.OBSERVED_EXPECTED else None),
                    lower=value.lower if value else None,
                    upper=value.upper if value else None,
                    funnel_lower=value.funnel_lower if value else None,
                    funnel_upper=value.funnel_upper if value else None,
                    department_value=funnel.department_value if funnel else None,
                    position=rules.funnel_position(
                        value.value if value else None,
                        value.funnel_lower if value else None,
                        value.funnel_upper if value else None,
                        cases,
                    )
                    if plotted
                    else "not_applicable",
                    funnel=_funnel_json(funnel, practitioner.warehouse_id) if funnel and plotted else {},
                )
            if encounters is not None:
                _add_safety_event_indicators(
                    profile,
                    [encounter for encounter in encounters if encounter.practitioner_id == practitioner.warehouse_id],
                )
            audit.record(
                actor=actor,
                action="staff.oppe_record",
                target=profile,
                after={**audit.snapshot(profile), "flagged": profile.is_flagged},
            )
            created.append(profile)
        if created:
            notify(
                [department.chief],
                f"{len(created)} OPPE profile(s) for {department} await your decision",
                link="/staff/oppe/",
            )
    return created


@dataclass(frozen=True)
class OppeRunReport:
    """What one OPPE run recorded: profiles per department, and departments it could not measure and why."""

    period_start: dt.date
    period_end: dt.date
    recorded: int = 0
    skipped: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.recorded} OPPE profile(s) for {self.period_start} to {self.period_end}"
        return text + "".join(f"; {reason}" for reason in self.skipped)


def do_record_due_oppe(*, warehouse: Path, today: dt.date, actor: Any | None) -> OppeRunReport:
    """Record an OPPE profile for every privileged practitioner who is due (at most every twelve months), from one
    measure-engine run per department over the twelve full months before ``today``.

    Due practitioners without stays in the period still get a profile (zero cases). A department without a
    warehouse id, or a period without data in the warehouse, is skipped and named in the report: recording zero
    cases for data that was never loaded would misstate the practitioners' practice.
    """
    from medgov.governance.staff.selectors import due_for_oppe

    _require_any(actor, "staff.manage_staff", "staff.decide_oppe")
    period_start, period_end = rules.oppe_period_ending(today)
    by_department: dict[int, list[Practitioner]] = {}
    departments: dict[int, Department] = {}
    for row in due_for_oppe(Practitioner.objects.all(), today=today):
        department = row.practitioner.department
        assert department is not None
        departments[department.pk] = department
        by_department.setdefault(department.pk, []).append(row.practitioner)
    recorded, skipped = 0, []
    for key, practitioners in by_department.items():
        department = departments[key]
        if not department.warehouse_id:
            skipped.append(f"{department}: no warehouse id, so its measures cannot be asked for")
            continue
        extra = list(department.oppe_indicators.values_list("measure_id", flat=True))
        try:
            results = analytics.practitioner_oppe_results(
                warehouse,
                department_id=department.warehouse_id,
                period_start=period_start,
                period_end=period_end,
                extra_measure_ids=extra,
            )
        except (analytics.NoDataError, analytics.UnknownMeasureError) as error:
            skipped.append(f"{department}: {error}")
            continue
        try:
            encounters: tuple[AttendedEncounter, ...] | None = analytics.attended_encounters(
                warehouse,
                [practitioner.warehouse_id for practitioner in practitioners if practitioner.warehouse_id],
                period_start,
                period_end,
            )
        except analytics.WarehouseUnavailable as error:
            encounters = None
            skipped.append(f"{department}: safety events not counted: {error}")
        recorded += len(
            do_record_oppe_results(department, results, actor=actor, practitioners=practitioners, encounters=encounters)
        )
    return OppeRunReport(period_start, period_end, recorded, tuple(skipped))


SAFETY_EVENTS_IN_CARE = "safety-events-in-care"
SAFETY_EVENTS_ON_UNITS = "safety-events-on-units"


@dataclass(frozen=True)
class SafetyEventCounts:
    """Safety events joined to a practitioner's care in an OPPE period.

    Safety events name a unit and (when the reporter gave it) the patient's MRN, never a practitioner. So
    ``in_care`` counts events whose patient and time fall within an encounter the practitioner attended, and
    ``on_units`` counts every event on a unit (by its warehouse location) where the practitioner attended an
    encounter in the period: context for the department chief, not attribution.
    """

    in_care: int
    on_units: int


def safety_event_counts(
    encounters: Sequence[AttendedEncounter], *, period_start: dt.date, period_end: dt.date
) -> SafetyEventCounts:
    tz = timezone.get_current_timezone()
    starts = dt.datetime.combine(period_start, dt.time.min, tzinfo=tz)
    ends = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    events = (
        SafetyEvent.objects.filter(deleted_at__isnull=True, occurred_at__gte=starts, occurred_at__lt=ends)
        .exclude(status=SafetyEventStatus.DRAFT)
        .select_related("unit")
    )
    locations = {encounter.location_id for encounter in encounters if encounter.location_id}
    on_units = events.filter(unit__warehouse_location_id__in=locations).count() if locations else 0
    stays: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for encounter in encounters:
        if not encounter.patient_mrn:
            continue
        start = _as_utc(encounter.start)
        # An encounter still open (or without an end) covers the day it started.
        end = _as_utc(encounter.end) if encounter.end is not None else start + dt.timedelta(days=1)
        stays.setdefault(encounter.patient_mrn, []).append((start, end))
    in_care = sum(
        1
        for event in events.filter(patient_mrn__in=list(stays))
        if any(start <= event.occurred_at <= end for start, end in stays[event.patient_mrn])
    )
    return SafetyEventCounts(in_care=in_care, on_units=on_units)


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _add_safety_event_indicators(profile: OppeProfile, encounters: Sequence[AttendedEncounter]) -> None:
    counts = safety_event_counts(encounters, period_start=profile.period_start, period_end=profile.period_end)
    for code, name, count in (
        (SAFETY_EVENTS_IN_CARE, "Safety events in the practitioner's encounters (patient and time)", counts.in_care),
        (
            SAFETY_EVENTS_ON_UNITS,
            "Safety events on the units the practitioner attended (events do not name practitioners)",
            counts.on_units,
        ),
    ):
        OppeIndicator.objects.create(
            profile=profile,
            code=code,
            name=name,
            kind=IndicatorKind.COUNT,
            cases=len(encounters),
            observed=float(count),
            value=float(count),
            position="not_applicable",
        )


def _funnel_json(funnel: Any, own_id: str | None) -> dict[str, Any]:
    return {
        "department_value": funnel.department_value,
        "size_label": funnel.size_label,
        "points": [
            {
                "cases": point.cases,
                "size": point.cases if point.size is None else point.size,
                "value": point.value,
                "self": point.practitioner_id == own_id,
            }
            for point in funnel.points
        ],
        "limits": [{"size": limit.size, "lower": limit.lower, "upper": limit.upper} for limit in funnel.limits],
    }


def do_decide_oppe(
    profile: OppeProfile,
    *,
    decision: str,
    rationale: str,
    fppe_criteria: str = "",
    fppe_method: str = FppeMethod.CHART_REVIEW,
    fppe_days: int = 90,
    actor: Any | None,
) -> OppeProfile:
    """The department chief's decision. Limiting or revoking is referred to the medical staff office and the CMO,
    which act through the privileges process (fair-hearing rights apply); opening an FPPE happens here."""
    _require(actor, "staff.decide_oppe")
    if actor is not None and (profile.department.chief_id != actor.pk):
        raise PermissionDenied
    if decision not in OppeDecision.values:
        raise ValidationError({"decision": f"unknown OPPE decision {decision!r}"})
    if not rationale.strip():
        raise ValidationError({"rationale": "give the reasons for the decision"})
    with transaction.atomic():
        locked = OppeProfile.objects.select_for_update(of=("self",)).get(pk=profile.pk)
        if not locked.can_decide():
            raise ValidationError("this OPPE is already decided")
        locked.status = OppeStatus.DECIDED
        locked.decision = decision
        locked.rationale = rationale.strip()
        locked.decided_by = _user(actor)
        locked.decided_on = _today()
        locked.updated_by = _user(actor)
        locked.save()
        audit.record(
            actor=actor,
            action="staff.oppe_decide",
            target=locked,
            before={"status": OppeStatus.AWAITING_DECISION},
            after={"status": locked.status, "decision": decision, "decided_on": locked.decided_on},
        )
        if decision == OppeDecision.OPEN_FPPE:
            do_open_for_cause_fppe(
                locked.practitioner,
                trigger=FppeTrigger.FOR_CAUSE_OPPE,
                criteria=fppe_criteria or f"Indicators flagged in {locked}",
                method=fppe_method,
                starts_on=locked.decided_on,
                duration_days=fppe_days,
                oppe=locked,
                actor=actor,
            )
        if decision in (OppeDecision.LIMIT, OppeDecision.REVOKE):
            notify(
                [*_users_with_permission("staff.manage_staff"), *_users_with_permission("staff.decide_privileges")],
                f"OPPE decision for {locked.practitioner}: {locked.get_decision_display()}",
                link=f"/staff/oppe/{locked.pk}/",
            )
    return locked


# --- peer review ------------------------------------------------------------------------------------------------


def do_appoint_peer_review_member(user: Any, *, actor: Any | None) -> None:
    """Peer-review committee members hold ``staff.view_peer_review`` through the committee group."""
    _require(actor, "staff.view_peer_review", "staff.decide_privileges")
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=PEER_REVIEW_COMMITTEE_GROUP)
        permission = Permission.objects.get(content_type__app_label="staff", codename="view_peer_review")
        group.permissions.add(permission)
        user.groups.add(group)
        audit.record(
            actor=actor,
            action="staff.peer_review_member_appoint",
            target=user,
            after={"group": PEER_REVIEW_COMMITTEE_GROUP},
        )


def do_refer_peer_review(
    practitioner: Practitioner,
    *,
    source: str,
    reference: str,
    summary: str,
    referred_on: dt.date | None = None,
    actor: Any | None,
) -> PeerReviewCase:
    """Refer a case; the office may refer but, unless on the committee, cannot read it afterwards."""
    _require_any(actor, "staff.view_peer_review", "staff.manage_staff")
    if source not in ReferralSource.values:
        raise ValidationError({"source": f"unknown referral source {source!r}"})
    if not summary.strip():
        raise ValidationError({"summary": "describe what is referred"})
    with transaction.atomic():
        case = PeerReviewCase.objects.create(
            practitioner=practitioner,
            referral_source=source,
            referral_reference=reference.strip(),
            summary=summary.strip(),
            referred_on=referred_on or _today(),
            created_by=_user(actor),
            updated_by=_user(actor),
        )
        # The audit entry names no clinical content: the trail is readable by auditors, the file is privileged.
        audit.record(
            actor=actor,
            action="staff.peer_review_refer",
            target=case,
            after={"practitioner": practitioner.pk, "referral_source": source, "status": case.status},
        )
        notify(
            _users_with_permission("staff.view_peer_review"), f"{case} referred", link=f"/staff/peer-review/{case.pk}/"
        )
    return case


def conflict_of_interest(case: PeerReviewCase, reviewer: Any) -> str | None:
    practitioner = case.practitioner
    if practitioner.user_id is not None and practitioner.user_id == reviewer.pk:
        return "a practitioner cannot review their own case"
    own = Practitioner.objects.filter(user=reviewer).first()
    if own is not None and practitioner.practice_group and own.practice_group == practitioner.practice_group:
        return f"the reviewer is a partner of the practitioner ({practitioner.practice_group})"
    return None


def do_assign_peer_reviewer(case: PeerReviewCase, reviewer: Any, *, actor: Any | None) -> PeerReviewCase:
    _require(actor, "staff.view_peer_review")
    problem = conflict_of_interest(case, reviewer)
    if problem is not None:
        raise ValidationError({"reviewer": f"conflict of interest: {problem}"})
    if not reviewer.has_perm("staff.view_peer_review"):
        raise ValidationError({"reviewer": "the reviewer must be a member of the peer-review committee"})
    with transaction.atomic():
        locked = PeerReviewCase.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if locked.status == PeerReviewStatus.DETERMINED:
            raise ValidationError("this case is already determined")
        before = {"reviewer": locked.reviewer_id, "status": locked.status}
        locked.reviewer = reviewer
        locked.status = PeerReviewStatus.UNDER_REVIEW
        locked.updated_by = _user(actor)
        locked.save()
        audit.record(
            actor=actor,
            action="staff.peer_review_assign",
            target=locked,
            before=before,
            after={"reviewer": reviewer.pk, "status": locked.status},
        )
        notify([reviewer], f"{locked} is assigned to you", link=f"/staff/peer-review/{locked.pk}/")
    return locked


def do_rate_peer_review(
    case: PeerReviewCase, *, care: str, outcome: str, documentation: str, comments: str = "", actor: Any
) -> PeerReviewRating:
    _require(actor, "staff.view_peer_review")
    if care not in CareRating.values:
        raise ValidationError({"care": f"unknown care rating {care!r}"})
    if outcome not in OutcomeRating.values:
        raise ValidationError({"outcome": f"unknown outcome rating {outcome!r}"})
    if documentation not in DocumentationRating.values:
        raise ValidationError({"documentation": f"unknown documentation rating {documentation!r}"})
    with transaction.atomic():
        locked = PeerReviewCase.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if actor is None or locked.reviewer_id != actor.pk:
            raise PermissionDenied
        if not locked.can_rate():
            raise ValidationError("this case is not under review")
        rating = PeerReviewRating.objects.create(
            case=locked,
            reviewer=actor,
            care=care,
            outcome=outcome,
            documentation=documentation,
            comments=comments.strip(),
            rated_on=_today(),
        )
        audit.record(actor=actor, action="staff.peer_review_rate", target=locked, after={"rating": rating.pk})
    return rating


def do_determine_peer_review(
    case: PeerReviewCase, *, determination: str, note: str = "", actor: Any | None
) -> PeerReviewCase:
    _require(actor, "staff.view_peer_review")
    if determination not in PeerReviewDetermination.values:
        raise ValidationError({"determination": f"unknown determination {determination!r}"})
    with transaction.atomic():
        locked = PeerReviewCase.objects.select_for_update(of=("self",)).get(pk=case.pk)
        if not locked.can_determine():
            raise ValidationError("a case is determined once it is under review and rated")
        locked.status = PeerReviewStatus.DETERMINED
        locked.determination = determination
        locked.determination_note = note.strip()
        locked.determined_on = _today()
        locked.updated_by = _user(actor)
        locked.save()
        audit.record(
            actor=actor,
            action="staff.peer_review_determine",
            target=locked,
            before={"status": PeerReviewStatus.UNDER_REVIEW},
            after={"status": locked.status, "determination": determination},
        )
    return locked


# --- scheduled work ---------------------------------------------------------------------------------------------


def do_send_expiry_reminders(*, today: dt.date) -> int:
    """Remind the office, the chief and the practitioner as a credential enters each warning window."""
    sent = 0
    credentials = (
        Credential.objects.filter(status=CredentialStatus.ACTIVE, expires_on__isnull=False)
        .select_related("practitioner__department__chief", "practitioner__user")
        .prefetch_related("reminders")
    )
    office = _users_with_permission("staff.manage_staff")
    for credential in credentials:
        if credential.practitioner.status == PractitionerStatus.INACTIVE:
            continue
        policy = _policy_of(credential.practitioner)
        window = rules.reminder_due(
            credential.expires_on,
            today,
            policy.expiry_warning_days,
            [reminder.window_days for reminder in credential.reminders.all()],
        )
        if window is None:
            continue
        assert credential.expires_on is not None
        with transaction.atomic():
            CredentialReminder.objects.create(credential=credential, window_days=window, sent_on=today)
            practitioner = credential.practitioner
            chief = practitioner.department.chief if practitioner.department else None
            notify(
                [*office, chief, practitioner.user],
                f"{credential} expires on {credential.expires_on.isoformat()} "
                f"({(credential.expires_on - today).days} days)",
                link=f"/staff/practitioners/{practitioner.pk}/",
            )
            audit.record(
                actor=None,
                action="staff.credential_reminder",
                target=credential,
                after={"window_days": window, "sent_on": today},
            )
        sent += 1
    return sent


def do_enforce_all_credential_lapses(*, today: dt.date) -> int:
    suspended = 0
    candidates = Practitioner.objects.filter(
        Q(status=PractitionerStatus.ACTIVE) | Q(grants__status=GrantStatus.ACTIVE)
    ).distinct()
    for practitioner in candidates:
        if do_enforce_credential_lapse(practitioner, today=today):
            suspended += 1
    return suspended


def do_end_lapsed_special_grants(*, now: dt.datetime) -> int:
    """End temporary privileges past their end date, and disaster privileges whose activation closed or whose
    licence verification or continuation decision is more than 72 hours overdue."""
    ended = 0
    today = timezone.localdate(now)
    open_ids = set(open_activations().values_list("pk", flat=True))
    grants = PrivilegeGrant.objects.filter(
        status=GrantStatus.ACTIVE, kind__in=[GrantKind.TEMPORARY, GrantKind.DISASTER]
    )
    for grant in grants:
        reason = None
        if grant.kind == GrantKind.TEMPORARY and grant.ends_on is not None and today > grant.ends_on:
            reason = "temporary privileges reached their end date"
        elif grant.kind == GrantKind.DISASTER and grant.presented_at is not None:
            if grant.activation_id not in open_ids:
                reason = "the emergency activation closed"
            elif grant.licence_verified_at is None and now > rules.disaster_licence_verification_due(
                grant.presented_at
            ):
                reason = "the licence was not verified within 72 hours"
            elif grant.continuation_decided_at is None and now > rules.disaster_continuation_due(grant.presented_at):
                reason = "no continuation decision within 72 hours"
        if reason is None:
            continue
        with transaction.atomic():
            PrivilegeGrant.objects.filter(pk=grant.pk).update(status=GrantStatus.EXPIRED, ends_on=today)
            audit.record(
                actor=None,
                action="staff.privilege_grant_expire",
                target=grant,
                before={"status": GrantStatus.ACTIVE},
                after={"status": GrantStatus.EXPIRED, "reason": reason, "ends_on": today},
            )
            notify(_office_and_chief(grant.practitioner), f"{grant}: {reason}; privileges ended")
        ended += 1
    return ended


def do_send_disaster_clock_reminders(*, now: dt.datetime) -> int:
    """Remind, once, whoever must act when a disaster volunteer's 72-hour clock enters its last day.

    The licence verification clock goes to the medical staff office, the continuation clock to those who decide
    privileges. A clock already done or already overdue is not reminded (the scan ends overdue privileges).
    """
    sent = 0
    grants = PrivilegeGrant.objects.filter(
        status=GrantStatus.ACTIVE,
        kind=GrantKind.DISASTER,
        presented_at__isnull=False,
        activation__in=open_activations(),
    ).select_related("practitioner", "item")
    clocks = (
        ("licence", "licence_verified_at", "licence_reminder_sent_at", "staff.manage_staff",
         rules.disaster_licence_verification_due, "the licence verification"),
        ("continuation", "continuation_decided_at", "continuation_reminder_sent_at", "staff.decide_privileges",
         rules.disaster_continuation_due, "the continuation decision"),
    )  # fmt: skip
    for grant in grants:
        assert grant.presented_at is not None
        for clock, done_field, sent_field, permission, due, what in clocks:
            due_at = due(grant.presented_at)
            settled = getattr(grant, done_field) is not None or getattr(grant, sent_field) is not None
            if not rules.disaster_reminder_due(due_at, now, hours_before=rules.DISASTER_REMINDER_HOURS, done=settled):
                continue
            with transaction.atomic():
                PrivilegeGrant.objects.filter(pk=grant.pk).update(**{sent_field: now})
                hours_left = max(0, int((due_at - now).total_seconds() // 3600))
                notify(
                    _users_with_permission(permission),
                    f"{grant}: {what} is due by {timezone.localtime(due_at):%Y-%m-%d %H:%M} ({hours_left} hours left)",
                    link=f"/staff/practitioners/{grant.practitioner_id}/",
                )
                audit.record(
                    actor=None,
                    action="staff.disaster_clock_reminder",
                    target=grant,
                    after={"clock": clock, "due_at": due_at, "sent_at": now},
                )
            sent += 1
    return sent


def do_send_reappointment_applications(*, today: dt.date) -> int:
    """Send the reappointment application 120 days before reappointment falls due (a pending request)."""
    sent = 0
    for practitioner in Practitioner.objects.exclude(status=PractitionerStatus.INACTIVE):
        latest = latest_appointment(practitioner)
        if latest is None:
            continue
        due = latest.reappointment_due_on
        if today < rules.reappointment_application_sent_on(due) or today > due:
            continue
        if practitioner.privilege_requests.filter(
            kind=RequestKind.REAPPOINTMENT, submitted_on__gte=latest.starts_on
        ).exists():
            continue
        items = [
            grant.item for grant in practitioner.grants.filter(status__in=[GrantStatus.ACTIVE, GrantStatus.LIMITED])
        ]
        if not items:
            continue
        with transaction.atomic():
            request = PrivilegeRequest.objects.create(
                practitioner=practitioner,
                kind=RequestKind.REAPPOINTMENT,
                submitted_on=today,
                note=f"Reappointment due {due.isoformat()}",
            )
            request.items.set(items)
            audit.record(
                actor=None,
                action="staff.reappointment_application_send",
                target=request,
                after={"due_on": due, "items": sorted(item.pk for item in items)},
            )
            notify(
                [*_office_and_chief(practitioner), practitioner.user],
                f"Reappointment of {practitioner} is due on {due.isoformat()}: application sent",
                link=f"/staff/requests/{request.pk}/",
            )
        sent += 1
    return sent


def do_import_practitioners_from_warehouse(warehouse: Path, *, actor: Any | None) -> ImportReport:
    """Read the warehouse's practitioner directory and link or add practitioners by NPI: all or none."""
    _require(actor, "staff.manage_staff")
    try:
        records = analytics.practitioner_directory(warehouse)
    except FileNotFoundError as error:
        raise ValidationError(f"nothing imported: {error}") from None
    return do_import_warehouse_practitioners(records, actor=actor)
