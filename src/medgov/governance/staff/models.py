"""The medical staff office's system of record: who may practise what, and the evidence behind it."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from medgov.governance.core.models import TrackedModel
from medgov.governance.staff import rules
from medgov.governance.staff.choices import (
    AppointmentCategory,
    CareRating,
    CredentialKind,
    CredentialStatus,
    DisasterContinuation,
    DocumentationRating,
    FppeMethod,
    FppeStatus,
    FppeTrigger,
    FunnelPosition,
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


def _default_warning_days() -> list[int]:
    return list(rules.DEFAULT_EXPIRY_WARNING_DAYS)


def _empty_mapping() -> dict[str, int]:
    return {}


class StaffPolicy(TrackedModel):
    """The organisation's medical staff rules, per hospital ("" is the organisation-wide default)."""

    hospital = models.CharField(max_length=100, blank=True, unique=True)
    reappointment_months = models.PositiveSmallIntegerField(default=rules.DEFAULT_REAPPOINTMENT_MONTHS)
    # Where state law requires a shorter cycle: {"XX": 24}; the strictest state of the practitioner's licences wins.
    state_reappointment_months = models.JSONField(default=_empty_mapping, blank=True)
    verification_window_days = models.PositiveSmallIntegerField(default=rules.DEFAULT_VERIFICATION_WINDOW_DAYS)
    expiry_warning_days = models.JSONField(default=_default_warning_days)
    fppe_default_days = models.PositiveSmallIntegerField(default=90)

    class Meta:
        verbose_name_plural = "staff policies"
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(reappointment_months__gte=1, reappointment_months__lte=36),
                name="staff_policy_reappointment_at_most_36_months",
                violation_error_message="the reappointment cycle is between 1 and 36 months (42 CFR 482.22)",
            )
        ]

    def __str__(self) -> str:
        return f"Staff policy {self.hospital or '(organisation)'}"


class Department(TrackedModel):
    name = models.CharField(max_length=150)
    code = models.SlugField(max_length=50, unique=True)
    hospital = models.CharField(max_length=100, blank=True)
    chief = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="chief_of_departments"
    )
    # The department's Organization id in the warehouse, so its measures can be asked for.
    warehouse_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name


class Practitioner(TrackedModel):
    npi = models.CharField("NPI", max_length=10, unique=True)
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100)
    middle_name = models.CharField(max_length=100, blank=True)
    credential_text = models.CharField("credentials", max_length=50, blank=True, help_text="e.g. MD, DO, MBBS")
    taxonomy_code = models.CharField("NUCC taxonomy code", max_length=10, blank=True)
    specialty = models.CharField(max_length=150, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="practitioners"
    )
    appointment_category = models.CharField(
        max_length=20, choices=AppointmentCategory.choices, default=AppointmentCategory.PROVISIONAL
    )
    status = models.CharField(max_length=30, choices=PractitionerStatus.choices, default=PractitionerStatus.APPLICANT)
    # The practitioner's id in the clinical warehouse: their encounters and measures are found by it.
    warehouse_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="practitioner"
    )
    # Practitioners in the same group practice are partners: they never peer-review each other.
    practice_group = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["family_name", "given_name"]
        permissions = [
            ("view_staff", "Can view practitioner files, credentials and privileges"),
            ("manage_staff", "Can maintain practitioner files, credentials and requests"),
            ("recommend_privileges", "Can record a department chief's recommendation on privileges"),
            ("decide_privileges", "Can record committee and board decisions and grant temporary privileges"),
            ("decide_oppe", "Can decide on a practitioner's OPPE"),
            ("view_peer_review", "Can read privileged peer-review files"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(npi__regex=r"^[0-9]{10}$"),
                name="staff_practitioner_npi_ten_digits",
                violation_error_message="an NPI is exactly 10 digits",
            )
        ]

    def __str__(self) -> str:
        suffix = f", {self.credential_text}" if self.credential_text else ""
        return f"{self.given_name} {self.family_name}{suffix}"

    @property
    def is_suspended(self) -> bool:
        return self.status == PractitionerStatus.SUSPENDED_CREDENTIAL_LAPSE


class Appointment(TrackedModel):
    """One term of medical staff membership; reappointment is due when it ends."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="appointments")
    category = models.CharField(max_length=20, choices=AppointmentCategory.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-starts_on"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="staff_appointment_ends_after_start",
                violation_error_message="an appointment cannot end before it starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} {self.starts_on} to {self.ends_on}"

    @property
    def reappointment_due_on(self) -> dt.date:
        return self.ends_on + dt.timedelta(days=1)


class Credential(TrackedModel):
    """One credential and its primary-source verification."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=30, choices=CredentialKind.choices)
    issuer = models.CharField(max_length=200, help_text="Board, agency, school, carrier or data bank")
    number = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True, help_text="Two-letter state of a licence or registration")
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    result = models.CharField(max_length=20, choices=VerificationResult.choices, blank=True)
    verified_on = models.DateField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verification_source = models.CharField(max_length=200, blank=True, help_text="The primary source consulted")
    source_document = models.FileField(upload_to="staff/credentials/%Y/", blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["kind", "-expires_on"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(issued_on__isnull=True) | Q(expires_on__gte=F("issued_on")),
                name="staff_credential_expires_after_issue",
                violation_error_message="a credential cannot expire before it was issued",
            )
        ]

    def __str__(self) -> str:
        number = f" {self.number}" if self.number else ""
        return f"{self.get_kind_display()}{number} ({self.practitioner})"

    @property
    def is_verified(self) -> bool:
        return self.verified_on is not None and self.result != VerificationResult.NOT_CONFIRMED


class CredentialReminder(models.Model):
    """A reminder sent for one warning window of one credential, so each window is reminded once."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="reminders")
    window_days = models.PositiveSmallIntegerField()
    sent_on = models.DateField()

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["credential", "window_days"], name="staff_one_reminder_per_window")
        ]

    def __str__(self) -> str:
        return f"{self.credential} {self.window_days} days"


class PrivilegeItem(TrackedModel):
    """One entry of a department's privilege catalogue, with the criteria an applicant must meet."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="privilege_items")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=PrivilegeKind.choices, default=PrivilegeKind.CORE)
    criteria = models.TextField(blank=True)
    involves_controlled_substances = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["department__name", "kind", "name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["department", "code"],
                name="staff_privilege_code_unique_in_department",
                violation_error_message="the department already has a privilege with this code",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.department.code})"


class PrivilegeRequest(TrackedModel):
    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="privilege_requests")
    kind = models.CharField(max_length=20, choices=RequestKind.choices)
    items = models.ManyToManyField(PrivilegeItem, related_name="requests")
    status = models.CharField(max_length=40, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED)
    submitted_on = models.DateField()
    # The office confirms the application is complete: every item answered, every document received.
    is_complete = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-submitted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request of {self.practitioner}"

    NEXT_STEP: ClassVar[dict[str, str]] = {
        RequestStatus.SUBMITTED: ReviewStep.DEPARTMENT_CHIEF,
        RequestStatus.CHIEF_RECOMMENDED: ReviewStep.CREDENTIALS_COMMITTEE,
        RequestStatus.CREDENTIALS_COMMITTEE_APPROVED: ReviewStep.MEDICAL_EXECUTIVE_COMMITTEE,
        RequestStatus.MEC_APPROVED: ReviewStep.BOARD,
    }
    STATUS_AFTER: ClassVar[dict[str, str]] = {
        ReviewStep.DEPARTMENT_CHIEF: RequestStatus.CHIEF_RECOMMENDED,
        ReviewStep.CREDENTIALS_COMMITTEE: RequestStatus.CREDENTIALS_COMMITTEE_APPROVED,
        ReviewStep.MEDICAL_EXECUTIVE_COMMITTEE: RequestStatus.MEC_APPROVED,
        ReviewStep.BOARD: RequestStatus.GRANTED,
    }

    @property
    def next_step(self) -> str | None:
        return self.NEXT_STEP.get(self.status)

    @property
    def is_pending(self) -> bool:
        return self.next_step is not None

    def can_decide(self, step: str) -> bool:
        return self.next_step == step


class PrivilegeReview(models.Model):
    """One recorded step on a privilege request: who decided, when, and what."""

    request = models.ForeignKey(PrivilegeRequest, on_delete=models.CASCADE, related_name="reviews")
    step = models.CharField(max_length=30, choices=ReviewStep.choices)
    outcome = models.CharField(max_length=10, choices=StepOutcome.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    decided_on = models.DateField()
    note = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["request", "step"], name="staff_one_review_per_step")
        ]

    def __str__(self) -> str:
        return f"{self.get_step_display()}: {self.get_outcome_display()}"


class PrivilegeGrant(TrackedModel):
    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="grants")
    item = models.ForeignKey(PrivilegeItem, on_delete=models.PROTECT, related_name="grants")
    kind = models.CharField(max_length=10, choices=GrantKind.choices, default=GrantKind.REGULAR)
    temporary_reason = models.CharField(max_length=30, choices=TemporaryReason.choices, blank=True)
    request = models.ForeignKey(PrivilegeRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    activation = models.ForeignKey(
        "emergency.Activation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=30, choices=GrantStatus.choices, default=GrantStatus.ACTIVE)
    # Disaster privileges: when the volunteer presented, when their licence was verified, and the decision to continue.
    presented_at = models.DateTimeField(null=True, blank=True)
    licence_verified_at = models.DateTimeField(null=True, blank=True)
    licence_verification_source = models.CharField(max_length=200, blank=True)
    licence_verification_result = models.CharField(max_length=20, choices=VerificationResult.choices, blank=True)
    licence_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    continuation_decided_at = models.DateTimeField(null=True, blank=True)
    continuation_decision = models.CharField(max_length=10, choices=DisasterContinuation.choices, blank=True)
    continuation_reason = models.TextField(blank=True)
    continuation_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When the last-day reminders of the two 72-hour clocks were sent, so each is sent once.
    licence_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    continuation_reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-starts_on", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=~Q(kind=GrantKind.TEMPORARY) | ~Q(temporary_reason=""),
                name="staff_temporary_grant_has_reason",
                violation_error_message="temporary privileges need one of the two permitted reasons",
            ),
            models.CheckConstraint(
                condition=~Q(kind=GrantKind.DISASTER) | Q(activation__isnull=False),
                name="staff_disaster_grant_has_activation",
                violation_error_message="disaster privileges need an open emergency activation",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="staff_grant_ends_after_start",
                violation_error_message="privileges cannot end before they start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item.name} — {self.practitioner} ({self.get_kind_display()})"

    @property
    def is_active(self) -> bool:
        return self.status == GrantStatus.ACTIVE

    @property
    def licence_verification_due_at(self) -> dt.datetime | None:
        """Disaster privileges: the licence is verified within 72 hours of the volunteer presenting."""
        return rules.disaster_licence_verification_due(self.presented_at) if self.presented_at else None

    @property
    def continuation_due_at(self) -> dt.datetime | None:
        """Disaster privileges: whether they continue is decided within 72 hours of the volunteer's arrival."""
        return rules.disaster_continuation_due(self.presented_at) if self.presented_at else None

    def can_record_licence_verification(self) -> bool:
        return self.kind == GrantKind.DISASTER and self.is_active and self.licence_verified_at is None

    def can_decide_continuation(self) -> bool:
        return self.kind == GrantKind.DISASTER and self.is_active and self.continuation_decided_at is None


class DepartmentIndicator(TrackedModel):
    """A measure the department has chosen for its practitioners' OPPE, beyond the standard indicators."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="oppe_indicators")
    measure_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["department", "measure_id"], name="staff_department_indicator_unique")
        ]

    def __str__(self) -> str:
        return self.name


class OppeProfile(TrackedModel):
    """One ongoing professional practice evaluation: a practitioner's own results against department peers."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="oppe_profiles")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=20, choices=OppeStatus.choices, default=OppeStatus.AWAITING_DECISION)
    source = models.CharField(max_length=300, blank=True, help_text="Measure versions the numbers came from")
    decision = models.CharField(max_length=20, choices=OppeDecision.choices, blank=True)
    rationale = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-period_end", "practitioner__family_name"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["practitioner", "period_end"],
                name="staff_one_oppe_per_period",
                violation_error_message="this practitioner already has an OPPE for this period",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="staff_oppe_period_order",
                violation_error_message="the OPPE period ends before it starts",
            ),
        ]

    def __str__(self) -> str:
        return f"OPPE {self.practitioner} {self.period_start} to {self.period_end}"

    @property
    def is_flagged(self) -> bool:
        return any(indicator.is_flagged for indicator in self.indicators.all())

    def can_decide(self) -> bool:
        return self.status == OppeStatus.AWAITING_DECISION


class OppeIndicator(models.Model):
    profile = models.ForeignKey(OppeProfile, on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=IndicatorKind.choices)
    cases = models.PositiveIntegerField(default=0)
    observed = models.FloatField(null=True, blank=True)
    expected = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    lower = models.FloatField(null=True, blank=True)
    upper = models.FloatField(null=True, blank=True)
    department_value = models.FloatField(null=True, blank=True)
    funnel_lower = models.FloatField(null=True, blank=True)
    funnel_upper = models.FloatField(null=True, blank=True)
    position = models.CharField(max_length=20, choices=FunnelPosition.choices, default=FunnelPosition.NOT_APPLICABLE)
    # The department's funnel: every peer as {"cases": n, "value": v}, and the limits as {"cases","lower","upper"}.
    funnel = models.JSONField(default=dict, blank=True)
    # Whether a high value is worse (mortality O/E) or better (volume is neither: never flagged).
    higher_is_worse = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"

    @property
    def is_flagged(self) -> bool:
        if self.kind == IndicatorKind.VOLUME:
            return False
        worse = FunnelPosition.ABOVE if self.higher_is_worse else FunnelPosition.BELOW
        return self.position == worse


class Fppe(TrackedModel):
    """A focused professional practice evaluation (TJC MS.08.01.01)."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="fppes")
    grant = models.ForeignKey(PrivilegeGrant, null=True, blank=True, on_delete=models.PROTECT, related_name="fppes")
    trigger = models.CharField(max_length=30, choices=FppeTrigger.choices)
    method = models.CharField(max_length=20, choices=FppeMethod.choices, default=FppeMethod.CHART_REVIEW)
    criteria = models.TextField()
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(max_length=30, choices=FppeStatus.choices, default=FppeStatus.OPEN)
    oppe = models.ForeignKey(OppeProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="fppes")
    # The safety event a for-cause FPPE comes from; the reference (SE-00012) is kept as it was given.
    safety_event = models.ForeignKey(
        "safety.SafetyEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    safety_event_reference = models.CharField(max_length=100, blank=True)
    conclusion = models.TextField(blank=True)
    concluded_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "FPPE"
        ordering: ClassVar[list[str]] = ["-starts_on", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="staff_fppe_ends_after_start",
                violation_error_message="an FPPE cannot end before it starts",
            )
        ]

    def __str__(self) -> str:
        return f"FPPE {self.practitioner} ({self.get_trigger_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == FppeStatus.OPEN

    def can_conclude(self) -> bool:
        return self.is_open


class PeerReviewCase(TrackedModel):
    """A privileged peer-review file: only the peer-review committee and the CMO read it, and every read is audited."""

    practitioner = models.ForeignKey(Practitioner, on_delete=models.CASCADE, related_name="peer_review_cases")
    referral_source = models.CharField(max_length=20, choices=ReferralSource.choices)
    referral_reference = models.CharField(max_length=100, blank=True, help_text="Safety event, signal or trigger id")
    summary = models.TextField()
    referred_on = models.DateField()
    status = models.CharField(max_length=20, choices=PeerReviewStatus.choices, default=PeerReviewStatus.REFERRED)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    determination = models.CharField(max_length=40, choices=PeerReviewDetermination.choices, blank=True)
    determination_note = models.TextField(blank=True)
    determined_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-referred_on", "-id"]

    def __str__(self) -> str:
        return f"Peer review case {self.pk}"

    def can_rate(self) -> bool:
        return self.status == PeerReviewStatus.UNDER_REVIEW

    def can_determine(self) -> bool:
        return self.status == PeerReviewStatus.UNDER_REVIEW and self.ratings.exists()


class PeerReviewRating(models.Model):
    """A reviewer's rating: care, outcome and documentation are rated separately."""

    case = models.ForeignKey(PeerReviewCase, on_delete=models.CASCADE, related_name="ratings")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    care = models.CharField(max_length=20, choices=CareRating.choices)
    outcome = models.CharField(max_length=20, choices=OutcomeRating.choices)
    documentation = models.CharField(max_length=20, choices=DocumentationRating.choices)
    comments = models.TextField(blank=True)
    rated_on = models.DateField()

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return f"Rating of case {self.case_id}"
