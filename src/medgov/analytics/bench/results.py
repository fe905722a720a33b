"""What a bench run reports: per stage, each implementation's times, memory and throughput, and ratios."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Measured:
    """One implementation of a stage, measured on the stage's input (the median of the repeats)."""

    implementation: str
    seconds: float
    cpu_seconds: float
    peak_memory_bytes: int
    work: float
    """Units of work done, e.g. resources landed, index stays evaluated, requests served."""
    work_unit: str
    equal: bool | None
    """Whether its result equals medgov's (None for medgov itself, or when there is nothing to compare)."""
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.work / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class StageResult:
    """medgov and its peers on one stage; ratios are medgov's wall time over each peer's."""

    stage: str
    medgov: Measured
    peers: tuple[Measured, ...] = ()
    notes: tuple[str, ...] = ()

    def ratio(self, peer: Measured) -> float:
        """medgov's wall time over the peer's: below 1 medgov is faster, 2.0 means it takes twice as long."""
        return self.medgov.seconds / peer.seconds if peer.seconds > 0 else float("inf")

    def cpu_ratio(self, peer: Measured) -> float:
        """medgov's CPU time over the peer's: steadier than wall time when other work shares the machine."""
        return self.medgov.cpu_seconds / peer.cpu_seconds if peer.cpu_seconds > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "medgov": _measured_json(self.medgov),
            "peers": [
                {**_measured_json(peer), "ratio": self.ratio(peer), "cpu_ratio": self.cpu_ratio(peer)}
                for peer in self.peers
            ],
            "notes": list(self.notes),
        }


def _measured_json(measured: Measured) -> dict[str, Any]:
    return {**asdict(measured), "details": dict(measured.details), "throughput": measured.throughput}


@dataclass(frozen=True, slots=True)
class BenchResult:
    patients: int
    seed: int
    environment: Mapping[str, Any]
    stages: tuple[StageResult, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "seed": self.seed,
            "environment": dict(self.environment),
            "stages": [stage.to_json() for stage in self.stages],
        }
