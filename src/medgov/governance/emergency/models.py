"""Emergency operations plan activations.

A minimal record for now: the medical staff office may grant disaster privileges only while an activation is
open (TJC EM.02.02.13; CMS 482.22(a)(1)).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from medgov.governance.core.models import TrackedModel
from medgov.governance.emergency.choices import ActivationStatus


class Activation(TrackedModel):
    title = models.CharField(max_length=200)
    activated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering: ClassVar[list[str]] = ["-activated_at", "-id"]
        permissions = [("manage_activation", "Can open and close emergency operations plan activations")]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True) | models.Q(closed_at__gte=models.F("activated_at")),
                name="emergency_activation_closes_after_opening",
                violation_error_message="an activation cannot close before it opened",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def status(self) -> ActivationStatus:
        return ActivationStatus.OPEN if self.closed_at is None else ActivationStatus.CLOSED

    def can_close(self) -> bool:
        return self.closed_at is None
