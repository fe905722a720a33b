"""The hospital system: hospitals, departments, units, practitioners, payers, and the planted outliers.

The structure depends only on the seed, so the planted outliers can be named without generating any patient
(``planted_outliers``), and tests can check that the analytics find them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from medgov.analytics.synth import reference as ref
from medgov.analytics.synth.npi import make_npis

STRUCTURE_STREAM = 0x5354  # keeps the structure's random stream apart from the patient chunks' streams

# Practice variation between attendings that is not a planted signal: a log-odds standard deviation of 0.1 is
# the order found between hospitalists in US all-payer data (Goodwin et al., JAMA Intern Med 2018;178:1063).
PRACTITIONER_VARIATION_SD = 0.1


@dataclass(frozen=True, slots=True)
class Effects:
    """Multipliers planted on top of the risk models: odds ratios for mortality and readmission, rate ratios
    for falls with injury and pressure injuries."""

    mortality_odds_ratio: float = 1.0
    readmission_odds_ratio: float = 1.0
    fall_rate_ratio: float = 1.0
    pressure_injury_rate_ratio: float = 1.0

    def scaled(self, scale: float) -> Effects:
        """The same effects with each log ratio multiplied by ``scale`` (each ratio raised to its power)."""
        if scale == 1.0:
            return self
        return Effects(
            self.mortality_odds_ratio**scale,
            self.readmission_odds_ratio**scale,
            self.fall_rate_ratio**scale,
            self.pressure_injury_rate_ratio**scale,
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "mortality_odds_ratio": self.mortality_odds_ratio,
            "readmission_odds_ratio": self.readmission_odds_ratio,
            "fall_rate_ratio": self.fall_rate_ratio,
            "pressure_injury_rate_ratio": self.pressure_injury_rate_ratio,
        }


@dataclass(frozen=True, slots=True)
class PlantedPractitioner:
    practitioner_id: str
    npi: str
    name: str
    department_id: str
    hospital_id: str
    effects: Effects


@dataclass(frozen=True, slots=True)
class PlantedUnit:
    location_id: str
    name: str
    department_id: str
    hospital_id: str
    effects: Effects
    # None: worse for the whole period; a date: a step change, worse from that date on.
    changes_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class PlantedOutliers:
    """What was planted in the synthetic data, for tests and demonstrations to check the analytics against."""

    seed: int
    start: dt.date
    years: int
    practitioners: tuple[PlantedPractitioner, ...]
    units: tuple[PlantedUnit, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "years": self.years,
            "practitioners": [
                {
                    "practitioner_id": item.practitioner_id,
                    "npi": item.npi,
                    "name": item.name,
                    "department_id": item.department_id,
                    "hospital_id": item.hospital_id,
                    "effects": item.effects.as_dict(),
                }
                for item in self.practitioners
            ],
            "units": [
                {
                    "location_id": item.location_id,
                    "name": item.name,
                    "department_id": item.department_id,
                    "hospital_id": item.hospital_id,
                    "effects": item.effects.as_dict(),
                    "changes_on": item.changes_on.isoformat() if item.changes_on else None,
                }
                for item in self.units
            ],
        }


@dataclass(frozen=True, slots=True)
class Department:
    index: int
    id: str
    hospital: int
    template: ref.DepartmentTemplate
    units: tuple[int, ...]
    practitioners: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Unit:
    index: int
    id: str
    name: str
    hospital: int
    department: int
    type_code: str
    type_display: str

    @property
    def is_icu(self) -> bool:
        return self.type_code == "ICU"


@dataclass(frozen=True, slots=True)
class Practitioner:
    index: int
    id: str
    npi: str
    family: str
    given: str
    gender: str
    department: int


@dataclass(slots=True)
class HospitalSystem:
    """The fixed structure and its lookup arrays for the vectorised simulation."""

    seed: int
    start: dt.date
    years: int
    hospital_ids: tuple[str, ...]
    hospital_npis: tuple[str, ...]
    departments: tuple[Department, ...]
    units: tuple[Unit, ...]
    practitioners: tuple[Practitioner, ...]
    planted: PlantedOutliers
    # Per practitioner and per unit log-odds/log-rate offsets; the step change is applied by date in simulate.
    practitioner_mortality: npt.NDArray[np.float64] = field(repr=False)
    practitioner_readmission: npt.NDArray[np.float64] = field(repr=False)
    unit_mortality: npt.NDArray[np.float64] = field(repr=False)
    unit_readmission: npt.NDArray[np.float64] = field(repr=False)
    unit_fall: npt.NDArray[np.float64] = field(repr=False)
    unit_pressure: npt.NDArray[np.float64] = field(repr=False)
    step_unit: int = -1
    step_day: float = 0.0
    step_effects: Effects = field(default_factory=Effects)

    def department_of(self, hospital: int, key: str) -> Department | None:
        for department in self.departments:
            if department.hospital == hospital and department.template.key == key:
                return department
        return None


def _planted_effects() -> tuple[Effects, ...]:
    return (
        Effects(mortality_odds_ratio=2.5, readmission_odds_ratio=2.0),
        Effects(readmission_odds_ratio=2.2),
        Effects(mortality_odds_ratio=2.2),
    )


def build_hospital_system(seed: int, start: dt.date, years: int, effect_scale: float = 1.0) -> HospitalSystem:
    """Build the hospital system of ``seed``: three hospitals (``ref.HOSPITALS``) with their departments, units
    and practitioners, a per-practitioner practice-variation offset, and the planted outliers, whose log odds and
    rate ratios are multiplied by ``effect_scale`` (1: as documented in docs/synth.md)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, STRUCTURE_STREAM]))
    departments: list[Department] = []
    units: list[Unit] = []
    practitioners: list[Practitioner] = []
    total_practitioners = sum(d.practitioners for h in ref.HOSPITALS for d in h.departments)
    npis = make_npis(rng, total_practitioners, first_digit=1)
    hospital_npis = tuple(make_npis(rng, len(ref.HOSPITALS), first_digit=1))
    hospital_ids = tuple(f"org-{hospital.key}" for hospital in ref.HOSPITALS)
    for hospital_index, hospital in enumerate(ref.HOSPITALS):
        for template in hospital.departments:
            department_index = len(departments)
            department_id = f"org-{hospital.key}-{template.key}"
            unit_indices: list[int] = []
            for unit_template in template.units:
                unit_indices.append(len(units))
                units.append(
                    Unit(
                        len(units),
                        f"loc-{hospital.key}-{unit_template.key}",
                        f"{hospital.name}, {unit_template.name}",
                        hospital_index,
                        department_index,
                        unit_template.type_code,
                        unit_template.type_display,
                    )
                )
            practitioner_indices: list[int] = []
            for _ in range(template.practitioners):
                index = len(practitioners)
                gender = "female" if rng.random() < 0.45 else "male"
                given_names = ref.GIVEN_NAMES_FEMALE if gender == "female" else ref.GIVEN_NAMES_MALE
                practitioners.append(
                    Practitioner(
                        index,
                        f"prac-{index + 1:04d}",
                        npis[index],
                        ref.FAMILY_NAMES[int(rng.integers(len(ref.FAMILY_NAMES)))],
                        given_names[int(rng.integers(len(given_names)))],
                        gender,
                        department_index,
                    )
                )
                practitioner_indices.append(index)
            departments.append(
                Department(
                    department_index,
                    department_id,
                    hospital_index,
                    template,
                    tuple(unit_indices),
                    tuple(practitioner_indices),
                )
            )

    practitioner_mortality = rng.normal(0.0, PRACTITIONER_VARIATION_SD, len(practitioners))
    practitioner_readmission = rng.normal(0.0, PRACTITIONER_VARIATION_SD, len(practitioners))

    # Outliers sit in the highest-volume departments, where a real signal is detectable within a few years.
    candidate_departments = [
        d
        for d in departments
        if (d.hospital, d.template.key) in {(0, "medicine"), (0, "cardiology"), (1, "medicine"), (2, "medicine")}
    ]
    chosen_departments = rng.choice(len(candidate_departments), size=3, replace=False)
    planted_practitioners: list[PlantedPractitioner] = []
    for documented, choice in zip(_planted_effects(), chosen_departments.tolist(), strict=True):
        effects = documented.scaled(effect_scale)
        department = candidate_departments[choice]
        practitioner = practitioners[department.practitioners[int(rng.integers(len(department.practitioners)))]]
        # The planted effect replaces the practice variation so the size of the signal is exactly as documented.
        practitioner_mortality[practitioner.index] = np.log(effects.mortality_odds_ratio)
        practitioner_readmission[practitioner.index] = np.log(effects.readmission_odds_ratio)
        planted_practitioners.append(
            PlantedPractitioner(
                practitioner.id,
                practitioner.npi,
                f"{practitioner.given} {practitioner.family}",
                department.id,
                hospital_ids[department.hospital],
                effects,
            )
        )

    unit_count = len(units)
    unit_mortality = np.zeros(unit_count)
    unit_readmission = np.zeros(unit_count)
    unit_fall = np.zeros(unit_count)
    unit_pressure = np.zeros(unit_count)
    # Units are planted among the medicine wards of the two larger hospitals, where volume makes them visible.
    medicine_wards = [u for u in units if departments[u.department].template.key == "medicine" and u.hospital in (0, 1)]
    picked = rng.choice(len(medicine_wards), size=3, replace=False).tolist()
    fall_unit, outcome_unit, step_unit = (medicine_wards[i] for i in picked)
    fall_effects = Effects(fall_rate_ratio=3.0, pressure_injury_rate_ratio=2.0).scaled(effect_scale)
    outcome_effects = Effects(mortality_odds_ratio=2.0, readmission_odds_ratio=2.0).scaled(effect_scale)
    step_effects = Effects(mortality_odds_ratio=2.0, fall_rate_ratio=3.0).scaled(effect_scale)
    unit_fall[fall_unit.index] = np.log(fall_effects.fall_rate_ratio)
    unit_pressure[fall_unit.index] = np.log(fall_effects.pressure_injury_rate_ratio)
    unit_mortality[outcome_unit.index] = np.log(outcome_effects.mortality_odds_ratio)
    unit_readmission[outcome_unit.index] = np.log(outcome_effects.readmission_odds_ratio)
    end = add_years(start, years)
    # The step falls at a month boundary about 60 % of the way in, leaving a long enough baseline for SPC rules.
    step_date = _month_start(start + (end - start) * 0.6)
    step_day = float((step_date - start).days)

    def planted_unit(unit: Unit, effects: Effects, changes_on: dt.date | None) -> PlantedUnit:
        return PlantedUnit(
            unit.id,
            unit.name,
            departments[unit.department].id,
            hospital_ids[unit.hospital],
            effects,
            changes_on,
        )

    planted = PlantedOutliers(
        seed,
        start,
        years,
        tuple(planted_practitioners),
        (
            planted_unit(fall_unit, fall_effects, None),
            planted_unit(outcome_unit, outcome_effects, None),
            planted_unit(step_unit, step_effects, step_date),
        ),
    )
    return HospitalSystem(
        seed=seed,
        start=start,
        years=years,
        hospital_ids=hospital_ids,
        hospital_npis=hospital_npis,
        departments=tuple(departments),
        units=tuple(units),
        practitioners=tuple(practitioners),
        planted=planted,
        practitioner_mortality=practitioner_mortality,
        practitioner_readmission=practitioner_readmission,
        unit_mortality=unit_mortality,
        unit_readmission=unit_readmission,
        unit_fall=unit_fall,
        unit_pressure=unit_pressure,
        step_unit=step_unit.index,
        step_day=step_day,
        step_effects=step_effects,
    )


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def planted_outliers(
    seed: int, start: dt.date = dt.date(2019, 1, 1), years: int = 6, effect_scale: float = 1.0
) -> PlantedOutliers:
    """The practitioners and units planted as worse than their peers in the data of ``seed`` (and
    ``SynthConfig.planted_effect_scale``).

    They do not depend on the number of patients: only how visible they are does.
    """
    return build_hospital_system(seed, start, years, effect_scale).planted
