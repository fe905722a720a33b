from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medgov.governance.core.models import TrackedModel
from medgov.governance.quality.choices import (
    ImprovementDirection,
    PeriodGrain,
    RefreshStatus,
    SignalDirection,
    SignalKind,
    SignalState,
)


class Measure(models.Model):
    """A measure the engine can compute, as registered in the analytics library (id + version)."""

    measure_id = models.CharField(max_length=100)
    version = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rationale = models.TextField(blank=True)
    source = models.CharField(max_length=200, blank=True)
    scoring = models.CharField(max_length=30)
    improvement_direction = models.CharField(max_length=10, choices=ImprovementDirection.choices)
    unit_label = models.CharField(
        max_length=60, blank=True, help_text="How the rate reads, e.g. '%' or 'per 1,000 patient days'."
    )
    is_headline = models.BooleanField(default=False, help_text="Shown among the vital signs on the cockpit.")
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure_id", "version"],
                name="quality_measure_unique_version",
                violation_error_message="This measure version is already registered.",
            )
        ]
        permissions = [
            ("view_quality", "Can view quality measures, results and signals"),
            ("view_phi", "Can drill down to patients and encounters"),
            ("manage_targets", "Can set measure targets"),
            ("manage_signals", "Can acknowledge, review and close signals"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class MeasureRefresh(models.Model):
    """One evaluation of the measure set against the warehouse: the data snapshot results belong to."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RefreshStatus.choices, default=RefreshStatus.RUNNING)
    warehouse = models.CharField(max_length=500)
    result_count = models.PositiveIntegerField(default=0)
    signal_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"refresh {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class MeasureResult(models.Model):
    """One measure x period x stratum, as the engine computed it. Pages read these; none recompute."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="results")
    refresh = models.ForeignKey(MeasureRefresh, on_delete=models.CASCADE, related_name="results")
    grain = models.CharField(max_length=10, choices=PeriodGrain.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    # "all" for the whole organisation; otherwise hospital, service_line, department, practitioner, payer, ...
    dimension = models.CharField(max_length=40)
    stratum_key = models.CharField(max_length=120)
    stratum_label = models.CharField(max_length=200)
    parent_key = models.CharField(max_length=120, blank=True, help_text="Stratum one level up, for drill-down.")
    initial_population = models.PositiveIntegerField(default=0)
    denominator = models.FloatField(default=0)
    denominator_exclusion = models.PositiveIntegerField(default=0)
    numerator = models.FloatField(default=0)
    rate = models.FloatField(null=True, blank=True)
    rate_low = models.FloatField(null=True, blank=True)
    rate_high = models.FloatField(null=True, blank=True)
    observed = models.FloatField(null=True, blank=True)
    expected = models.FloatField(null=True, blank=True)
    oe_ratio = models.FloatField(null=True, blank=True)
    oe_low = models.FloatField(null=True, blank=True)
    oe_high = models.FloatField(null=True, blank=True)
    calculable = models.BooleanField(default=True)
    reason = models.CharField(max_length=200, blank=True, help_text="Why the value is not calculable.")

    class Meta:
        ordering = ["measure", "dimension", "stratum_key", "grain", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "grain", "period_start", "dimension", "stratum_key"],
                name="quality_result_unique_stratum",
                violation_error_message="A result for this measure, period and stratum already exists.",
            )
        ]
        indexes = [models.Index(fields=["measure", "dimension", "grain", "period_start"])]

    def __str__(self) -> str:
        return f"{self.measure.measure_id} {self.grain} {self.period_start} {self.dimension}={self.stratum_key}"


class Target(TrackedModel):
    """A target for a measure in a unit. Every change is kept in :class:`TargetChange`."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="targets")
    dimension = models.CharField(max_length=40, default="all")
    stratum_key = models.CharField(max_length=120, default="all")
    value = models.FloatField()
    direction = models.CharField(max_length=10, choices=ImprovementDirection.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_targets")
    effective_from = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "dimension", "stratum_key"],
                name="quality_target_unique_unit",
                violation_error_message="This measure already has a target for this unit; change it instead.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.measure.measure_id} {self.dimension}={self.stratum_key}: {self.value}"


class TargetChange(models.Model):
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="changes")
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    old_value = models.FloatField(null=True, blank=True)
    new_value = models.FloatField()
    old_direction = models.CharField(max_length=10, blank=True)
    new_direction = models.CharField(max_length=10)
    effective_from = models.DateField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.target_id}: {self.old_value} -> {self.new_value}"


class Signal(TrackedModel):
    """A special cause, funnel outlier or aberration found in a measure series, and what was done about it."""

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="signals")
    dimension = models.CharField(max_length=40)
    stratum_key = models.CharField(max_length=120)
    stratum_label = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=SignalKind.choices)
    direction = models.CharField(max_length=12, choices=SignalDirection.choices)
    rule = models.CharField(max_length=80)
    detail = models.CharField(max_length=300, blank=True)
    first_period = models.DateField()
    last_period = models.DateField()
    chart = models.JSONField(default=dict, help_text="Series and limits when the signal was raised.")
    state = models.CharField(max_length=14, choices=SignalState.choices, default=SignalState.NEW)
    close_reason = models.TextField(blank=True)
    action_reference = models.CharField(
        max_length=200, blank=True, help_text="The action that addresses it, e.g. safety.rca_action:12"
    )
    raised_by_refresh = models.ForeignKey(
        MeasureRefresh, null=True, blank=True, on_delete=models.SET_NULL, related_name="signals"
    )

    class Meta:
        ordering = ["-first_period", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "dimension", "stratum_key", "kind", "rule", "first_period"],
                name="quality_signal_raised_once",
                violation_error_message="This special cause has already been raised.",
            ),
            models.CheckConstraint(
                condition=~Q(state=SignalState.CLOSED) | ~Q(close_reason="") | ~Q(action_reference=""),
                name="quality_signal_closed_with_reason",
                violation_error_message="A closed signal needs a reason or a link to the action that addresses it.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.measure.title} in {self.stratum_label} ({self.rule})"

    def can_acknowledge(self) -> bool:
        return self.state == SignalState.NEW

    def can_start_review(self) -> bool:
        return self.state in {SignalState.NEW, SignalState.ACKNOWLEDGED}

    def can_close(self) -> bool:
        return self.state != SignalState.CLOSED
