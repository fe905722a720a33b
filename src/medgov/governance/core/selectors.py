"""Reads of the audit trail, gated by permission."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from medgov.governance.core.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    text: str = ""
    action: str = ""
    object_type: str = ""
    actor: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


def audit_events_visible_to(user: object, query: AuditFilter | None = None) -> QuerySet[AuditEvent]:
    """Audit events the user may search. Raises PermissionDenied for users without the audit permission."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("core.view_audit_trail"):  # type: ignore[attr-defined]
        raise PermissionDenied
    events = AuditEvent.objects.select_related("actor").all()
    if query is None:
        return events
    if query.text:
        events = events.filter(
            Q(object_repr__icontains=query.text) | Q(object_id=query.text) | Q(action__icontains=query.text)
        )
    if query.action:
        events = events.filter(action=query.action)
    if query.object_type:
        events = events.filter(object_type=query.object_type)
    if query.actor:
        events = events.filter(actor_label__iexact=query.actor)
    if query.since:
        events = events.filter(occurred_at__date__gte=query.since)
    if query.until:
        events = events.filter(occurred_at__date__lte=query.until)
    return events
