from django.db import models


class ImprovementDirection(models.TextChoices):
    """FHIR Measure.improvementNotation (http://terminology.hl7.org/CodeSystem/measure-improvement-notation)."""

    INCREASE = "increase", "Higher is better"
    DECREASE = "decrease", "Lower is better"


class PeriodGrain(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class SignalDirection(models.TextChoices):
    IMPROVEMENT = "improvement", "Improvement"
    CONCERN = "concern", "Concern"


class SignalKind(models.TextChoices):
    SPC = "spc", "SPC special cause"
    FUNNEL = "funnel", "Funnel plot outlier"
    ABERRATION = "aberration", "Count aberration"


class SignalState(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    UNDER_REVIEW = "under_review", "Under review"
    CLOSED = "closed", "Closed"


class RefreshStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
