"""Patient-safety events, their triage, root-cause analyses (RCA) and action plans."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from medgov.governance.core.models import TrackedModel
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


class Unit(models.Model):
    """A ward or unit where events happen. Its manager receives the unit's new events."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    hospital = models.CharField(max_length=100)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_units"
    )
    # The warehouse `location.id` of this unit, which gives its patient days for event rates.
    warehouse_location_id = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["hospital", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Holiday(models.Model):
    """A day that is not a business day, for due dates counted in business days (e.g. the RCA's 45)."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering: ClassVar[list[str]] = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class SafetyEvent(TrackedModel):
    """One reported patient-safety event.

    Anonymous reports keep no trace of who filed them: ``reporter``, ``created_by`` and ``updated_by`` stay
    empty, and their audit entries name no actor. Reporters follow up through a secret code, stored hashed.
    """

    status = models.CharField(max_length=24, choices=EventStatus.choices, default=EventStatus.DRAFT, db_index=True)
    event_class = models.CharField(max_length=20, choices=EventClass.choices)
    category = models.CharField(max_length=20, choices=EventCategory.choices, db_index=True)
    health_it_contributed = models.BooleanField(default=False)
    occurred_at = models.DateTimeField(db_index=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="events")
    patient_mrn = models.CharField(max_length=40, blank=True)
    description = models.TextField()
    immediate_actions = models.TextField(blank=True)
    reported_harm = models.CharField(max_length=10, choices=HarmLevel.choices)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="safety_reports"
    )
    is_anonymous = models.BooleanField(default=False)
    protect_identity = models.BooleanField(default=False)
    followup_code_digest = models.CharField(max_length=64, blank=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # Triage by the safety team.
    harm_level = models.CharField(max_length=10, choices=HarmLevel.choices, blank=True)
    permanent_harm = models.BooleanField(default=False)
    ncc_merp = models.CharField(max_length=1, choices=NccMerpCategory.choices, blank=True)
    sac_severity = models.CharField(max_length=12, choices=SacSeverity.choices, blank=True)
    sac_probability = models.CharField(max_length=12, choices=SacProbability.choices, blank=True)
    sac_score = models.PositiveSmallIntegerField(null=True, blank=True)
    sentinel_type = models.CharField(max_length=30, choices=SentinelType.choices, blank=True)
    is_potential_sentinel = models.BooleanField(default=False)
    is_sentinel_confirmed = models.BooleanField(default=False)
    sentinel_confirmed_at = models.DateTimeField(null=True, blank=True)
    is_sensitive = models.BooleanField(default=False)
    is_externally_reportable = models.BooleanField(default=False)
    handlers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="handled_safety_events")
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    triage_reminded_on = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-occurred_at", "-id"]
        permissions = [
            ("report_event", "Can report a patient-safety event"),
            ("view_safety_dashboard", "Can see all safety events, trends and RCAs"),
            ("triage_event", "Can triage safety events"),
            ("manage_rca", "Can run root-cause analyses and action plans"),
            ("view_reporter_identity", "Can see who filed an identity-protected report (safety team)"),
            ("remove_event", "Can remove (soft-delete) a safety event"),
            ("lead_safety_programme", "Is the patient-safety lead: Just Culture reviews and sentinel notices"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(is_anonymous=False) | (Q(reporter__isnull=True) & Q(created_by__isnull=True)),
                name="safety_anonymous_report_has_no_reporter",
                violation_error_message="An anonymous report cannot name its reporter.",
            ),
            models.CheckConstraint(
                condition=~Q(status=EventStatus.DRAFT) | Q(is_anonymous=False),
                name="safety_draft_is_not_anonymous",
                violation_error_message="A draft belongs to its author, so it cannot be anonymous.",
            ),
            models.CheckConstraint(
                condition=Q(sac_score__isnull=True) | Q(sac_score__gte=1, sac_score__lte=3),
                name="safety_sac_score_1_to_3",
                violation_error_message="The Safety Assessment Code is 1, 2 or 3.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_category_display()}"

    @property
    def reference(self) -> str:
        return f"SE-{self.pk:05d}" if self.pk else "SE-new"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def can_submit(self) -> bool:
        return self.status == EventStatus.DRAFT and not self.is_deleted

    def can_triage(self) -> bool:
        return self.status in {EventStatus.SUBMITTED, EventStatus.IN_REVIEW} and not self.is_deleted

    def can_confirm_sentinel(self) -> bool:
        return (
            self.status == EventStatus.IN_REVIEW
            and self.is_potential_sentinel
            and not self.is_sentinel_confirmed
            and not self.is_deleted
        )

    def can_open_rca(self) -> bool:
        return self.status == EventStatus.IN_REVIEW and not self.is_deleted and not hasattr(self, "rca")

    def can_close(self) -> bool:
        return self.status in {EventStatus.IN_REVIEW, EventStatus.ACTIONS_IN_PROGRESS} and not self.is_deleted

    def can_reopen(self) -> bool:
        return self.status == EventStatus.CLOSED and not self.is_deleted


class EventAttachment(models.Model):
    event = models.ForeignKey(SafetyEvent, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="safety/%Y/%m/")
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class EventMessage(models.Model):
    """The follow-up channel between the reporter (who may be anonymous) and the safety team."""

    event = models.ForeignKey(SafetyEvent, on_delete=models.CASCADE, related_name="messages")
    sent_at = models.DateTimeField(auto_now_add=True)
    from_reporter = models.BooleanField()
    # The safety-team author; None for the reporter, whose identity (if any) is on the event.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField()

    class Meta:
        ordering: ClassVar[list[str]] = ["sent_at", "id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=Q(from_reporter=False) | Q(author__isnull=True),
                name="safety_reporter_message_has_no_author",
                violation_error_message="A reporter's message names no author.",
            )
        ]

    def __str__(self) -> str:
        return f"message on {self.event.reference}"


class JustCultureReview(TrackedModel):
    """A Just Culture review of one individual's behaviour, kept apart from the event's outcome."""

    event = models.ForeignKey(SafetyEvent, on_delete=models.CASCADE, related_name="just_culture_reviews")
    individual = models.CharField(max_length=150, help_text="Role of the individual, e.g. 'RN, night shift'.")
    behaviour = models.CharField(max_length=12, choices=BehaviourType.choices)
    response = models.CharField(max_length=10, choices=JustCultureResponse.choices)
    notes = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Just Culture review on {self.event.reference}"


class RootCauseAnalysis(TrackedModel):
    """A comprehensive systematic analysis (RCA2) of one event."""

    event = models.OneToOneField(SafetyEvent, on_delete=models.PROTECT, related_name="rca")
    status = models.CharField(max_length=10, choices=RcaStatus.choices, default=RcaStatus.OPEN)
    aware_on = models.DateField(help_text="The day the organisation became aware of the event.")
    due_on = models.DateField()
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="led_rcas"
    )
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="rca_teams")
    summary = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["due_on"]

    def __str__(self) -> str:
        return f"RCA of {self.event.reference}"

    def can_close(self) -> bool:
        return self.status == RcaStatus.OPEN


class TimelineEntry(models.Model):
    rca = models.ForeignKey(RootCauseAnalysis, on_delete=models.CASCADE, related_name="timeline")
    occurred_at = models.DateTimeField()
    description = models.TextField()

    class Meta:
        ordering: ClassVar[list[str]] = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M}"


class CausalStatement(models.Model):
    rca = models.ForeignKey(RootCauseAnalysis, on_delete=models.CASCADE, related_name="causal_statements")
    text = models.TextField(help_text="Cause -> effect -> event, following the RCA2 rules of causation.")

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return self.text[:60]


class ContributingFactor(models.Model):
    rca = models.ForeignKey(RootCauseAnalysis, on_delete=models.CASCADE, related_name="contributing_factors")
    category = models.CharField(max_length=24, choices=ContributingFactorCategory.choices)
    description = models.TextField()

    class Meta:
        ordering: ClassVar[list[str]] = ["category", "id"]

    def __str__(self) -> str:
        return self.get_category_display()


class RcaAction(TrackedModel):
    """One action of the RCA's plan, with the measure that shows whether it worked."""

    rca = models.ForeignKey(RootCauseAnalysis, on_delete=models.CASCADE, related_name="actions")
    description = models.TextField()
    strength = models.CharField(max_length=12, choices=ActionStrength.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="rca_actions"
    )
    due_on = models.DateField(null=True, blank=True)
    effectiveness_measure = models.CharField(
        max_length=300, blank=True, help_text="How the action's effect is measured, in words."
    )
    # A medgov measure that shows the effect: its id, version and stratum key (e.g. "unit:4W").
    measure_id = models.CharField(max_length=100, blank=True)
    measure_version = models.CharField(max_length=20, blank=True)
    measure_stratum = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=ActionStatus.choices, default=ActionStatus.PLANNED)
    implemented_on = models.DateField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]

    def __str__(self) -> str:
        return self.description[:60]

    @property
    def has_effectiveness_measure(self) -> bool:
        return bool(self.effectiveness_measure.strip() or self.measure_id)
