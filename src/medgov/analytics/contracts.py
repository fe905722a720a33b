"""Frozen dataclasses that cross the analytics boundary: plain values, no connections, no Ibis expressions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

UNKNOWN_RESOURCE_TYPE = "(unknown)"
"""Bucket for records whose resource type could not be read (malformed JSON, missing resourceType)."""


@dataclass(frozen=True, slots=True)
class ResourceTypeCounts:
    """What happened to the records of one resource type in one load.

    Every record read ends in exactly one bucket, so ``read == new + replaced + unchanged + stale + quarantined``.
    ``stale`` counts records older than the version already stored (by ``meta.lastUpdated``, then
    ``meta.versionId``): the stored, newer version is kept.
    """

    read: int = 0
    new: int = 0
    replaced: int = 0
    unchanged: int = 0
    stale: int = 0
    quarantined: int = 0

    def __add__(self, other: ResourceTypeCounts) -> ResourceTypeCounts:
        return ResourceTypeCounts(
            read=self.read + other.read,
            new=self.new + other.new,
            replaced=self.replaced + other.replaced,
            unchanged=self.unchanged + other.unchanged,
            stale=self.stale + other.stale,
            quarantined=self.quarantined + other.quarantined,
        )


def _frozen_mapping[K, V](items: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(items))


@dataclass(frozen=True, slots=True)
class LoadReport:
    """The outcome of one ingest: counts per resource type, quarantine reasons, and throughput."""

    load_id: int
    files: int
    bytes: int
    seconds: float
    by_resource_type: Mapping[str, ResourceTypeCounts] = field(default_factory=lambda: _frozen_mapping({}))
    quarantine_reasons: Mapping[str, int] = field(default_factory=lambda: _frozen_mapping({}))
    tables: Mapping[str, int] = field(default_factory=lambda: _frozen_mapping({}))
    """Row counts of the canonical tables after the load."""
    materialise_seconds: float = 0.0
    """The part of ``seconds`` spent rebuilding the canonical tables from the landed resources."""

    @property
    def totals(self) -> ResourceTypeCounts:
        total = ResourceTypeCounts()
        for counts in self.by_resource_type.values():
            total = total + counts
        return total

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes / 1_000_000 / self.seconds if self.seconds > 0 else 0.0

    @property
    def resources_per_second(self) -> float:
        return self.totals.read / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class TableInfo:
    name: str
    rows: int


@dataclass(frozen=True, slots=True)
class LoadSummary:
    """One row of the warehouse's load log."""

    load_id: int
    started_at: datetime
    finished_at: datetime
    files: int
    bytes: int
    read: int
    new: int
    replaced: int
    unchanged: int
    stale: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class WarehouseInfo:
    path: str
    raw_resources: Mapping[str, int]
    """Landed resources per resource type."""
    quarantined: int
    tables: tuple[TableInfo, ...]
    last_load: LoadSummary | None
