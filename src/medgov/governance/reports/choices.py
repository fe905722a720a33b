from django.db import models


class ReportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Generating"
    SUCCEEDED = "succeeded", "Ready"
    FAILED = "failed", "Failed"


class RagStatus(models.TextChoices):
    """Red/amber/green against target; the rule is :func:`medgov.governance.reports.rules.rag_status`."""

    GREEN = "green", "Green: meets target"
    AMBER = "amber", "Amber: close to target"
    RED = "red", "Red: off target"
    NONE = "none", "No rating"
