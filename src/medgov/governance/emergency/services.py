"""The only writers of emergency activations."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from medgov.governance.core import audit
from medgov.governance.core.permissions import require_permissions as _require
from medgov.governance.emergency.models import Activation


def do_open_activation(*, title: str, actor: Any | None) -> Activation:
    _require(actor, "emergency.manage_activation")
    if not title.strip():
        raise ValidationError({"title": "an activation needs a title"})
    with transaction.atomic():
        activation = Activation.objects.create(
            title=title.strip(),
            activated_at=timezone.now(),
            activated_by=actor if actor is not None else None,
            created_by=actor,
            updated_by=actor,
        )
        audit.record(
            actor=actor, action="emergency.activation_open", target=activation, after=audit.snapshot(activation)
        )
    return activation


def do_close_activation(activation: Activation, *, actor: Any | None) -> Activation:
    _require(actor, "emergency.manage_activation")
    with transaction.atomic():
        locked = Activation.objects.select_for_update(of=("self",)).get(pk=activation.pk)
        if not locked.can_close():
            raise ValidationError("this activation is already closed")
        locked.closed_at = timezone.now()
        locked.updated_by = actor
        locked.save(update_fields=["closed_at", "updated_by", "updated_at"])
        audit.record(
            actor=actor,
            action="emergency.activation_close",
            target=locked,
            before={"closed_at": None},
            after={"closed_at": locked.closed_at},
        )
    return locked
