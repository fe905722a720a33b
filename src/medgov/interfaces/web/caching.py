"""Caches for what the cockpit and the measure pages compute from stored data.

A cached value is keyed by the versions of the data it was computed from, so it is never served after that
data changes: the next request asks for a key that does not exist yet and computes afresh. Two versions exist:

- :func:`results_version`: the latest measure refresh (and when it finished), the newest stored result and the
  latest target change. Vital signs, charts and breakdowns read nothing else, and they are the same for every
  user who may see them.
- :func:`governance_version`: the newest audit event. Every governance change writes one in its own transaction
  (services are the only writers), so any new signal, safety event, RCA action, credential or role moves it.

The cache is Django's default cache (``CACHES`` in settings: memory local to each server process); every entry
also expires after ``MEDGOV_PAGE_CACHE_SECONDS``, which bounds memory and any write that bypassed the services.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

from medgov.governance.core.models import AuditEvent
from medgov.governance.quality.models import MeasureRefresh, MeasureResult, TargetChange


def results_version() -> str:
    """The version of the stored measure results and targets (results are replaced by new rows, never updated)."""
    refresh = MeasureRefresh.objects.order_by("-pk").values_list("pk", "finished_at").first()
    result = MeasureResult.objects.order_by("-pk").values_list("pk", flat=True).first()
    target = TargetChange.objects.order_by("-pk").values_list("pk", flat=True).first()
    return f"refresh={refresh}|result={result}|target={target}"


def governance_version() -> int:
    """The id of the newest audit event: it changes with every write to the governance records."""
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def cached[T](name: str, parts: tuple[object, ...], compute: Callable[[], T]) -> T:
    """The value cached under ``name`` and ``parts`` (which must include the data versions it depends on),
    computed and stored when missing."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    key = f"medgov-{name}-{digest}"
    value: T | None = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=settings.MEDGOV_PAGE_CACHE_SECONDS)
    return value
