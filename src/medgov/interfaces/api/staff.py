"""Medical staff office API: practitioner files, credentials, expirables, OPPE and (for the committee) peer review."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from medgov.governance.staff import selectors, services

router = Router(tags=["staff"])
T = TypeVar("T")


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except PermissionDenied:
        raise HttpError(403, "You do not have permission to do this.") from None
    except ValidationError as error:
        raise HttpError(422, "; ".join(error.messages)) from None


def _call[T](function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _errors():
        return function(*args, **kwargs)


class PractitionerOut(Schema):
    id: int
    npi: str
    family_name: str
    given_name: str
    credential_text: str
    taxonomy_code: str
    specialty: str
    department: str | None
    appointment_category: str
    status: str
    warehouse_id: str | None


class CredentialOut(Schema):
    id: int
    kind: str
    issuer: str
    number: str
    state: str
    issued_on: dt.date | None
    expires_on: dt.date | None
    status: str
    result: str
    verified_on: dt.date | None
    verification_source: str


class GrantOut(Schema):
    id: int
    privilege: str
    kind: str
    starts_on: dt.date
    ends_on: dt.date | None
    status: str


class PractitionerDetail(PractitionerOut):
    credentials: list[CredentialOut]
    grants: list[GrantOut]
    cannot_hold_privileges_because: list[str]


class PractitionerIn(Schema):
    npi: str
    family_name: str
    given_name: str
    credential_text: str = ""
    taxonomy_code: str = ""
    specialty: str = ""
    appointment_category: str = "provisional"


class CredentialIn(Schema):
    kind: str
    issuer: str
    number: str = ""
    state: str = ""
    issued_on: dt.date | None = None
    expires_on: dt.date | None = None
    result: str = ""
    verified_on: dt.date | None = None
    verification_source: str = ""


class ExpirableOut(Schema):
    practitioner_id: int
    practitioner: str
    bucket: str
    kind: str
    expires_on: dt.date | None
    window_days: int | None


class IndicatorOut(Schema):
    code: str
    name: str
    kind: str
    cases: int
    observed: float | None
    expected: float | None
    value: float | None
    lower: float | None
    upper: float | None
    department_value: float | None
    funnel_lower: float | None
    funnel_upper: float | None
    position: str
    flagged: bool


class OppeOut(Schema):
    id: int
    practitioner_id: int
    department: str
    period_start: dt.date
    period_end: dt.date
    status: str
    decision: str
    flagged: bool
    indicators: list[IndicatorOut]


class PeerReviewCaseOut(Schema):
    id: int
    practitioner_id: int
    referral_source: str
    referred_on: dt.date
    status: str
    determination: str


def _practitioner(practitioner: Any) -> dict[str, Any]:
    return {
        "id": practitioner.pk,
        "npi": practitioner.npi,
        "family_name": practitioner.family_name,
        "given_name": practitioner.given_name,
        "credential_text": practitioner.credential_text,
        "taxonomy_code": practitioner.taxonomy_code,
        "specialty": practitioner.specialty,
        "department": practitioner.department.code if practitioner.department else None,
        "appointment_category": practitioner.appointment_category,
        "status": practitioner.status,
        "warehouse_id": practitioner.warehouse_id,
    }


@router.get("/practitioners", response=list[PractitionerOut])
def list_practitioners(request: HttpRequest, q: str = "") -> list[dict[str, Any]]:
    people = _call(selectors.practitioners_visible_to, request.user, text=q)
    return [_practitioner(person) for person in people]


@router.get("/practitioners/{id}", response=PractitionerDetail)
def get_practitioner(request: HttpRequest, id: int) -> dict[str, Any]:
    person = selectors.access_practitioner_by_id(request.user, id)
    grants = selectors.grants_of(request.user, person)
    return {
        **_practitioner(person),
        "credentials": list(person.credentials.all()),
        "grants": [
            {
                "id": g.pk,
                "privilege": g.item.name,
                "kind": g.kind,
                "starts_on": g.starts_on,
                "ends_on": g.ends_on,
                "status": g.status,
            }
            for g in grants
        ],
        "cannot_hold_privileges_because": services.credential_lapse_reasons(person, timezone.localdate()),
    }


@router.post("/practitioners", response={201: PractitionerOut})
def create_practitioner(request: HttpRequest, payload: PractitionerIn) -> Status[dict[str, Any]]:
    person = _call(services.do_create_practitioner, actor=request.user, **payload.dict())
    return Status(201, _practitioner(person))


@router.post("/practitioners/{id}/credentials", response={201: CredentialOut})
def add_credential(request: HttpRequest, id: int, payload: CredentialIn) -> Status[Any]:
    person = selectors.access_practitioner_by_id(request.user, id)
    return Status(201, _call(services.do_add_credential, person, actor=request.user, **payload.dict()))


@router.get("/expirables", response=list[ExpirableOut])
def list_expirables(request: HttpRequest) -> list[dict[str, Any]]:
    policy = services.policy_for()
    rows = _call(
        selectors.expirables_visible_to,
        request.user,
        today=timezone.localdate(),
        warning_days=tuple(policy.expiry_warning_days),
    )
    return [
        {
            "practitioner_id": row.practitioner.pk,
            "practitioner": str(row.practitioner),
            "bucket": row.bucket,
            "kind": row.kind,
            "expires_on": row.expires_on,
            "window_days": row.window_days,
        }
        for row in rows
    ]


@router.get("/oppe/{id}", response=OppeOut)
def get_oppe_profile(request: HttpRequest, id: int) -> dict[str, Any]:
    profile = selectors.access_oppe_profile_by_id(request.user, id)
    indicators = list(profile.indicators.all())
    return {
        "id": profile.pk,
        "practitioner_id": profile.practitioner_id,
        "department": profile.department.code,
        "period_start": profile.period_start,
        "period_end": profile.period_end,
        "status": profile.status,
        "decision": profile.decision,
        "flagged": any(indicator.is_flagged for indicator in indicators),
        "indicators": [
            {
                **{field: getattr(indicator, field) for field in IndicatorOut.model_fields if field != "flagged"},
                "flagged": indicator.is_flagged,
            }
            for indicator in indicators
        ],
    }


@router.get("/peer-review", response=list[PeerReviewCaseOut])
def list_peer_review_cases(request: HttpRequest) -> list[Any]:
    """Privileged: the peer-review committee and the CMO only; every read is audited."""
    return list(_call(selectors.peer_review_cases_visible_to, request.user))
