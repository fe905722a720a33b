from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medgov.governance.core.models import TrackedModel
from medgov.governance.quality.models import MeasureRefresh
from medgov.governance.reports.choices import ReportStatus


def board_report_path(instance: BoardReport, filename: str) -> str:
    return f"reports/board/{instance.quarter}/{filename}"


class BoardReport(TrackedModel):
    """One generated board quality and safety report: the PDF and every number it shows, frozen.

    The snapshot is what the PDF and the stored HTML view are rendered from, so a stored report reads the same
    after the data are refreshed.
    """

    quarter = models.CharField(max_length=6, help_text="Reporting quarter, e.g. 2026Q3.")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done while generating.")
    progress_label = models.CharField(max_length=120, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scheduled = models.BooleanField(default=False, help_text="Requested by the schedule rather than a person.")
    task_result_id = models.CharField(max_length=64, blank=True)
    # The refresh the newest shown result came from; the snapshot lists every refresh the results came from.
    measure_refresh = models.ForeignKey(
        MeasureRefresh, null=True, blank=True, on_delete=models.SET_NULL, related_name="board_reports"
    )
    snapshot = models.JSONField(default=dict, blank=True)
    pdf = models.FileField(upload_to=board_report_path, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    generation_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_board_report", "Can read board reports"),
            ("generate_board_report", "Can generate board reports"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ReportStatus.SUCCEEDED) | ~Q(pdf=""),
                name="reports_board_report_ready_has_pdf",
                violation_error_message="A ready board report must have its PDF.",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100),
                name="reports_board_report_progress_percent",
                violation_error_message="Progress is a percentage (0 to 100).",
            ),
        ]

    def __str__(self) -> str:
        return f"Board report {self.quarter} #{self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {ReportStatus.SUCCEEDED, ReportStatus.FAILED}

    def can_download(self) -> bool:
        return self.status == ReportStatus.SUCCEEDED and bool(self.pdf)
