"""Safety events over the API: report (also anonymously), list, read, triage, confirm a sentinel event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from medgov.governance.safety import selectors, services
from medgov.governance.safety.models import RootCauseAnalysis, SafetyEvent
from medgov.governance.safety.selectors import Access

router = Router(tags=["safety"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class UnitOut(Schema):
    code: str
    name: str
    hospital: str


class EventIn(Schema):
    event_class: str
    category: str
    occurred_at: dt.datetime
    unit: str
    description: str
    reported_harm: str
    immediate_actions: str = ""
    patient_mrn: str = ""
    health_it_contributed: bool = False
    anonymous: bool = False
    protect_identity: bool = False


class EventSubmittedOut(Schema):
    id: int
    reference: str
    status: str
    followup_code: str


class EventOut(Schema):
    id: int
    reference: str
    status: str
    event_class: str
    category: str
    unit: str
    occurred_at: dt.datetime
    reported_harm: str
    reported_by: str
    patient_mrn: str = ""
    description: str = ""
    immediate_actions: str = ""
    harm_level: str | None = None
    ncc_merp: str | None = None
    sac_score: int | None = None
    sentinel_type: str | None = None
    is_potential_sentinel: bool | None = None
    is_sentinel_confirmed: bool | None = None
    is_sensitive: bool | None = None
    is_externally_reportable: bool | None = None


class TriageIn(Schema):
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
    handler_ids: list[int] = []


class ConfirmSentinelIn(Schema):
    aware_on: dt.date


class ActionOut(Schema):
    id: int
    description: str
    strength: str
    owner: str | None
    due_on: dt.date | None
    effectiveness_measure: str
    measure_id: str
    measure_version: str
    measure_stratum: str
    status: str
    implemented_on: dt.date | None


class RcaOut(Schema):
    event_id: int
    status: str
    aware_on: dt.date
    due_on: dt.date
    actions: list[ActionOut]


def _event_out(user: Any, event: SafetyEvent, access: Access) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": event.pk,
        "reference": event.reference,
        "status": event.status,
        "event_class": event.event_class,
        "category": event.category,
        "unit": event.unit.code,
        "occurred_at": event.occurred_at,
        "reported_harm": event.reported_harm,
        "reported_by": selectors.reporter_label(user, event, access),
        "patient_mrn": event.patient_mrn,
        "description": event.description,
        "immediate_actions": event.immediate_actions,
    }
    if access is not Access.REPORTER:
        out.update(
            harm_level=event.harm_level,
            ncc_merp=event.ncc_merp,
            sac_score=event.sac_score,
            sentinel_type=event.sentinel_type,
            is_potential_sentinel=event.is_potential_sentinel,
            is_sentinel_confirmed=event.is_sentinel_confirmed,
            is_sensitive=event.is_sensitive,
            is_externally_reportable=event.is_externally_reportable,
        )
    return out


def _rca_out(rca: RootCauseAnalysis) -> dict[str, Any]:
    return {
        "event_id": rca.event_id,
        "status": rca.status,
        "aware_on": rca.aware_on,
        "due_on": rca.due_on,
        "actions": [
            {
                "id": action.pk,
                "description": action.description,
                "strength": action.strength,
                "owner": str(action.owner) if action.owner else None,
                "due_on": action.due_on,
                "effectiveness_measure": action.effectiveness_measure,
                "measure_id": action.measure_id,
                "measure_version": action.measure_version,
                "measure_stratum": action.measure_stratum,
                "status": action.status,
                "implemented_on": action.implemented_on,
            }
            for action in rca.actions.select_related("owner")
        ],
    }


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


@router.get("/units", response=list[UnitOut])
def list_units(request: HttpRequest) -> Any:
    if not _user(request).has_perm("safety.report_event"):
        raise HttpError(403, "You may not report safety events.")
    return list(selectors.units())


@router.get("/events", response=list[EventOut])
def list_events(request: HttpRequest) -> Any:
    user = _user(request)
    try:
        events = selectors.events_visible_to(user).exclude(status="draft").order_by("-submitted_at")[:500]
    except PermissionDenied:
        raise HttpError(403, "You may not see safety events.") from None
    result = []
    for event in events:
        access = selectors.access_of(user, event)
        if access is not None:
            result.append(_event_out(user, event, access))
    return result


@router.post("/events", response={201: EventSubmittedOut, 403: ErrorOut, 422: ErrorOut})
def submit_event(request: HttpRequest, payload: EventIn) -> Any:
    user = _user(request)
    try:
        submission = services.do_submit_event(
            services.ReportInput(
                event_class=payload.event_class,
                category=payload.category,
                occurred_at=payload.occurred_at,
                unit_code=payload.unit,
                description=payload.description,
                reported_harm=payload.reported_harm,
                immediate_actions=payload.immediate_actions,
                patient_mrn=payload.patient_mrn,
                health_it_contributed=payload.health_it_contributed,
            ),
            anonymous=payload.anonymous,
            protect_identity=payload.protect_identity,
            actor=user,
        )
    except PermissionDenied:
        return Status(403, {"detail": "You may not report safety events."})
    except ValidationError as error:
        return Status(422, {"detail": "The report was not stored.", "errors": error.message_dict})
    event = submission.event
    return Status(
        201,
        {
            "id": event.pk,
            "reference": event.reference,
            "status": event.status,
            "followup_code": submission.followup_code,
        },
    )


@router.get("/events/{event_id}", response=EventOut)
def get_event(request: HttpRequest, event_id: int) -> Any:
    user = _user(request)
    granted = selectors.access_event_by_id(user, event_id)
    return _event_out(user, granted.event, granted.access)


@router.post("/events/{event_id}/triage", response={200: EventOut, 403: ErrorOut, 422: ErrorOut})
def triage_event(request: HttpRequest, event_id: int, payload: TriageIn) -> Any:
    user = _user(request)
    granted = selectors.access_event_by_id(user, event_id, minimum=Access.TEAM, audit_read=False)
    try:
        event = services.do_triage_event(granted.event, services.TriageInput(**payload.dict()), actor=user)
    except PermissionDenied:
        return Status(403, {"detail": "You may not triage safety events."})
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        return Status(422, {"detail": "The triage was not saved.", "errors": errors})
    return Status(200, _event_out(user, event, granted.access))


@router.post("/events/{event_id}/confirm-sentinel", response={200: RcaOut, 403: ErrorOut, 422: ErrorOut})
def confirm_sentinel(request: HttpRequest, event_id: int, payload: ConfirmSentinelIn) -> Any:
    user = _user(request)
    granted = selectors.access_event_by_id(user, event_id, minimum=Access.TEAM, audit_read=False)
    try:
        rca = services.do_confirm_sentinel_event(granted.event, aware_on=payload.aware_on, actor=user)
    except PermissionDenied:
        return Status(403, {"detail": "You may not confirm sentinel events."})
    except ValidationError as error:
        errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        return Status(422, {"detail": "The event was not confirmed.", "errors": errors})
    return Status(200, _rca_out(rca))


@router.get("/events/{event_id}/rca", response=RcaOut)
def get_rca(request: HttpRequest, event_id: int) -> Any:
    return _rca_out(selectors.access_rca(_user(request), event_id))
