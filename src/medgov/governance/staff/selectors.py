"""Reads of the medical staff office, each behind a permission check.

Peer-review files are privileged: only holders of ``staff.view_peer_review`` (the peer-review committee and the
CMO) read them, and every read is written to the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Min, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from medgov.governance.core import audit
from medgov.governance.safety import selectors as safety_selectors
from medgov.governance.staff import rules
from medgov.governance.staff.choices import (
    REQUIRED_KINDS,
    CredentialKind,
    CredentialStatus,
    ExpirableBucket,
    GrantKind,
    GrantStatus,
    PractitionerStatus,
)
from medgov.governance.staff.models import (
    Credential,
    Department,
    Fppe,
    OppeProfile,
    PeerReviewCase,
    Practitioner,
    PrivilegeGrant,
    PrivilegeItem,
    PrivilegeRequest,
)


def _authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _require_view(user: Any) -> None:
    if not _authenticated(user) or not user.has_perm("staff.view_staff"):
        raise PermissionDenied


def can_view_peer_review(user: Any) -> bool:
    return _authenticated(user) and bool(user.has_perm("staff.view_peer_review"))


def access_credential_by_id(user: Any, credential_id: int) -> Credential:
    _require_view_or_404(user)
    credential = Credential.objects.select_related("practitioner").filter(pk=credential_id).first()
    if credential is None:
        raise Http404
    return credential


def _require_view_or_404(user: Any) -> None:
    try:
        _require_view(user)
    except PermissionDenied:
        raise Http404 from None


def practitioners_visible_to(user: Any, *, text: str = "", department: str = "") -> QuerySet[Practitioner]:
    _require_view(user)
    practitioners = Practitioner.objects.select_related("department")
    if text:
        practitioners = practitioners.filter(
            Q(family_name__icontains=text) | Q(given_name__icontains=text) | Q(npi=text)
        )
    if department:
        practitioners = practitioners.filter(department__code=department)
    return practitioners


def access_practitioner_by_id(user: Any, practitioner_id: int) -> Practitioner:
    try:
        return practitioners_visible_to(user).get(pk=practitioner_id)
    except (PermissionDenied, Practitioner.DoesNotExist):
        raise Http404 from None


def departments_visible_to(user: Any) -> QuerySet[Department]:
    _require_view(user)
    return Department.objects.select_related("chief")


def privilege_items_visible_to(user: Any) -> QuerySet[PrivilegeItem]:
    _require_view(user)
    return PrivilegeItem.objects.select_related("department").filter(is_active=True)


def privilege_requests_visible_to(user: Any, *, pending_only: bool = False) -> QuerySet[PrivilegeRequest]:
    _require_view(user)
    requests = PrivilegeRequest.objects.select_related("practitioner__department").prefetch_related(
        "items", "reviews__decided_by"
    )
    if pending_only:
        requests = requests.filter(status__in=list(PrivilegeRequest.NEXT_STEP))
    return requests


def access_privilege_request_by_id(user: Any, request_id: int) -> PrivilegeRequest:
    try:
        return privilege_requests_visible_to(user).get(pk=request_id)
    except (PermissionDenied, PrivilegeRequest.DoesNotExist):
        raise Http404 from None


def grants_of(user: Any, practitioner: Practitioner) -> QuerySet[PrivilegeGrant]:
    _require_view(user)
    return practitioner.grants.select_related("item__department")


def access_grant_by_id(user: Any, grant_id: int) -> PrivilegeGrant:
    _require_view_or_404(user)
    grant = PrivilegeGrant.objects.select_related("practitioner", "item", "activation").filter(pk=grant_id).first()
    if grant is None:
        raise Http404
    return grant


@dataclass(frozen=True)
class SpecialGrant:
    """Temporary or disaster privileges with the clocks the office watches (EM.02.02.13, MS.06.01.13)."""

    grant: PrivilegeGrant
    now: dt.datetime

    @property
    def is_disaster(self) -> bool:
        return self.grant.kind == GrantKind.DISASTER

    @property
    def is_open(self) -> bool:
        return self.grant.status == GrantStatus.ACTIVE

    @property
    def verification_overdue(self) -> bool:
        due = self.grant.licence_verification_due_at
        return self.is_open and self.grant.licence_verified_at is None and due is not None and self.now > due

    @property
    def continuation_overdue(self) -> bool:
        due = self.grant.continuation_due_at
        return self.is_open and self.grant.continuation_decided_at is None and due is not None and self.now > due

    @property
    def verification_hours_left(self) -> int | None:
        return self._hours_left(self.grant.licence_verification_due_at, self.grant.licence_verified_at)

    @property
    def continuation_hours_left(self) -> int | None:
        return self._hours_left(self.grant.continuation_due_at, self.grant.continuation_decided_at)

    @property
    def days_left(self) -> int | None:
        """Temporary privileges: days until they end (0 on the last day)."""
        if self.grant.kind != GrantKind.TEMPORARY or self.grant.ends_on is None or not self.is_open:
            return None
        return (self.grant.ends_on - timezone.localdate(self.now)).days

    def _hours_left(self, due: dt.datetime | None, done: dt.datetime | None) -> int | None:
        if due is None or done is not None or not self.is_open or self.now > due:
            return None
        return int((due - self.now).total_seconds() // 3600)


def special_grants_of(user: Any, practitioner: Practitioner, *, now: dt.datetime) -> dict[int, SpecialGrant]:
    """The practitioner's temporary and disaster grants, by grant id, with their clocks."""
    return {
        grant.pk: SpecialGrant(grant, now)
        for grant in grants_of(user, practitioner)
        .filter(kind__in=[GrantKind.TEMPORARY, GrantKind.DISASTER])
        .select_related("activation", "licence_verified_by", "continuation_decided_by")
    }


def open_special_grants_visible_to(user: Any, *, now: dt.datetime) -> list[SpecialGrant]:
    """Active disaster and temporary privileges, disaster first, the most pressing deadline first."""
    _require_view(user)
    grants = (
        PrivilegeGrant.objects.filter(status=GrantStatus.ACTIVE, kind__in=[GrantKind.DISASTER, GrantKind.TEMPORARY])
        .select_related("practitioner__department", "item", "activation", "licence_verified_by")
        .order_by("pk")
    )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)

    def pressing(row: SpecialGrant) -> tuple[int, dt.datetime]:
        grant = row.grant
        if row.is_disaster:
            pending = [
                due
                for due, done in (
                    (grant.licence_verification_due_at, grant.licence_verified_at),
                    (grant.continuation_due_at, grant.continuation_decided_at),
                )
                if due is not None and done is None
            ]
            return 0, min(pending, default=far)
        if grant.ends_on is None:
            return 1, far
        return 1, dt.datetime.combine(grant.ends_on, dt.time.max, tzinfo=dt.UTC)

    return sorted((SpecialGrant(grant, now) for grant in grants), key=pressing)


@dataclass(frozen=True)
class FppeSafetyEvent:
    """What a reader of an FPPE may learn of the safety event it comes from: a link for those who may see the
    event, the bare reference for others, and nothing at all of a sensitive event."""

    reference: str
    event_id: int | None
    description: str


def fppe_safety_event_for(user: Any, fppe: Fppe) -> FppeSafetyEvent | None:
    event = fppe.safety_event
    if event is None:
        if not fppe.safety_event_reference:
            return None
        return FppeSafetyEvent(fppe.safety_event_reference, None, "")
    if safety_selectors.access_of(user, event) is not None:
        occurred = timezone.localtime(event.occurred_at)
        return FppeSafetyEvent(
            event.reference, event.pk, f"{event.get_category_display()}, {occurred:%Y-%m-%d}, {event.unit}"
        )
    if event.is_sensitive:
        return FppeSafetyEvent("a restricted safety event", None, "")
    return FppeSafetyEvent(event.reference, None, "")


def fppes_visible_to(user: Any, *, open_only: bool = False) -> QuerySet[Fppe]:
    _require_view(user)
    fppes = Fppe.objects.select_related("practitioner", "grant__item", "safety_event__unit")
    return fppes.filter(status="open") if open_only else fppes


def access_fppe_by_id(user: Any, fppe_id: int) -> Fppe:
    try:
        return fppes_visible_to(user).get(pk=fppe_id)
    except (PermissionDenied, Fppe.DoesNotExist):
        raise Http404 from None


def oppe_profiles_visible_to(user: Any) -> QuerySet[OppeProfile]:
    """The office and the CMO see every OPPE; a department chief sees their own department's."""
    _require_view(user)
    profiles = OppeProfile.objects.select_related("practitioner", "department").prefetch_related("indicators")
    if user.has_perm("staff.manage_staff") or user.has_perm("staff.decide_privileges"):
        return profiles
    if user.has_perm("staff.decide_oppe"):
        return profiles.filter(department__chief=user)
    raise PermissionDenied


def access_oppe_profile_by_id(user: Any, profile_id: int) -> OppeProfile:
    try:
        return oppe_profiles_visible_to(user).get(pk=profile_id)
    except (PermissionDenied, OppeProfile.DoesNotExist):
        raise Http404 from None


def peer_review_cases_visible_to(user: Any) -> QuerySet[PeerReviewCase]:
    """The privileged list; reading it is audited."""
    if not can_view_peer_review(user):
        raise PermissionDenied
    with transaction.atomic():
        audit.record(actor=user, action="staff.peer_review_list_read", object_type="staff.peerreviewcase", is_read=True)
    return PeerReviewCase.objects.select_related("practitioner", "reviewer").prefetch_related("ratings")


def access_peer_review_case_by_id(user: Any, case_id: int) -> PeerReviewCase:
    """The same Http404 for a missing case and for a reader outside the committee; every read is audited."""
    if not can_view_peer_review(user):
        raise Http404
    case = (
        PeerReviewCase.objects.select_related("practitioner", "reviewer")
        .prefetch_related("ratings__reviewer")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise Http404
    with transaction.atomic():
        audit.record(actor=user, action="staff.peer_review_read", target=case, is_read=True)
    return case


def _holders_of(codename: str) -> QuerySet[Any]:
    app_label, name = codename.split(".", 1)
    holders = Q(groups__permissions__content_type__app_label=app_label, groups__permissions__codename=name)
    holders |= Q(user_permissions__content_type__app_label=app_label, user_permissions__codename=name)
    holders |= Q(is_superuser=True)
    ids = get_user_model().objects.filter(holders, is_active=True).values("pk")
    return get_user_model().objects.filter(pk__in=ids).order_by("username")


def medical_staff_office(user: Any) -> QuerySet[Any]:
    """Who verifies credentials: the holders of ``staff.manage_staff``."""
    _require_view(user)
    return _holders_of("staff.manage_staff")


def peer_review_committee(user: Any) -> QuerySet[Any]:
    """Who reads peer-review files: the committee and the CMO. Only they may see who is on it."""
    if not can_view_peer_review(user):
        raise PermissionDenied
    return _holders_of("staff.view_peer_review")


def peer_review_committee_candidates(user: Any) -> QuerySet[Any]:
    """Active users not yet on the committee, for those who may appoint members (the CMO)."""
    if not (can_view_peer_review(user) and user.has_perm("staff.decide_privileges")):
        raise PermissionDenied
    members = _holders_of("staff.view_peer_review").values("pk")
    return get_user_model().objects.filter(is_active=True).exclude(pk__in=members).order_by("username")


@dataclass(frozen=True)
class Expirable:
    practitioner: Practitioner
    bucket: str
    kind: str
    credential: Credential | None
    expires_on: dt.date | None
    window_days: int | None

    @property
    def days_left(self) -> int | None:
        return None if self.expires_on is None else (self.expires_on - dt.date.today()).days  # noqa: DTZ011

    @property
    def kind_label(self) -> str:
        return str(CredentialKind(self.kind).label)


def expirables_visible_to(user: Any, *, today: dt.date, warning_days: tuple[int, ...]) -> list[Expirable]:
    """Missing, expired, expiring (within the widest warning window) and unverified credentials of every
    practitioner who is not inactive, worst first."""
    _require_view(user)
    rows: list[Expirable] = []
    practitioners = (
        Practitioner.objects.exclude(status=PractitionerStatus.INACTIVE)
        .select_related("department")
        .prefetch_related(
            Prefetch("credentials", queryset=Credential.objects.exclude(status=CredentialStatus.SUPERSEDED)),
            Prefetch(
                "grants",
                queryset=PrivilegeGrant.objects.select_related("item").exclude(
                    status__in=[GrantStatus.REVOKED, GrantStatus.EXPIRED, GrantStatus.ENDED]
                ),
            ),
        )
    )
    widest = max(warning_days) if warning_days else 0
    for practitioner in practitioners:
        credentials = list(practitioner.credentials.all())
        required = list(REQUIRED_KINDS)
        if any(grant.item.involves_controlled_substances for grant in practitioner.grants.all()):
            required.append(CredentialKind.DEA_REGISTRATION)
        kinds = {credential.kind for credential in credentials}
        for kind in required:
            if kind not in kinds:
                rows.append(Expirable(practitioner, ExpirableBucket.MISSING, kind, None, None, None))
        for credential in credentials:
            if credential.expires_on is not None and rules.is_lapsed(credential.expires_on, today):
                rows.append(
                    Expirable(
                        practitioner, ExpirableBucket.EXPIRED, credential.kind, credential, credential.expires_on, None
                    )
                )
            elif credential.expires_on is not None and (credential.expires_on - today).days <= widest:
                window = rules.expiry_window(credential.expires_on, today, warning_days)
                rows.append(
                    Expirable(
                        practitioner,
                        ExpirableBucket.EXPIRING,
                        credential.kind,
                        credential,
                        credential.expires_on,
                        window,
                    )
                )
            elif credential.verified_on is None:
                rows.append(
                    Expirable(
                        practitioner,
                        ExpirableBucket.UNVERIFIED,
                        credential.kind,
                        credential,
                        credential.expires_on,
                        None,
                    )
                )
    order = {
        ExpirableBucket.EXPIRED: 0,
        ExpirableBucket.MISSING: 1,
        ExpirableBucket.EXPIRING: 2,
        ExpirableBucket.UNVERIFIED: 3,
    }
    rows.sort(
        key=lambda row: (
            order[ExpirableBucket(row.bucket)],
            row.expires_on or dt.date.max,
            row.practitioner.family_name,
        )
    )
    return rows


@dataclass(frozen=True)
class OppeDue:
    """A privileged practitioner whose ongoing evaluation is due: twelve months after the last one, or after the
    first grant."""

    practitioner: Practitioner
    first_granted_on: dt.date
    last_period_end: dt.date | None
    due_on: dt.date


def due_for_oppe(practitioners: QuerySet[Practitioner], *, today: dt.date) -> list[OppeDue]:
    """The practitioners among ``practitioners`` holding privileges that are not ended whose OPPE is due."""
    held = [GrantStatus.ACTIVE, GrantStatus.LIMITED, GrantStatus.SUSPENDED_CREDENTIAL_LAPSE]
    rows = (
        practitioners.filter(department__isnull=False, grants__status__in=held)
        .select_related("department")
        .annotate(first_granted_on=Min("grants__starts_on"), last_period_end=Max("oppe_profiles__period_end"))
        .order_by("department__name", "family_name", "given_name")
    )
    due = []
    for practitioner in rows:
        first, last = practitioner.first_granted_on, practitioner.last_period_end
        if rules.is_oppe_due(last, first, today):
            due.append(OppeDue(practitioner, first, last, rules.oppe_due_on(last, first)))
    return due


def practitioners_due_for_oppe(user: Any, *, today: dt.date) -> list[OppeDue]:
    """Practitioners due for OPPE that the user may see: the office and the CMO all, a department chief their own."""
    _require_view(user)
    practitioners = Practitioner.objects.all()
    if not (user.has_perm("staff.manage_staff") or user.has_perm("staff.decide_privileges")):
        if not user.has_perm("staff.decide_oppe"):
            raise PermissionDenied
        practitioners = practitioners.filter(department__chief=user)
    return due_for_oppe(practitioners, today=today)
