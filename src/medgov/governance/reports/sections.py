"""The board report is a list of sections; each comes from a small provider function of its domain.

A provider takes the reporting quarter and returns a :class:`Section` whose ``data`` holds every number and
text the section shows, JSON-ready: the report's snapshot is the list of these, and both the PDF and the stored
HTML view are rendered from it. A provider must never return patient identifiers, and must suppress small
counts itself (through ``medgov.analytics.api.suppress_small_cells``) before they reach ``data``.

Providers register with :func:`section`; one that needs a domain app names it in ``requires_app`` and is left
out (and listed as not included) while that app is not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

from medgov.governance.reports.rules import Quarter


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    data: dict[str, Any]
    # Measure refreshes whose results the section shows (the data snapshot it was made from).
    refreshes: tuple[int, ...] = field(default_factory=tuple)

    @property
    def template(self) -> str:
        return f"reports/sections/{self.key}.html"

    def as_snapshot(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "data": self.data}


SectionProvider = Callable[[Quarter], Section]


@dataclass(frozen=True)
class RegisteredSection:
    key: str
    title: str
    order: int
    provider: SectionProvider
    requires_app: str | None = None

    @property
    def available(self) -> bool:
        return self.requires_app is None or apps.is_installed(self.requires_app)


REGISTRY: dict[str, RegisteredSection] = {}

# Domains whose sections belong in the report; while one is not installed the report says what is missing.
DOMAIN_SECTIONS: dict[str, str] = {
    "medgov.governance.safety": "Patient safety: sentinel events with RCA status, and serious safety events",
    "medgov.governance.staff": "Credentialing decisions for the board",
}


def section(
    key: str, *, title: str, order: int, requires_app: str | None = None
) -> Callable[[SectionProvider], SectionProvider]:
    """Register ``provider`` as the source of the section ``key`` (sections print in ``order``)."""

    def register(provider: SectionProvider) -> SectionProvider:
        if key in REGISTRY and REGISTRY[key].provider is not provider:
            raise ValueError(f"board report section {key!r} is already registered")
        REGISTRY[key] = RegisteredSection(key, title, order, provider, requires_app)
        return provider

    return register


def registered_sections() -> list[RegisteredSection]:
    _load_providers()
    return sorted(REGISTRY.values(), key=lambda item: (item.order, item.key))


def _load_providers() -> None:
    from medgov.governance.reports import providers  # noqa: F401  (registers the sections)


ProgressCallback = Callable[[int, int, str], None]


def build_snapshot(quarter: Quarter, *, on_progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Run every available provider for ``quarter`` and return the report's snapshot (JSON-ready)."""
    registered = registered_sections()
    available = [item for item in registered if item.available]
    sections: list[dict[str, Any]] = []
    refreshes: set[int] = set()
    for index, item in enumerate(available):
        if on_progress is not None:
            on_progress(index, len(available), item.title)
        built = item.provider(quarter)
        sections.append(built.as_snapshot())
        refreshes.update(built.refreshes)
    if on_progress is not None:
        on_progress(len(available), len(available), "sections assembled")
    return {
        "schema": 1,
        "quarter": quarter.code,
        "quarter_label": quarter.label,
        "period_start": quarter.start.isoformat(),
        "period_end": quarter.end.isoformat(),
        "measure_refreshes": sorted(refreshes),
        "sections": sections,
        "not_included": [
            {"title": title, "reason": f"the {app.rsplit('.', 1)[-1]} module is not installed"}
            for app, title in DOMAIN_SECTIONS.items()
            if not apps.is_installed(app)
        ],
    }
