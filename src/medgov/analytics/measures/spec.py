"""The typed measure specification, in the shape of a FHIR R4 ``Measure``.

A measure is declared, not scripted: a :class:`MeasureSpec` names its metadata (id, version, title, source,
scoring, improvement notation, unit of analysis) and its populations as Ibis expressions over the canonical
warehouse tables (docs/warehouse.md). The engine (``engine.py``) evaluates every population in one set-based
pass and aggregates by period and stratum.

How populations are expressed
-----------------------------
``Populations.initial_population(context)`` returns an Ibis table with one row per subject of the initial
population (FHIR ``initial-population``) and at least the columns of :data:`SUBJECT_COLUMNS`:

``subject_id``    the unit of analysis: an encounter id (episode-based) or a patient id (patient-based)
``patient_id``    the patient (for the patient dimensions: sex, race, ethnicity, language, age band, payer)
``encounter_id``  the encounter whose attributes give the organisational dimensions (hospital, department,
                  unit, service line, attending practitioner); for an episode-based measure it is the episode
``anchor_date``   the day that places the subject in a reporting period (e.g. the discharge day)
``age_years``     age in whole years at the start of the episode (for the age band and the risk models)

plus any helper columns the criteria need. The other populations are criteria over that table: functions
from the table to a boolean column (FHIR ``denominator``, ``denominator-exclusion``, ``denominator-exception``,
``numerator``, ``numerator-exclusion``), and ``measure_observation`` (continuous variable) or the pair
``numerator_observation``/``denominator_observation`` (ratio, e.g. events per 1,000 device days) are numeric
columns. FHIR's population semantics apply (FHIR R4 Measure, "Measure population semantics"): the denominator
is a subset of the initial population, the numerator a subset of the denominator after exclusions and
exceptions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

SUBJECT_COLUMNS: tuple[str, ...] = ("subject_id", "patient_id", "encounter_id", "anchor_date", "age_years")


class Scoring(StrEnum):
    """FHIR ``measure-scoring`` (http://terminology.hl7.org/CodeSystem/measure-scoring)."""

    PROPORTION = "proportion"
    RATIO = "ratio"
    CONTINUOUS_VARIABLE = "continuous-variable"
    COHORT = "cohort"


class ImprovementNotation(StrEnum):
    """FHIR ``measure-improvement-notation``: whether a higher or a lower score is better."""

    INCREASE = "increase"
    DECREASE = "decrease"


class UnitOfAnalysis(StrEnum):
    """Population basis: the measure counts patients or encounters (episodes of care)."""

    PATIENT = "patient"
    ENCOUNTER = "encounter"


class Source(StrEnum):
    """Where the measure definition comes from."""

    CMS = "CMS"
    AHRQ = "AHRQ"
    NHSN = "NHSN"
    NDNQI = "NDNQI"
    LOCAL = "local"


class RiskModelKind(StrEnum):
    """How the expected count of a stratum is obtained.

    ``logistic``: a logistic model of the 0/1 numerator, expected = sum of predicted probabilities.
    ``poisson``: a log-linear (Poisson GLM) model of the measure observation (e.g. length of stay in days),
    expected = sum of predicted values. ``reference-rate``: indirect standardisation on the overall reference
    rate (events per unit of exposure), expected = exposure x reference rate (NHSN's predicted count with no
    covariates).
    """

    LOGISTIC = "logistic"
    POISSON = "poisson"
    REFERENCE_RATE = "reference-rate"


COVARIATES: frozenset[str] = frozenset({"age_years", "sex", "admission_type", "charlson"})
"""Covariates the engine can supply to a risk model: age in years, sex, admission type (Encounter.priority)
and the Charlson comorbidity score (Quan 2005 coding, Charlson 1987 weights) of the episode's secondary
diagnoses."""


@dataclass(frozen=True)
class RiskModelSpec:
    """An optional risk model: fitted on a reference period, applied to the measured period."""

    kind: RiskModelKind
    covariates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.covariates) - COVARIATES)
        if unknown:
            raise ValueError(f"unknown covariates {unknown}; the engine supplies {sorted(COVARIATES)}")
        if self.kind is RiskModelKind.REFERENCE_RATE and self.covariates:
            raise ValueError("a reference-rate model takes no covariates")


@dataclass(frozen=True)
class Period:
    """A closed interval of days ``[start, end]`` (FHIR ``Period`` at day precision)."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read ``YYYY-MM-DD..YYYY-MM-DD``, ``YYYY`` (a calendar year) or ``YYYY-MM`` (a month)."""
        try:
            if ".." in text:
                start, end = text.split("..", 1)
                return cls(dt.date.fromisoformat(start.strip()), dt.date.fromisoformat(end.strip()))
            if len(text) == 4:
                year = int(text)
                return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))
            if len(text) == 7:
                first = dt.date.fromisoformat(f"{text}-01")
                following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
                return cls(first, following - dt.timedelta(days=1))
        except ValueError as error:
            raise ValueError(f"cannot read period {text!r}: {error}") from None
        raise ValueError(f"cannot read period {text!r}: use YYYY, YYYY-MM or YYYY-MM-DD..YYYY-MM-DD")


@dataclass(frozen=True)
class MeasureContext:
    """What a population expression may see: the warehouse (through Ibis) and the measurement period.

    ``shared`` holds intermediate tables that several measures build alike (the inpatient encounters with
    their hospitalisation interval, the index admissions of a cohort): :meth:`materialised` computes each
    once per evaluation as a scratch table on the backend (``warehouse.scratch``), so later measures read
    it instead of recomputing it, and the SQL each measure compiles to stays small. :meth:`release` drops
    them.
    """

    backend: BaseBackend
    period: Period
    shared: dict[tuple[object, ...], ir.Table] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def table(self, name: str) -> ir.Table:
        return self.backend.table(name)

    def for_period(self, period: Period) -> MeasureContext:
        """The same warehouse and shared tables, another period."""
        return MeasureContext(self.backend, period, self.shared)

    def materialised(self, key: tuple[object, ...], build: Callable[[], ir.Table]) -> ir.Table:
        """The table ``build()`` returns, computed once per ``key`` and kept on the backend."""
        from medgov.analytics.warehouse.scratch import create_scratch_table

        table = self.shared.get(key)
        if table is None:
            name, table = create_scratch_table(self.backend, build(), label=str(key[0]))
            self.shared[key] = table
            self.shared[("scratch-name", name)] = table
        return table

    def release(self) -> None:
        """Drop the scratch tables this context (and those sharing its tables) created."""
        from medgov.analytics.warehouse.scratch import drop_scratch_tables

        names = [str(key[1]) for key in self.shared if key[0] == "scratch-name"]
        self.shared.clear()
        drop_scratch_tables(self.backend, names)


Criterion = Callable[["ir.Table"], "ir.BooleanValue"]
Observation = Callable[["ir.Table"], "ir.NumericValue"]


@dataclass(frozen=True)
class Populations:
    """The FHIR Measure population criteria of one group (see the module docstring for the contract)."""

    initial_population: Callable[[MeasureContext], ir.Table]
    denominator: Criterion | None = None
    denominator_exclusion: Criterion | None = None
    denominator_exception: Criterion | None = None
    numerator: Criterion | None = None
    numerator_exclusion: Criterion | None = None
    measure_observation: Observation | None = None
    numerator_observation: Observation | None = None
    denominator_observation: Observation | None = None


@dataclass(frozen=True)
class MeasureSpec:
    """A measure: FHIR Measure metadata, populations, scoring and an optional risk model.

    ``rate_multiplier`` scales the score (100 for a percentage, 1,000 for a rate per 1,000 days) and
    ``rate_unit`` says what the scaled score is. A stratum whose denominator (cases, or for a ratio measure
    the denominator observation, e.g. device days) is below ``minimum_denominator`` is reported as not
    calculable instead of a misleading 0 % or 100 %.
    """

    id: str
    version: str
    title: str
    description: str
    rationale: str
    source: Source
    definition: str
    scoring: Scoring
    improvement_notation: ImprovementNotation
    unit_of_analysis: UnitOfAnalysis
    populations: Populations
    risk_model: RiskModelSpec | None = None
    rate_multiplier: float = 100.0
    rate_unit: str = "%"
    minimum_denominator: float = 11
    simplifications: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        populations = self.populations
        if self.scoring is Scoring.CONTINUOUS_VARIABLE and populations.measure_observation is None:
            raise ValueError(f"{self.id}: a continuous-variable measure needs a measure observation")
        if self.scoring is Scoring.RATIO and (
            populations.numerator_observation is None or populations.denominator_observation is None
        ):
            raise ValueError(f"{self.id}: a ratio measure needs numerator and denominator observations")
        if self.scoring is Scoring.PROPORTION and populations.numerator is None:
            raise ValueError(f"{self.id}: a proportion measure needs a numerator")
        if self.risk_model is not None:
            kind = self.risk_model.kind
            if kind is RiskModelKind.LOGISTIC and self.scoring is not Scoring.PROPORTION:
                raise ValueError(f"{self.id}: a logistic risk model needs a proportion measure")
            if kind is RiskModelKind.POISSON and self.scoring is not Scoring.CONTINUOUS_VARIABLE:
                raise ValueError(f"{self.id}: a Poisson risk model needs a continuous-variable measure")
            if kind is RiskModelKind.REFERENCE_RATE and self.scoring is not Scoring.RATIO:
                raise ValueError(f"{self.id}: a reference-rate model needs a ratio measure")

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)
