from __future__ import annotations

from django.db.models import QuerySet

from medgov.governance.emergency.models import Activation


def open_activations() -> QuerySet[Activation]:
    """Open activations are not confidential: every module that depends on one may ask."""
    return Activation.objects.filter(closed_at__isnull=True)
