"""Background work for quality: the nightly measure refresh (schedule ``medgov quality refresh`` or enqueue
this task after each ingest)."""

from __future__ import annotations

from django.tasks import task

from medgov.governance.quality import services


@task()
def refresh_measures(warehouse: str, period: str, reference_period: str | None = None) -> dict[str, int]:
    refresh = services.do_refresh_measures(
        warehouse=warehouse, period=period, reference_period=reference_period, actor=None
    )
    return {"refresh": refresh.pk, "results": refresh.result_count, "signals": refresh.signal_count}
