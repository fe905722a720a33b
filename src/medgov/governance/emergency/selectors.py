from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from medgov.governance.emergency.models import Activation


def open_activations() -> QuerySet[Activation]:
    """Open activations are not confidential: every module that depends on one may ask."""
    return Activation.objects.filter(closed_at__isnull=True)


def activations_visible_to(user: Any) -> QuerySet[Activation]:
    """Every activation, open and closed, for those who open and close them."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("emergency.manage_activation"):
        raise PermissionDenied
    return Activation.objects.select_related("activated_by")


def access_activation_by_id(user: Any, activation_id: int) -> Activation:
    try:
        return activations_visible_to(user).get(pk=activation_id)
    except (PermissionDenied, Activation.DoesNotExist):
        raise Http404 from None
