"""The only writers of patient-safety records: reports, triage, sentinel confirmation, RCAs and their actions.

Identity protection is a property of every write here. An anonymous report stores no user, no IP address and
no role, and its audit entries name no actor; writes by the reporter of a draft or of an identity-protected
report are audited under a neutral label, so the audit trail shown to others never links a person to a report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from medgov.analytics import api as analytics
from medgov.governance.accounts.choices import Role
from medgov.governance.accounts.models import User
from medgov.governance.core import audit
from medgov.governance.core.notices import notify
from medgov.governance.core.permissions import require_permissions as _require
from medgov.governance.safety import rules
from medgov.governance.safety.choices import (
    ActionStatus,
    ActionStrength,
    BehaviourType,
    ContributingFactorCategory,
    EventCategory,
    EventClass,
    EventStatus,
    HarmLevel,
    JustCultureResponse,
    NccMerpCategory,
    RcaStatus,
    SacProbability,
    SacSeverity,
    SentinelType,
)
from medgov.governance.safety.models import (
    CausalStatement,
    ContributingFactor,
    EventAttachment,
    EventMessage,
    Holiday,
    JustCultureReview,
    RcaAction,
    RootCauseAnalysis,
    SafetyEvent,
    TimelineEntry,
    Unit,
)

REPORTER_LABEL = "reporter"
PROTECTED_REPORTER_LABEL = "reporter (identity protected)"
FOLLOWUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: the code is read and typed by people


def holidays() -> frozenset[dt.date]:
    return frozenset(Holiday.objects.values_list("date", flat=True))


def safety_team() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=Role.QUALITY_SAFETY.value).distinct()


def safety_leads() -> QuerySet[User]:
    return User.objects.filter(
        is_active=True,
        user_permissions__codename="lead_safety_programme",
        user_permissions__content_type__app_label="safety",
    ).distinct()


def chief_medical_officers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=Role.CMO.value).distinct()


def _event_link(event: SafetyEvent) -> str:
    return reverse("safety:event", args=[event.pk])


def _followup_digest(code: str) -> str:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def _new_followup_code() -> str:
    raw = "".join(secrets.choice(FOLLOWUP_ALPHABET) for _ in range(20))  # 100 bits
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


# Audited fields of a report: structured facts only, never the reporter or free text.
_REPORT_AUDIT_FIELDS = (
    "status",
    "event_class",
    "category",
    "health_it_contributed",
    "occurred_at",
    "unit",
    "reported_harm",
    "is_anonymous",
    "protect_identity",
)
_TRIAGE_AUDIT_FIELDS = (
    "status",
    "event_class",
    "category",
    "harm_level",
    "permanent_harm",
    "ncc_merp",
    "sac_severity",
    "sac_probability",
    "sac_score",
    "sentinel_type",
    "is_potential_sentinel",
    "is_sensitive",
    "is_externally_reportable",
)


def _reporter_audit_actor(event: SafetyEvent, user: User | None) -> dict[str, Any]:
    """Who the audit trail names for a write by the event's reporter."""
    if event.is_anonymous:
        return {"actor": None, "actor_label": audit.ANONYMOUS_ACTOR_LABEL}
    if event.protect_identity:
        return {"actor": None, "actor_label": PROTECTED_REPORTER_LABEL}
    if event.status == EventStatus.DRAFT:
        # The author may still choose protection when submitting; a draft's history must not name them.
        return {"actor": None, "actor_label": REPORTER_LABEL}
    return {"actor": user}


# --- Reporting ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportInput:
    event_class: str
    category: str
    occurred_at: dt.datetime
    unit_code: str
    description: str
    reported_harm: str
    immediate_actions: str = ""
    patient_mrn: str = ""
    health_it_contributed: bool = False


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes


@dataclass(frozen=True)
class Submission:
    event: SafetyEvent
    followup_code: str  # shown to the reporter once, never stored


def _choice_error(value: str, choices: Any, label: str) -> str | None:
    if value in choices.values:
        return None
    return f"Unknown {label} {value!r}; choose one of: {', '.join(choices.values)}."


def free_text_errors(values: dict[str, str]) -> dict[str, str]:
    return {
        name: "Remove the HTML markup (such as <script> or <b>): free text is kept as plain text."
        for name, text in values.items()
        if text and rules.contains_markup(text)
    }


def validate_report(
    data: ReportInput, attachments: Sequence[Attachment] = (), *, now: dt.datetime | None = None
) -> Unit:
    """Check a report completely before anything is written; returns its unit. Raises ValidationError naming
    each bad field."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    for name, value, choices, label in (
        ("event_class", data.event_class, EventClass, "event class"),
        ("category", data.category, EventCategory, "category"),
        ("reported_harm", data.reported_harm, HarmLevel, "harm level"),
    ):
        message = _choice_error(value, choices, label)
        if message:
            errors[name] = message
    if timezone.is_naive(data.occurred_at):
        errors["occurred_at"] = "Give the time with its time zone."
    elif data.occurred_at > now:
        errors["occurred_at"] = (
            f"The event cannot be in the future: {timezone.localtime(data.occurred_at):%Y-%m-%d %H:%M} is after now."
        )
    if not data.description.strip():
        errors["description"] = "Describe what happened."
    elif len(data.description) > 10_000:
        errors["description"] = "Keep the description under 10,000 characters."
    if len(data.immediate_actions) > 5_000:
        errors["immediate_actions"] = "Keep the immediate actions under 5,000 characters."
    errors.update(free_text_errors({"description": data.description, "immediate_actions": data.immediate_actions}))
    unit = Unit.objects.filter(code=data.unit_code, is_active=True).first()
    if unit is None:
        errors["unit"] = f"Unknown unit {data.unit_code!r}; choose one of the hospital's units."
    mrn = data.patient_mrn.strip()
    if mrn:
        if len(mrn) > 40 or not mrn.replace("-", "").isalnum():
            errors["patient_mrn"] = f"{mrn[:40]!r} is not an MRN (letters, digits and hyphens only)."
        else:
            try:
                if not analytics.patient_mrn_exists(Path(settings.MEDGOV_WAREHOUSE), mrn):
                    errors["patient_mrn"] = f"No patient with MRN {mrn!r} is known; check the number or leave it empty."
            except analytics.WarehouseUnavailable:
                errors["patient_mrn"] = (
                    f"MRN {mrn!r} cannot be verified because the clinical warehouse is not available; "
                    "leave the MRN empty and the safety team will add it."
                )
    if data.health_it_contributed not in (True, False):
        errors["health_it_contributed"] = "Answer yes or no."
    attachment_messages = [
        message
        for item in attachments
        if (
            message := rules.attachment_error(
                item.name, len(item.content), item.content[:16], max_bytes=settings.MEDGOV_SAFETY_MAX_ATTACHMENT_BYTES
            )
        )
    ]
    if attachment_messages:
        errors["attachments"] = " ".join(attachment_messages)
    if errors:
        raise ValidationError(errors)
    assert unit is not None
    return unit


def _apply_report(event: SafetyEvent, data: ReportInput, unit: Unit) -> None:
    event.event_class = data.event_class
    event.category = data.category
    event.occurred_at = data.occurred_at
    event.unit = unit
    event.description = data.description.strip()
    event.reported_harm = data.reported_harm
    event.immediate_actions = data.immediate_actions.strip()
    event.patient_mrn = data.patient_mrn.strip()
    event.health_it_contributed = data.health_it_contributed


def _store_attachments(event: SafetyEvent, attachments: Sequence[Attachment]) -> None:
    for number, item in enumerate(attachments, start=event.attachments.count() + 1):
        suffix = item.name.rsplit(".", 1)[-1].lower()
        # An anonymous reporter's file name may carry their name (e.g. a user folder); keep only the type.
        name = f"attachment-{number}.{suffix}" if event.is_anonymous else Path(item.name).name[:200]
        record = EventAttachment(event=event, name=name, size=len(item.content))
        record.file.save(f"{secrets.token_hex(16)}.{suffix}", ContentFile(item.content), save=False)
        record.save()


def _own_draft(event: SafetyEvent, actor: User) -> SafetyEvent:
    locked = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
    if locked.reporter_id != actor.pk or not locked.can_submit():
        raise PermissionDenied
    return locked


def do_save_draft(
    data: ReportInput, *, attachments: Sequence[Attachment] = (), event: SafetyEvent | None = None, actor: User
) -> SafetyEvent:
    """Create or update the actor's draft. Drafts belong to their author, so they cannot be anonymous."""
    _require(actor, "safety.report_event")
    unit = validate_report(data, attachments)
    with transaction.atomic():
        if event is None:
            event = SafetyEvent(reporter=actor, created_by=actor, status=EventStatus.DRAFT)
            before = None
        else:
            event = _own_draft(event, actor)
            before = audit.snapshot(event, _REPORT_AUDIT_FIELDS)
        _apply_report(event, data, unit)
        event.updated_by = actor
        event.save()
        _store_attachments(event, attachments)
        audit.record(
            **_reporter_audit_actor(event, actor),
            action="safety_event.save_draft",
            target=event,
            before=before,
            after=audit.snapshot(event, _REPORT_AUDIT_FIELDS),
        )
    return event


def do_submit_event(
    data: ReportInput,
    *,
    attachments: Sequence[Attachment] = (),
    event: SafetyEvent | None = None,
    anonymous: bool = False,
    protect_identity: bool = False,
    actor: User,
) -> Submission:
    """Submit a new report (or the actor's draft). Routes it to the unit's manager and the safety team."""
    _require(actor, "safety.report_event")
    if anonymous and event is not None:
        raise ValidationError(
            {
                "anonymous": "A saved draft is kept with its author, so it cannot be submitted anonymously; "
                "file a new anonymous report instead."
            }
        )
    unit = validate_report(data, attachments)
    code = _new_followup_code()
    now = timezone.now()
    with transaction.atomic():
        if event is None:
            event = SafetyEvent(status=EventStatus.SUBMITTED)
            if not anonymous:
                event.reporter = event.created_by = event.updated_by = actor
            before = None
        else:
            event = _own_draft(event, actor)
            before = audit.snapshot(event, _REPORT_AUDIT_FIELDS)
            event.updated_by = actor
        _apply_report(event, data, unit)
        event.status = EventStatus.SUBMITTED
        event.is_anonymous = anonymous
        event.protect_identity = protect_identity and not anonymous
        event.followup_code_digest = _followup_digest(code)
        event.submitted_at = now
        event.is_potential_sentinel = rules.is_potential_sentinel(
            event_class=event.event_class, harm_level=event.reported_harm
        )
        event.save()
        _store_attachments(event, attachments)
        audit.record(
            **_reporter_audit_actor(event, None if anonymous else actor),
            action="safety_event.submit",
            target=event,
            before=before,
            after=audit.snapshot(event, _REPORT_AUDIT_FIELDS),
        )
        recipients = [*safety_team(), *([unit.manager] if unit.manager else [])]
        if event.is_potential_sentinel:
            recipients.extend(safety_leads())
        flag = " - potential sentinel event" if event.is_potential_sentinel else ""
        notify(
            recipients,
            subject=f"New safety event {event.reference}: {event.get_category_display()} on {unit.name}{flag}",
            text=(
                f"A {event.get_event_class_display().lower()} was reported on {unit.name}, "
                f"harm as reported: {event.get_reported_harm_display().lower()}. Please triage it."
            ),
            link=_event_link(event),
        )
    return Submission(event=event, followup_code=code)


def event_for_followup_code(code: str) -> SafetyEvent | None:
    """The submitted event whose follow-up code this is (None for an unknown code)."""
    if not code.strip():
        return None
    return (
        SafetyEvent.objects.filter(followup_code_digest=_followup_digest(code), deleted_at__isnull=True)
        .exclude(status=EventStatus.DRAFT)
        .first()
    )


def do_send_reporter_message(event: SafetyEvent, text: str, *, actor: User | None) -> EventMessage:
    """A message from the event's reporter to the safety team. The caller has proven it is the reporter,
    by signing in as them or by the follow-up code."""
    _check_message(text)
    with transaction.atomic():
        message = EventMessage.objects.create(event=event, from_reporter=True, text=text.strip())
        audit.record(
            **_reporter_audit_actor(event, actor),
            action="safety_event.reporter_message",
            target=event,
            after={"message": message.pk},
        )
        notify(
            _handlers_or_team(event),
            subject=f"The reporter of {event.reference} sent a message",
            text="Read it on the event page.",
            link=_event_link(event),
        )
    return message


def do_send_team_message(event: SafetyEvent, text: str, *, actor: User) -> EventMessage:
    """A message from the safety team to the reporter (reaches an anonymous reporter through their code)."""
    _require(actor, "safety.triage_event")
    _check_message(text)
    with transaction.atomic():
        message = EventMessage.objects.create(event=event, from_reporter=False, author=actor, text=text.strip())
        audit.record(actor=actor, action="safety_event.team_message", target=event, after={"message": message.pk})
        if event.reporter is not None:
            notify(
                [event.reporter],
                subject=f"The safety team replied about your report {event.reference}",
                text="Read the reply on your report's page.",
                link=_event_link(event),
            )
    return message


def _check_message(text: str) -> None:
    if not text.strip():
        raise ValidationError({"text": "Write a message."})
    if len(text) > 5_000:
        raise ValidationError({"text": "Keep the message under 5,000 characters."})
    errors = free_text_errors({"text": text})
    if errors:
        raise ValidationError(errors)


def _handlers_or_team(event: SafetyEvent) -> list[User]:
    if event.is_sensitive:
        return list(event.handlers.filter(is_active=True))
    return list(safety_team())


# --- Triage ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriageInput:
    event_class: str
    category: str
    harm_level: str
    ncc_merp: str = ""
    permanent_harm: bool = False
    sac_severity: str = ""
    sac_probability: str = ""
    sentinel_type: str = ""
    potential_sentinel: bool = False
    sensitive: bool = False
    externally_reportable: bool = False
    handler_ids: Sequence[int] = field(default_factory=tuple)


def validate_triage(data: TriageInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, value, choices, label in (
        ("event_class", data.event_class, EventClass, "event class"),
        ("category", data.category, EventCategory, "category"),
        ("harm_level", data.harm_level, HarmLevel, "harm level"),
    ):
        message = _choice_error(value, choices, label)
        if message:
            errors[name] = message
    optional: tuple[tuple[str, str, type[models.TextChoices], str], ...] = (
        ("ncc_merp", data.ncc_merp, NccMerpCategory, "NCC MERP category"),
        ("sac_severity", data.sac_severity, SacSeverity, "severity"),
        ("sac_probability", data.sac_probability, SacProbability, "probability"),
        ("sentinel_type", data.sentinel_type, SentinelType, "sentinel event type"),
    )
    for optional_name, optional_value, optional_choices, optional_label in optional:
        if optional_value and (message := _choice_error(optional_value, optional_choices, optional_label)):
            errors[optional_name] = message
    if errors:
        return errors
    if bool(data.sac_severity) != bool(data.sac_probability):
        errors["sac_probability"] = "The Safety Assessment Code needs both severity and probability."
    errors.update(
        rules.classification_errors(
            event_class=data.event_class,
            category=data.category,
            harm_level=data.harm_level,
            ncc_merp=data.ncc_merp,
            sentinel_type=data.sentinel_type,
        )
    )
    return errors


def do_triage_event(event: SafetyEvent, data: TriageInput, *, actor: User) -> SafetyEvent:
    """Classify the event: harm, NCC MERP, SAC and flags. Inconsistent combinations are refused."""
    _require(actor, "safety.triage_event")
    errors = validate_triage(data)
    handlers = list(User.objects.filter(pk__in=data.handler_ids, is_active=True))
    if data.sensitive and not handlers:
        errors["handler_ids"] = "Name the handlers who may see this sensitive event."
    if len(handlers) != len(set(data.handler_ids)):
        errors["handler_ids"] = "Some named handlers are not active users."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        event = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
        if not event.can_triage():
            raise ValidationError(
                f"{event.reference} is {event.get_status_display().lower()}; it cannot be triaged now."
            )
        before = audit.snapshot(event, _TRIAGE_AUDIT_FIELDS)
        before["handlers"] = sorted(event.handlers.values_list("pk", flat=True))
        event.event_class = data.event_class
        event.category = data.category
        event.harm_level = data.harm_level
        event.permanent_harm = data.permanent_harm
        event.ncc_merp = data.ncc_merp
        event.sac_severity = data.sac_severity
        event.sac_probability = data.sac_probability
        event.sac_score = (
            rules.safety_assessment_code(data.sac_severity, data.sac_probability) if data.sac_severity else None
        )
        event.sentinel_type = data.sentinel_type
        event.is_potential_sentinel = data.potential_sentinel or rules.is_potential_sentinel(
            event_class=data.event_class,
            harm_level=data.harm_level,
            permanent_harm=data.permanent_harm,
            sentinel_type=data.sentinel_type,
        )
        event.is_sensitive = data.sensitive
        event.is_externally_reportable = data.externally_reportable
        event.status = EventStatus.IN_REVIEW
        event.triaged_at = timezone.now()
        event.triaged_by = actor
        event.updated_by = actor
        event.save()
        if data.sensitive:
            # The triager stays a handler: marking an event sensitive must not lock its handler out.
            event.handlers.set([*handlers, actor])
        else:
            event.handlers.clear()
        after = audit.snapshot(event, _TRIAGE_AUDIT_FIELDS)
        after["handlers"] = sorted(event.handlers.values_list("pk", flat=True))
        changed_before, changed_after = audit.changed(before, after)
        audit.record(
            actor=actor, action="safety_event.triage", target=event, before=changed_before, after=changed_after
        )
    return event


def do_confirm_sentinel_event(event: SafetyEvent, *, aware_on: dt.date, actor: User) -> RootCauseAnalysis:
    """Confirm a potential sentinel event: notify the CMO and the safety lead at once and open the RCA, due 45
    business days after the organisation became aware (TJC Sentinel Event Policy)."""
    _require(actor, "safety.triage_event")
    today = timezone.localdate()
    if aware_on > today:
        raise ValidationError({"aware_on": "The day the organisation became aware cannot be in the future."})
    with transaction.atomic():
        event = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
        if not event.can_confirm_sentinel():
            raise ValidationError(
                f"{event.reference} cannot be confirmed as a sentinel event: it must be in review and flagged as a "
                "potential sentinel event."
            )
        if event.submitted_at and aware_on < timezone.localdate(event.submitted_at) - dt.timedelta(days=366):
            raise ValidationError({"aware_on": "That day is more than a year before the report; check the date."})
        event.is_sentinel_confirmed = True
        event.sentinel_confirmed_at = timezone.now()
        event.updated_by = actor
        event.save()
        audit.record(
            actor=actor,
            action="safety_event.confirm_sentinel",
            target=event,
            before={"is_sentinel_confirmed": False},
            after={"is_sentinel_confirmed": True, "aware_on": aware_on},
        )
        leaders = [*chief_medical_officers(), *safety_leads()]
        if event.is_sensitive:
            # Sentinel events go to the organisation's leaders; they become handlers so the notice can be acted on.
            event.handlers.add(*leaders)
        rca = _open_rca(event, aware_on=aware_on, actor=actor)
        notify(
            leaders,
            subject=f"Sentinel event confirmed: {event.reference} on {event.unit.name}",
            text=(
                f"{event.reference} ({event.get_category_display()}) was confirmed as a sentinel event. "
                f"The comprehensive systematic analysis is due on {rca.due_on:%Y-%m-%d}."
            ),
            link=_event_link(event),
        )
    return rca


def do_open_rca(event: SafetyEvent, *, aware_on: dt.date, actor: User) -> RootCauseAnalysis:
    """Open an RCA for an event that is not a sentinel event (e.g. a Safety Assessment Code of 3)."""
    _require(actor, "safety.manage_rca")
    with transaction.atomic():
        event = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
        if not event.can_open_rca():
            raise ValidationError(f"{event.reference} is not in review, or already has an RCA.")
        return _open_rca(event, aware_on=aware_on, actor=actor)


def _open_rca(event: SafetyEvent, *, aware_on: dt.date, actor: User) -> RootCauseAnalysis:
    rca = RootCauseAnalysis.objects.create(
        event=event,
        aware_on=aware_on,
        due_on=rules.rca_due_on(aware_on, holidays()),
        leader=actor,
        created_by=actor,
        updated_by=actor,
    )
    rca.team.add(actor)
    event.status = EventStatus.RCA
    event.save(update_fields=["status", "updated_at"])
    audit.record(
        actor=actor,
        action="rca.open",
        target=rca,
        after={"event": event.pk, "aware_on": aware_on, "due_on": rca.due_on},
    )
    return rca


# --- RCA workspace --------------------------------------------------------------------------------------------


def _open_rca_for_update(rca: RootCauseAnalysis, actor: User) -> RootCauseAnalysis:
    _require(actor, "safety.manage_rca")
    locked = RootCauseAnalysis.objects.select_for_update(of=("self",)).select_related("event").get(pk=rca.pk)
    if locked.status != RcaStatus.OPEN:
        raise ValidationError("This RCA is closed; reopen the event to change it.")
    return locked


def do_update_rca_team(
    rca: RootCauseAnalysis, *, leader_id: int | None, team_ids: Iterable[int], summary: str, actor: User
) -> RootCauseAnalysis:
    errors = free_text_errors({"summary": summary})
    if errors:
        raise ValidationError(errors)
    team = list(User.objects.filter(pk__in=list(team_ids), is_active=True))
    leader = User.objects.filter(pk=leader_id, is_active=True).first() if leader_id else None
    with transaction.atomic():
        rca = _open_rca_for_update(rca, actor)
        before = {"leader": rca.leader_id, "team": sorted(rca.team.values_list("pk", flat=True))}
        rca.leader = leader
        rca.summary = summary.strip()
        rca.updated_by = actor
        rca.save()
        rca.team.set(team)
        after = {"leader": rca.leader_id, "team": sorted(user.pk for user in team)}
        audit.record(actor=actor, action="rca.update_team", target=rca, before=before, after=after)
    return rca


def _add_item(rca: RootCauseAnalysis, actor: User, kind: str, create: Any, texts: dict[str, str]) -> Any:
    errors = free_text_errors(texts)
    for name, text in texts.items():
        if not text.strip():
            errors[name] = "This field is required."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rca = _open_rca_for_update(rca, actor)
        item = create(rca)
        audit.record(actor=actor, action=f"rca.add_{kind}", target=rca, after={kind: item.pk})
    return item


def do_add_timeline_entry(
    rca: RootCauseAnalysis, *, occurred_at: dt.datetime, description: str, actor: User
) -> TimelineEntry:
    entry: TimelineEntry = _add_item(
        rca,
        actor,
        "timeline_entry",
        lambda locked: TimelineEntry.objects.create(
            rca=locked, occurred_at=occurred_at, description=description.strip()
        ),
        {"description": description},
    )
    return entry


def do_add_causal_statement(rca: RootCauseAnalysis, *, text: str, actor: User) -> CausalStatement:
    statement: CausalStatement = _add_item(
        rca,
        actor,
        "causal_statement",
        lambda locked: CausalStatement.objects.create(rca=locked, text=text.strip()),
        {"text": text},
    )
    return statement


def do_add_contributing_factor(
    rca: RootCauseAnalysis, *, category: str, description: str, actor: User
) -> ContributingFactor:
    if category not in ContributingFactorCategory.values:
        raise ValidationError({"category": f"Unknown contributing-factor category {category!r}."})
    factor: ContributingFactor = _add_item(
        rca,
        actor,
        "contributing_factor",
        lambda locked: ContributingFactor.objects.create(
            rca=locked, category=category, description=description.strip()
        ),
        {"description": description},
    )
    return factor


@dataclass(frozen=True)
class ActionInput:
    description: str
    strength: str
    owner_id: int | None = None
    due_on: dt.date | None = None
    effectiveness_measure: str = ""
    measure_id: str = ""
    measure_version: str = ""
    measure_stratum: str = ""
    status: str = ActionStatus.PLANNED
    implemented_on: dt.date | None = None


_ACTION_AUDIT_FIELDS = (
    "description",
    "strength",
    "owner",
    "due_on",
    "effectiveness_measure",
    "measure_id",
    "measure_version",
    "measure_stratum",
    "status",
    "implemented_on",
)


def _validate_action(data: ActionInput) -> User | None:
    errors: dict[str, str] = {}
    if not data.description.strip():
        errors["description"] = "Describe the action."
    if data.strength not in ActionStrength.values:
        errors["strength"] = f"Unknown action strength {data.strength!r}; use stronger, intermediate or weaker."
    if data.status not in ActionStatus.values:
        errors["status"] = f"Unknown action status {data.status!r}."
    owner = None
    if data.owner_id is not None:
        owner = User.objects.filter(pk=data.owner_id, is_active=True).first()
        if owner is None:
            errors["owner_id"] = "The owner must be an active user."
    if data.status == ActionStatus.IMPLEMENTED and data.implemented_on is None:
        errors["implemented_on"] = "Give the date the action was implemented."
    if data.implemented_on is not None and data.implemented_on > timezone.localdate():
        errors["implemented_on"] = "The implementation date cannot be in the future."
    if (data.measure_version or data.measure_stratum) and not data.measure_id:
        errors["measure_id"] = "Name the measure whose version or stratum you gave."
    errors.update(
        free_text_errors(
            {
                "description": data.description,
                "effectiveness_measure": data.effectiveness_measure,
                "measure_id": data.measure_id,
                "measure_stratum": data.measure_stratum,
            }
        )
    )
    if errors:
        raise ValidationError(errors)
    return owner


def _apply_action(action: RcaAction, data: ActionInput, owner: User | None) -> None:
    action.description = data.description.strip()
    action.strength = data.strength
    action.owner = owner
    action.due_on = data.due_on
    action.effectiveness_measure = data.effectiveness_measure.strip()
    action.measure_id = data.measure_id.strip()
    action.measure_version = data.measure_version.strip()
    action.measure_stratum = data.measure_stratum.strip()
    action.status = data.status
    action.implemented_on = data.implemented_on


def do_add_action(rca: RootCauseAnalysis, data: ActionInput, *, actor: User) -> RcaAction:
    owner = _validate_action(data)
    with transaction.atomic():
        rca = _open_rca_for_update(rca, actor)
        action = RcaAction(rca=rca, created_by=actor, updated_by=actor)
        _apply_action(action, data, owner)
        action.save()
        audit.record(
            actor=actor, action="rca_action.create", target=action, after=audit.snapshot(action, _ACTION_AUDIT_FIELDS)
        )
        if owner is not None and owner != actor:
            notify(
                [owner],
                subject=f"You own an action of the RCA of {rca.event.reference}",
                text=f"Action: {action.description[:200]}. Due: {action.due_on or 'not set'}.",
                link=reverse("safety:action", args=[action.pk]),
            )
    return action


def do_update_action(action: RcaAction, data: ActionInput, *, actor: User) -> RcaAction:
    """Change an action. Its progress (status, implementation date) may change after the RCA has closed."""
    _require(actor, "safety.manage_rca")
    owner = _validate_action(data)
    with transaction.atomic():
        action = RcaAction.objects.select_for_update(of=("self",)).select_related("rca__event").get(pk=action.pk)
        before = audit.snapshot(action, _ACTION_AUDIT_FIELDS)
        if action.rca.status != RcaStatus.OPEN and (
            data.description.strip() != action.description
            or data.strength != action.strength
            or (owner.pk if owner else None) != action.owner_id
            or data.due_on != action.due_on
        ):
            raise ValidationError("The RCA is closed: only the action's progress and measure link can change.")
        _apply_action(action, data, owner)
        action.updated_by = actor
        action.save()
        changed_before, changed_after = audit.changed(before, audit.snapshot(action, _ACTION_AUDIT_FIELDS))
        audit.record(actor=actor, action="rca_action.update", target=action, before=changed_before, after=changed_after)
    return action


def rca_closure_problems(rca: RootCauseAnalysis) -> list[str]:
    facts = [
        rules.ActionFacts(
            description=action.description,
            strength=action.strength,
            has_owner=action.owner_id is not None,
            due_on=action.due_on,
            has_effectiveness_measure=action.has_effectiveness_measure,
        )
        for action in rca.actions.all()
    ]
    return rules.rca_closure_errors(facts, rca.causal_statements.count())


def do_close_rca(rca: RootCauseAnalysis, *, actor: User) -> RootCauseAnalysis:
    """Close the analysis and move the event to its action plan. Refused while the plan is incomplete."""
    with transaction.atomic():
        rca = _open_rca_for_update(rca, actor)
        problems = rca_closure_problems(rca)
        if problems:
            raise ValidationError(["The RCA cannot be closed yet.", *problems])
        rca.status = RcaStatus.CLOSED
        rca.closed_at = timezone.now()
        rca.updated_by = actor
        rca.save()
        event = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=rca.event_id)
        event.status = EventStatus.ACTIONS_IN_PROGRESS
        event.updated_by = actor
        event.save()
        audit.record(actor=actor, action="rca.close", target=rca, before={"status": "open"}, after={"status": "closed"})
    return rca


# --- Event workflow -------------------------------------------------------------------------------------------


def do_close_event(event: SafetyEvent, *, actor: User) -> SafetyEvent:
    _require(actor, "safety.triage_event")
    with transaction.atomic():
        event = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
        if not event.can_close():
            raise ValidationError(
                f"{event.reference} is {event.get_status_display().lower()}; it cannot be closed now."
            )
        if event.status == EventStatus.IN_REVIEW and event.is_sentinel_confirmed:
            raise ValidationError("A confirmed sentinel event is closed through its RCA.")
        open_actions = RcaAction.objects.filter(rca__event=event).exclude(status=ActionStatus.IMPLEMENTED).count()
        if open_actions:
            raise ValidationError(f"{open_actions} action(s) of the RCA are not implemented yet.")
        before = event.status
        event.status = EventStatus.CLOSED
        event.closed_at = timezone.now()
        event.updated_by = actor
        event.save()
        audit.record(
            actor=actor,
            action="safety_event.close",
            target=event,
            before={"status": before},
            after={"status": "closed"},
        )
    return event


def do_reopen_event(event: SafetyEvent, *, reason: str, actor: User) -> SafetyEvent:
    _require(actor, "safety.triage_event")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the event is reopened."})
    errors = free_text_errors({"reason": reason})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        event = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
        if not event.can_reopen():
            raise ValidationError(f"{event.reference} is not closed.")
        rca = RootCauseAnalysis.objects.filter(event=event).first()
        if rca is not None and rca.status == RcaStatus.CLOSED:
            rca.status = RcaStatus.OPEN
            rca.closed_at = None
            rca.save()
        event.status = EventStatus.RCA if rca is not None else EventStatus.IN_REVIEW
        event.closed_at = None
        event.updated_by = actor
        event.save()
        audit.record(
            actor=actor,
            action="safety_event.reopen",
            target=event,
            before={"status": "closed"},
            after={"status": event.status, "reason": reason.strip()},
        )
    return event


def do_remove_event(event: SafetyEvent, *, reason: str, actor: User) -> SafetyEvent:
    """Soft delete: the event disappears from every list but stays in the database and the audit trail."""
    _require(actor, "safety.remove_event")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the event is removed (e.g. a duplicate of SE-00012)."})
    errors = free_text_errors({"reason": reason})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        event = SafetyEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
        if event.is_deleted or event.status == EventStatus.DRAFT:
            raise ValidationError(f"{event.reference} cannot be removed.")
        event.deleted_at = timezone.now()
        event.deleted_by = actor
        event.save()
        audit.record(actor=actor, action="safety_event.remove", target=event, after={"reason": reason.strip()})
    return event


def do_record_just_culture_review(
    event: SafetyEvent, *, individual: str, behaviour: str, response: str, notes: str = "", actor: User
) -> JustCultureReview:
    """Record the Just Culture review of one individual's behaviour. Only the safety lead may."""
    _require(actor, "safety.lead_safety_programme")
    errors: dict[str, str] = {}
    if behaviour not in BehaviourType.values:
        errors["behaviour"] = f"Unknown behaviour {behaviour!r}."
    elif response not in JustCultureResponse.values:
        errors["response"] = f"Unknown response {response!r}."
    elif response != rules.just_culture_response(behaviour):
        expected = rules.just_culture_response(behaviour)
        errors["response"] = (
            f"Just Culture answers {BehaviourType(behaviour).label.lower()} with '{expected.label.lower()}', "
            f"not '{JustCultureResponse(response).label.lower()}'."
        )
    if not individual.strip():
        errors["individual"] = "Describe the individual by role (e.g. 'RN, night shift')."
    errors.update(free_text_errors({"individual": individual, "notes": notes}))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        review = JustCultureReview.objects.create(
            event=event,
            individual=individual.strip(),
            behaviour=behaviour,
            response=response,
            notes=notes.strip(),
            created_by=actor,
            updated_by=actor,
        )
        # The classification stays out of the shared audit trail: it is visible only to the safety lead.
        audit.record(actor=actor, action="just_culture.record", target=event, after={"review": review.pk})
    return review


# --- Reference data -------------------------------------------------------------------------------------------


def do_designate_safety_lead(user: User, *, actor: User | None) -> None:
    """Make ``user`` a patient-safety lead (a per-person permission, not a role)."""
    from django.contrib.auth.models import Permission

    _require(actor, "accounts.manage_users")
    permission = Permission.objects.get(content_type__app_label="safety", codename="lead_safety_programme")
    with transaction.atomic():
        user.user_permissions.add(permission)
        audit.record(actor=actor, action="safety.designate_lead", target=user, after={"safety_lead": True})


def do_create_unit(
    *,
    code: str,
    name: str,
    hospital: str,
    manager: User | None = None,
    warehouse_location_id: str = "",
    actor: User | None,
) -> Unit:
    _require(actor, "accounts.manage_users")
    if Unit.objects.filter(code=code).exists():
        raise ValidationError({"code": f"A unit with code {code!r} already exists."})
    with transaction.atomic():
        unit = Unit.objects.create(
            code=code, name=name, hospital=hospital, manager=manager, warehouse_location_id=warehouse_location_id
        )
        audit.record(actor=actor, action="safety_unit.create", target=unit, after=audit.snapshot(unit))
    return unit
