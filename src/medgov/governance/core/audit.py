"""Writing to the audit trail. Services call :func:`record` inside their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from medgov.governance.core.middleware import current_request_id
from medgov.governance.core.models import AuditEvent

SYSTEM_ACTOR_LABEL = "system"
ANONYMOUS_ACTOR_LABEL = "anonymous reporter"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited values of ``instance``: concrete fields (foreign keys as ids), or only ``fields``."""
    names = set(fields) if fields is not None else None
    values: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if names is not None and field.name not in names:
            continue
        if field.name in {"password"}:
            continue
        values[field.name] = _jsonable(getattr(instance, field.attname))
    return values


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, so an audit entry shows what actually changed."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def record(
    *,
    actor: Any | None,
    action: str,
    target: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor_label: str | None = None,
    is_read: bool = False,
) -> AuditEvent:
    """Append one audit event. Must run inside the caller's transaction so both commit or neither does."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must be called inside transaction.atomic()")
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id if object_id is not None else target.pk
        object_repr = object_repr if object_repr is not None else str(target)[:300]
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    label = actor_label or (user.get_username() if user is not None else SYSTEM_ACTOR_LABEL)
    return AuditEvent.objects.create(
        occurred_at=timezone.now(),
        actor=user,
        actor_label=label,
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id),
        object_repr=(object_repr or "")[:300],
        before=_jsonable(dict(before)) if before is not None else None,
        after=_jsonable(dict(after)) if after is not None else None,
        request_id=current_request_id() or "",
        is_read=is_read,
    )


def record_export(
    actor: Any, *, object_type: str, table: str, export_format: str, filters: Mapping[str, str]
) -> AuditEvent:
    """One read event per download of a table: who exported which table, in which format, with which filters."""
    with transaction.atomic():
        return record(
            actor=actor,
            action="export",
            object_type=object_type,
            object_repr=table,
            after={"format": export_format, "filters": dict(filters)},
            is_read=True,
        )
