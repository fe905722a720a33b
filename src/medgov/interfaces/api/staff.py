"""Medical staff office API: practitioner files, credentials, privileges (temporary and disaster too), FPPE,
OPPE and (for the committee) peer review."""

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


class VerificationIn(Schema):
    verified_on: dt.date
    result: str
    verification_source: str


class SafetyEventFppeIn(Schema):
    safety_event_reference: str
    criteria: str
    method: str = "chart_review"
    starts_on: dt.date
    duration_days: int = 90


class FppeOut(Schema):
    id: int
    practitioner_id: int
    trigger: str
    method: str
    criteria: str
    starts_on: dt.date
    ends_on: dt.date
    status: str
    # The safety event as the caller may know it: its id only for those who may see it, no reference for others
    # when the event is sensitive.
    safety_event_id: int | None
    safety_event_reference: str
    conclusion: str
    concluded_on: dt.date | None


class FppeConclusionIn(Schema):
    satisfactory: bool
    conclusion: str


class ReferralIn(Schema):
    source: str
    reference: str = ""
    summary: str


class ReferralOut(Schema):
    id: int
    practitioner_id: int
    referral_source: str
    referred_on: dt.date
    status: str


class RequestOut(Schema):
    id: int
    practitioner_id: int
    kind: str
    status: str
    is_complete: bool


class ImportOut(Schema):
    created: int
    updated: int
    unchanged: int


def _fppe(request: HttpRequest, fppe: Any) -> dict[str, Any]:
    event = selectors.fppe_safety_event_for(request.user, fppe)
    return {
        **{field: getattr(fppe, field) for field in FppeOut.model_fields if not field.startswith("safety_event")},
        "safety_event_id": event.event_id if event else None,
        "safety_event_reference": event.reference if event else "",
    }


@router.post("/credentials/{id}/verification", response=CredentialOut)
def verify_credential(request: HttpRequest, id: int, payload: VerificationIn) -> Any:
    """Record a primary-source verification, e.g. from a credentials verification organisation's feed."""
    credential = selectors.access_credential_by_id(request.user, id)
    return _call(services.do_verify_credential, credential, actor=request.user, **payload.dict())


@router.post("/practitioners/{id}/for-cause-fppe", response={201: FppeOut})
def open_safety_event_fppe(request: HttpRequest, id: int, payload: SafetyEventFppeIn) -> Status[Any]:
    """Open a for-cause FPPE after a safety event: the reference (SE-00012) must name a submitted safety event the
    caller may see; any other answers 422 without saying whether the event exists."""
    person = selectors.access_practitioner_by_id(request.user, id)
    fppe = _call(
        services.do_open_for_cause_fppe,
        person,
        trigger="for_cause_safety_event",
        actor=request.user,
        **payload.dict(),
    )
    return Status(201, _fppe(request, fppe))


@router.post("/fppes/{id}/conclusion", response=FppeOut)
def conclude_fppe(request: HttpRequest, id: int, payload: FppeConclusionIn) -> Any:
    fppe = selectors.access_fppe_by_id(request.user, id)
    return _fppe(request, _call(services.do_conclude_fppe, fppe, actor=request.user, **payload.dict()))


@router.post("/practitioners/{id}/peer-review-referrals", response={201: ReferralOut})
def refer_peer_review(request: HttpRequest, id: int, payload: ReferralIn) -> Status[Any]:
    """Refer a case to the peer-review committee; the answer names no clinical content."""
    person = selectors.access_practitioner_by_id(request.user, id)
    return Status(201, _call(services.do_refer_peer_review, person, actor=request.user, **payload.dict()))


@router.post("/requests/{id}/complete", response=RequestOut)
def mark_request_complete(request: HttpRequest, id: int) -> Any:
    record = selectors.access_privilege_request_by_id(request.user, id)
    return _call(services.do_mark_request_complete, record, actor=request.user)


@router.post("/warehouse-import", response=ImportOut)
def import_from_warehouse(request: HttpRequest) -> Any:
    """Link practitioners to the clinical warehouse by NPI and add those not on file: all or none."""
    from pathlib import Path

    from django.conf import settings

    return _call(services.do_import_practitioners_from_warehouse, Path(settings.MEDGOV_WAREHOUSE), actor=request.user)


# --- temporary and disaster privileges --------------------------------------------------------------------------


class TemporaryPrivilegesIn(Schema):
    items: list[int]
    reason: str
    starts_on: dt.date
    ends_on: dt.date | None = None


class DisasterPrivilegesIn(Schema):
    items: list[int]
    presented_at: dt.datetime


class LicenceVerificationIn(Schema):
    verified_at: dt.datetime
    source: str
    result: str
    verified_by_id: int | None = None


class ContinuationIn(Schema):
    continue_privileges: bool
    decided_at: dt.datetime
    reason: str


class SpecialGrantOut(Schema):
    id: int
    practitioner_id: int
    privilege: str
    kind: str
    temporary_reason: str
    activation_id: int | None
    starts_on: dt.date
    ends_on: dt.date | None
    status: str
    presented_at: dt.datetime | None
    licence_verification_due_at: dt.datetime | None
    licence_verified_at: dt.datetime | None
    licence_verification_source: str
    licence_verification_result: str
    continuation_due_at: dt.datetime | None
    continuation_decided_at: dt.datetime | None
    continuation_decision: str
    continuation_reason: str


def _special_grant(grant: Any) -> dict[str, Any]:
    return {
        **{field: getattr(grant, field) for field in SpecialGrantOut.model_fields if field != "privilege"},
        "privilege": grant.item.name,
    }


def _aware(moment: dt.datetime) -> dt.datetime:
    """A time without an offset is in the hospital's time zone, as on the web forms."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _items(request: HttpRequest, ids: list[int]) -> list[Any]:
    items = list(_call(selectors.privilege_items_visible_to, request.user).filter(pk__in=ids))
    unknown = sorted(set(ids) - {item.pk for item in items})
    if unknown:
        raise HttpError(422, f"no active privilege with id {', '.join(str(pk) for pk in unknown)}")
    return items


def _require_perm(request: HttpRequest, permission: str) -> None:
    """Checked before the payload's ids are looked up, so a caller without the permission learns nothing of them."""
    if not request.user.has_perm(permission):
        raise HttpError(403, "You do not have permission to do this.")


@router.post("/practitioners/{id}/temporary-privileges", response={201: list[SpecialGrantOut]})
def grant_temporary_privileges(request: HttpRequest, id: int, payload: TemporaryPrivilegesIn) -> Status[Any]:
    """Temporary privileges for an important patient-care need, or for a complete, clean application awaiting
    approval for at most 120 days (TJC MS.06.01.13)."""
    person = selectors.access_practitioner_by_id(request.user, id)
    _require_perm(request, "staff.decide_privileges")
    grants = _call(
        services.do_grant_temporary_privileges,
        person,
        items=_items(request, payload.items),
        reason=payload.reason,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        actor=request.user,
    )
    return Status(201, [_special_grant(grant) for grant in grants])


@router.post("/practitioners/{id}/disaster-privileges", response={201: list[SpecialGrantOut]})
def grant_disaster_privileges(request: HttpRequest, id: int, payload: DisasterPrivilegesIn) -> Status[Any]:
    """Disaster privileges for a volunteer, only while an emergency operations plan activation is open
    (TJC EM.02.02.13). A time without an offset is in the hospital's time zone."""
    person = selectors.access_practitioner_by_id(request.user, id)
    _require_perm(request, "staff.decide_privileges")
    grants = _call(
        services.do_grant_disaster_privileges,
        person,
        items=_items(request, payload.items),
        presented_at=_aware(payload.presented_at),
        actor=request.user,
    )
    return Status(201, [_special_grant(grant) for grant in grants])


@router.post("/grants/{id}/licence-verification", response=SpecialGrantOut)
def record_disaster_licence_verification(request: HttpRequest, id: int, payload: LicenceVerificationIn) -> Any:
    """The primary-source verification of a disaster volunteer's licence, within 72 hours of presenting; the
    verifier is the caller unless ``verified_by_id`` names another member of the medical staff office."""
    grant = selectors.access_grant_by_id(request.user, id)
    _require_perm(request, "staff.manage_staff")
    verifier = None
    if payload.verified_by_id is not None:
        verifier = _call(selectors.medical_staff_office, request.user).filter(pk=payload.verified_by_id).first()
        if verifier is None:
            raise HttpError(422, f"user {payload.verified_by_id} is not in the medical staff office")
    updated = _call(
        services.do_record_disaster_verification,
        grant,
        verified_at=_aware(payload.verified_at),
        source=payload.source,
        result=payload.result,
        verified_by=verifier,
        actor=request.user,
    )
    return _special_grant(updated)


@router.post("/grants/{id}/continuation", response=SpecialGrantOut)
def decide_disaster_continuation(request: HttpRequest, id: int, payload: ContinuationIn) -> Any:
    """Whether disaster privileges continue, decided within 72 hours of the volunteer's arrival."""
    grant = selectors.access_grant_by_id(request.user, id)
    updated = _call(
        services.do_decide_disaster_continuation,
        grant,
        continue_privileges=payload.continue_privileges,
        decided_at=_aware(payload.decided_at),
        reason=payload.reason,
        actor=request.user,
    )
    return _special_grant(updated)


@router.get("/special-privileges", response=list[SpecialGrantOut])
def list_special_privileges(request: HttpRequest) -> list[dict[str, Any]]:
    """Active disaster and temporary privileges, the most pressing deadline first."""
    rows = _call(selectors.open_special_grants_visible_to, request.user, now=timezone.now())
    return [_special_grant(row.grant) for row in rows]


# --- the peer-review committee ----------------------------------------------------------------------------------


class CommitteeMemberIn(Schema):
    user_id: int


class CommitteeMemberOut(Schema):
    id: int
    username: str
    display_name: str


class ReviewerIn(Schema):
    reviewer_id: int


@router.post("/peer-review/committee", response={201: CommitteeMemberOut})
def appoint_peer_review_member(request: HttpRequest, payload: CommitteeMemberIn) -> Status[dict[str, Any]]:
    """Appoint an active user to the peer-review committee (the CMO)."""
    member = _call(selectors.peer_review_committee_candidates, request.user).filter(pk=payload.user_id).first()
    if member is None:
        raise HttpError(422, f"user {payload.user_id} is not an active user outside the peer-review committee")
    _call(services.do_appoint_peer_review_member, member, actor=request.user)
    return Status(201, {"id": member.pk, "username": member.username, "display_name": str(member)})


@router.post("/peer-review/{id}/reviewer", response=PeerReviewCaseOut)
def assign_peer_reviewer(request: HttpRequest, id: int, payload: ReviewerIn) -> Any:
    """Assign a committee member as reviewer; a conflict of interest (their own case, a partner in the same group
    practice) is refused with 422. Privileged: the committee and the CMO only; the read is audited."""
    case = selectors.access_peer_review_case_by_id(request.user, id)
    reviewer = _call(selectors.peer_review_committee, request.user).filter(pk=payload.reviewer_id).first()
    if reviewer is None:
        raise HttpError(422, f"user {payload.reviewer_id} is not a member of the peer-review committee")
    return _call(services.do_assign_peer_reviewer, case, reviewer, actor=request.user)
