"""The vectorised simulation of one chunk of patients: demographics, admissions, visits, outcomes.

Times are float days since the start of the period. Every draw comes from the chunk's own generator
(``SeedSequence([seed, chunk])``), so a chunk's data depend only on the seed and the chunk's position, and chunks
can be simulated in any order or in parallel.

The risk models are logistic (mortality, readmission, discharge to hospice) or Poisson (admissions, visits,
hospital-acquired conditions) in age and comorbidity, with coefficients of the order reported nationally:
in-hospital mortality rises about 3.5 % per year of age in odds (HCUP Statistical Brief #194, 2015) and with the
AHRQ Elixhauser mortality index; 30-day readmission rises with comorbidity, length of stay and discharge to a
facility, and is about 15 % all-cause for Medicare-age inpatients (CMS Hospital-Wide Readmission measure,
national rate 14.6 % to 15.5 % in 2019-2023). Intercepts are calibrated so the whole system lands near those
national rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from medgov.analytics.synth import reference as ref
from medgov.analytics.synth.structure import HospitalSystem, add_years

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAYS_PER_YEAR = 365.25
REFERENCE_AGE = 65.0

# Calibration of the intercepts (see the module docstring for the targets).
ADMISSION_LOG_RATE_AT_65 = -2.35  # about 0.1 admissions per person-year at 65 without comorbidity
MORTALITY_INTERCEPT_SHIFT = -1.55
READMISSION_INTERCEPT_SHIFT = -0.5
MORTALITY_AGE_SLOPE = 0.035
READMISSION_AGE_SLOPE = 0.006
EMERGENCY_VISITS_PER_YEAR = 0.22  # CDC NHAMCS: about 40 ED visits per 100 persons a year, fewer in our adults
ED_RETURN_WITHIN_72_HOURS = 0.045  # revisit rates of 3 % to 6 % (Rising et al., Ann Emerg Med 2014)
# US Life Tables 2019 (NVSS): annual death probability ~1.5 % at 65, ~5 % at 80, ~13 % at 90.
BACKGROUND_MORTALITY_LOG_HAZARD = (-10.4, 0.088)

SURGICAL_CASES = frozenset({"hip-fracture", "joint-replacement", "cholecystitis", "colectomy"})


@dataclass(slots=True)
class Patients:
    index: IntArray  # global patient number
    age_at_start: FloatArray
    birth_day: FloatArray  # days since start (negative)
    female: BoolArray
    race: IntArray
    hispanic: BoolArray
    language: IntArray
    hospital: IntArray
    postal_code: IntArray
    family: IntArray
    given: IntArray
    comorbid: BoolArray  # (patients, comorbidities)
    comorbid_code: IntArray  # (patients, comorbidities): which of the comorbidity's codes the patient carries
    comorbid_onset: FloatArray  # (patients, comorbidities)
    death_day: FloatArray  # nan: alive at the end of the period
    payer: IntArray
    medicare_from_day: FloatArray  # nan: no switch to Medicare within the period
    coverage_from_day: FloatArray
    primary_care_practitioner: IntArray
    systolic_mean: FloatArray
    hba1c_mean: FloatArray


@dataclass(slots=True)
class Admissions:
    patient: IntArray  # row in Patients
    sequence: IntArray  # step of the simulation: unique per patient, used in ids
    start: FloatArray
    end: FloatArray
    case: IntArray
    code: IntArray
    hospital: IntArray
    department: IntArray
    unit: IntArray
    practitioner: IntArray
    priority: IntArray  # 0 EM, 1 UR, 2 EL
    disposition: IntArray
    readmission: BoolArray
    icu: BoolArray
    icu_start: FloatArray
    icu_end: FloatArray
    icu_unit: IntArray
    icu_practitioner: IntArray
    procedure: BoolArray
    procedure_start: FloatArray
    catheter: BoolArray
    catheter_start: FloatArray
    catheter_end: FloatArray
    central_line: BoolArray
    central_line_start: FloatArray
    central_line_end: FloatArray
    fall_day: FloatArray  # nan: none
    fall_code: IntArray
    pressure_day: FloatArray
    pressure_code: IntArray
    clabsi_day: FloatArray
    cauti_day: FloatArray
    medicines: BoolArray  # (admissions, medicines)
    medicine_start: FloatArray  # (admissions, medicines)
    medicine_end: FloatArray


@dataclass(slots=True)
class Visits:
    """Emergency (treat and release) or outpatient visits."""

    patient: IntArray
    sequence: IntArray
    start: FloatArray
    end: FloatArray
    hospital: IntArray
    unit: IntArray
    practitioner: IntArray
    diagnosis: IntArray  # emergency: index in EMERGENCY_DIAGNOSES; outpatient: -1
    is_return: BoolArray
    systolic: FloatArray  # nan: no blood pressure taken
    diastolic: FloatArray
    hba1c: FloatArray  # nan: no HbA1c


@dataclass(slots=True)
class Chunk:
    patients: Patients
    admissions: Admissions
    emergency: Visits
    outpatient: Visits


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _expit(x: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return result


def _gumbel_choice(rng: np.random.Generator, log_weights: FloatArray) -> IntArray:
    """One categorical draw per row of ``log_weights`` (the Gumbel-max trick)."""
    noise = -np.log(-np.log(rng.random(log_weights.shape)))
    result: IntArray = np.argmax(log_weights + noise, axis=1).astype(np.int64)
    return result


def _pick(rng: np.random.Generator, table: IntArray, counts: IntArray, rows: IntArray) -> IntArray:
    """A uniform choice among the first ``counts[row]`` entries of ``table[row]`` for each of ``rows``."""
    offsets = np.floor(rng.random(rows.size) * counts[rows]).astype(np.int64)
    result: IntArray = table[rows, offsets]
    return result


@dataclass(slots=True)
class Lookups:
    """Structure as padded arrays, so choices of unit and practitioner are vectorised."""

    case_department: IntArray  # (hospitals, cases) -> department
    department_hospital: IntArray
    department_units: IntArray
    department_unit_count: IntArray
    department_practitioners: IntArray
    department_practitioner_count: IntArray
    icu_department: IntArray  # hospital -> critical-care department
    icu_unit_general: IntArray  # hospital -> medical ICU
    icu_unit_cardiac: IntArray  # hospital -> cardiac ICU (the only ICU where there is one)
    emergency_department: IntArray
    clinic_department: IntArray


def build_lookups(system: HospitalSystem) -> Lookups:
    hospitals = len(system.hospital_ids)
    departments = system.departments
    width_units = max(len(d.units) for d in departments)
    width_practitioners = max(len(d.practitioners) for d in departments)
    department_units = np.zeros((len(departments), width_units), dtype=np.int64)
    department_practitioners = np.zeros((len(departments), width_practitioners), dtype=np.int64)
    for department in departments:
        department_units[department.index, : len(department.units)] = department.units
        department_practitioners[department.index, : len(department.practitioners)] = department.practitioners
    case_department = np.zeros((hospitals, len(ref.CASES)), dtype=np.int64)
    for hospital in range(hospitals):
        for case_index, case in enumerate(ref.CASES):
            # A hospital without the service refers the patient to the tertiary centre.
            serving = system.department_of(hospital, case.department) or system.department_of(0, case.department)
            assert serving is not None, case.department
            case_department[hospital, case_index] = serving.index

    def required(hospital: int, key: str) -> int:
        department = system.department_of(hospital, key)
        assert department is not None, key
        return department.index

    icu_department = np.array([required(h, "critical-care") for h in range(hospitals)], dtype=np.int64)
    icu_general = np.array([departments[d].units[0] for d in icu_department.tolist()], dtype=np.int64)
    icu_cardiac = np.array([departments[d].units[-1] for d in icu_department.tolist()], dtype=np.int64)
    return Lookups(
        case_department=case_department,
        department_hospital=np.array([d.hospital for d in departments], dtype=np.int64),
        department_units=department_units,
        department_unit_count=np.array([len(d.units) for d in departments], dtype=np.int64),
        department_practitioners=department_practitioners,
        department_practitioner_count=np.array([len(d.practitioners) for d in departments], dtype=np.int64),
        icu_department=icu_department,
        icu_unit_general=icu_general,
        icu_unit_cardiac=icu_cardiac,
        emergency_department=np.array([required(h, "emergency") for h in range(hospitals)], dtype=np.int64),
        clinic_department=np.array([required(h, "primary-care") for h in range(hospitals)], dtype=np.int64),
    )


def simulate_chunk(system: HospitalSystem, lookups: Lookups, chunk_index: int, first_patient: int, count: int) -> Chunk:
    """Simulate ``count`` patients numbered from ``first_patient``, with the chunk's own random stream."""
    rng = np.random.default_rng(np.random.SeedSequence([system.seed, chunk_index]))
    period = float((add_years(system.start, system.years) - system.start).days)
    patients = _simulate_patients(rng, system, lookups, first_patient, count, period)
    admissions = _simulate_admissions(rng, system, lookups, patients, period)
    emergency = _outside_stays(_simulate_emergency_visits(rng, lookups, patients, period), admissions)
    outpatient = _outside_stays(_simulate_outpatient_visits(rng, lookups, patients, period), admissions)
    return Chunk(patients, admissions, emergency, outpatient)


def _outside_stays(visits: Visits, admissions: Admissions) -> Visits:
    """The visits that do not fall inside one of the patient's inpatient stays (both sorted by patient, start)."""
    # One sorted key per (patient, time): a chunk's period spans far fewer days than the scale.
    scale = 1e6
    admission_key = admissions.patient * scale + admissions.start
    visit_key = visits.patient * scale + visits.start
    latest = np.searchsorted(admission_key, visit_key, side="right") - 1
    found = latest >= 0
    latest = np.maximum(latest, 0)
    inside = (
        (found & (admissions.patient[latest] == visits.patient) & (admissions.end[latest] > visits.start - 1.0 / 24.0))
        if admissions.start.size
        else np.zeros(visits.start.size, dtype=np.bool_)
    )
    keep = ~inside
    kept = Visits(*(getattr(visits, name)[keep] for name in Visits.__dataclass_fields__))
    kept.sequence = _sequence_within_patient(kept.patient)
    return kept


def _simulate_patients(
    rng: np.random.Generator,
    system: HospitalSystem,
    lookups: Lookups,
    first_patient: int,
    count: int,
    period: float,
) -> Patients:
    # Adults only; the age structure of hospital users is older than the population's (HCUP NIS: median ~58).
    age = 18.0 + 82.0 * rng.beta(2.0, 2.4, count)
    birth_day = -age * DAYS_PER_YEAR
    female = rng.random(count) < 0.52
    hispanic = rng.random(count) < ref.HISPANIC_SHARE
    race = np.where(
        hispanic,
        rng.choice(len(ref.RACES), size=count, p=ref.RACE_SHARE_HISPANIC),
        rng.choice(len(ref.RACES), size=count, p=ref.RACE_SHARE_NON_HISPANIC),
    ).astype(np.int64)
    # Preferred language follows ethnicity and race (ACS 2019: 13 % of US adults speak Spanish at home, 8 %
    # of Hispanic adults and ~30 % of Asian adults have limited English proficiency).
    language_draw = rng.random(count)
    language = np.zeros(count, dtype=np.int64)
    language[hispanic & (language_draw < 0.40)] = 1
    asian = race == 2
    language[asian & (language_draw < 0.18)] = 2
    language[asian & (language_draw >= 0.18) & (language_draw < 0.30)] = 3
    other = ~hispanic & ~asian
    language[other & (language_draw < 0.010)] = 4
    language[other & (language_draw >= 0.010) & (language_draw < 0.018)] = 5
    language[other & (language_draw >= 0.018) & (language_draw < 0.023)] = 6
    language[other & (language_draw >= 0.023) & (language_draw < 0.027)] = 7
    shares = np.array([h.share_of_patients for h in ref.HOSPITALS])
    hospital = rng.choice(len(ref.HOSPITALS), size=count, p=shares / shares.sum()).astype(np.int64)
    postal_code = np.floor(rng.random(count) * np.array([len(h.postal_codes) for h in ref.HOSPITALS])[hospital])
    family = rng.integers(len(ref.FAMILY_NAMES), size=count)
    given = rng.integers(max(len(ref.GIVEN_NAMES_FEMALE), len(ref.GIVEN_NAMES_MALE)), size=count)

    comorbidities = ref.COMORBIDITIES
    comorbid = np.zeros((count, len(comorbidities)), dtype=np.bool_)
    centred_age = age - REFERENCE_AGE
    for column, item in enumerate(comorbidities):
        if item.prevalence_at_65 <= 0.0:
            continue
        logit = _logit(item.prevalence_at_65) + item.age_slope * centred_age
        comorbid[:, column] = rng.random(count) < _expit(logit)
    index = ref.COMORBIDITY_INDEX
    # Conditions cluster: diabetes and hypertension raise CKD and heart failure (USRDS 2020; AHA statistics).
    extra_ckd = (comorbid[:, index["diabetes"]] | comorbid[:, index["hypertension"]]) & (rng.random(count) < 0.08)
    comorbid[:, index["ckd"]] |= extra_ckd
    extra_chf = comorbid[:, index["atrial-fibrillation"]] & (rng.random(count) < 0.15)
    comorbid[:, index["chf"]] |= extra_chf
    # About a fifth of patients with cancer have metastatic disease (SEER stage distribution at diagnosis).
    comorbid[:, index["metastatic"]] = comorbid[:, index["cancer"]] & (rng.random(count) < 0.2)
    code_counts = np.array([len(item.codes) for item in comorbidities])
    comorbid_code = np.floor(rng.random((count, len(comorbidities))) * code_counts).astype(np.int64)
    # Diabetes with CKD is coded as diabetic CKD (E11.22): ICD-10-CM presumes the link (guideline I.A.15).
    diabetic_ckd = comorbid[:, index["diabetes"]] & comorbid[:, index["ckd"]]
    comorbid_code[diabetic_ckd, index["diabetes"]] = 2
    comorbid_code[~diabetic_ckd & (comorbid_code[:, index["diabetes"]] == 2), index["diabetes"]] = 0
    adult_day = birth_day + 18.0 * DAYS_PER_YEAR
    earliest_onset = np.maximum(adult_day, -15.0 * DAYS_PER_YEAR)
    comorbid_onset = earliest_onset[:, None] + (-earliest_onset[:, None]) * rng.random((count, len(comorbidities)))

    mortality_weight = np.array([item.mortality_weight for item in comorbidities])
    log_hazard = (
        BACKGROUND_MORTALITY_LOG_HAZARD[0]
        + BACKGROUND_MORTALITY_LOG_HAZARD[1] * (age + 0.5 * period / DAYS_PER_YEAR)
        + comorbid.astype(np.float64) @ mortality_weight
    )
    death_day = rng.exponential(DAYS_PER_YEAR / np.exp(log_hazard))
    death_day = np.where(death_day < period, death_day, np.nan)

    # Payer by age (US Census CPS 2019): Medicare from 65; under 65 about 20 % Medicaid, 4 % Medicare for
    # disability, 8 % uninsured (self-pay), the rest private.
    payer_draw = rng.random(count)
    private = np.array(ref.PRIVATE_PAYERS)[rng.integers(len(ref.PRIVATE_PAYERS), size=count)]
    under_65 = np.select(
        [payer_draw < 0.20, payer_draw < 0.24, payer_draw < 0.32],
        [ref.PAYER_MEDICAID, ref.PAYER_MEDICARE, ref.PAYER_SELF],
        private,
    )
    over_65 = np.where(payer_draw < 0.94, ref.PAYER_MEDICARE, private)
    payer = np.where(age >= 65.0, over_65, under_65).astype(np.int64)
    turns_65_day = (65.0 - age) * DAYS_PER_YEAR
    medicare_from_day = np.where(
        (payer != ref.PAYER_MEDICARE) & (turns_65_day > 0.0) & (turns_65_day < period),
        np.floor(turns_65_day),
        np.nan,
    )
    coverage_from_day = -np.floor(rng.random(count) * 3.0 * DAYS_PER_YEAR)

    clinic = lookups.clinic_department[hospital]
    primary_care_practitioner = _pick(
        rng, lookups.department_practitioners, lookups.department_practitioner_count, clinic
    )
    # About 60 % of treated hypertensive adults are controlled below 140/90 (NHANES 2017-2018).
    controlled = rng.random(count) < 0.6
    systolic_mean = np.where(controlled, rng.normal(127.0, 6.0, count), rng.normal(149.0, 9.0, count))
    hba1c_mean = 6.3 + rng.gamma(2.0, 0.65, count)

    return Patients(
        index=np.arange(first_patient, first_patient + count, dtype=np.int64),
        age_at_start=age,
        birth_day=np.floor(birth_day),
        female=female,
        race=race,
        hispanic=hispanic,
        language=language,
        hospital=hospital,
        postal_code=postal_code.astype(np.int64),
        family=family.astype(np.int64),
        given=given.astype(np.int64),
        comorbid=comorbid,
        comorbid_code=comorbid_code,
        comorbid_onset=np.floor(comorbid_onset),
        death_day=death_day,
        payer=payer,
        medicare_from_day=medicare_from_day,
        coverage_from_day=coverage_from_day,
        primary_care_practitioner=primary_care_practitioner,
        systolic_mean=systolic_mean,
        hba1c_mean=hba1c_mean,
    )


def _case_arrays() -> tuple[FloatArray, FloatArray, FloatArray]:
    cases = ref.CASES
    log_weight = np.log(np.array([case.weight for case in cases]))
    age_slope = np.array([case.age_slope for case in cases])
    boost = np.zeros((len(ref.COMORBIDITIES), len(cases)))
    for column, case in enumerate(cases):
        for key, value in case.comorbidity_boost:
            boost[ref.COMORBIDITY_INDEX[key], column] = value
    return log_weight, age_slope, boost


def _simulate_admissions(
    rng: np.random.Generator,
    system: HospitalSystem,
    lookups: Lookups,
    patients: Patients,
    period: float,
) -> Admissions:
    cases = ref.CASES
    count = patients.index.size
    comorbid = patients.comorbid.astype(np.float64)
    admission_weight = np.array([item.admission_weight for item in ref.COMORBIDITIES])
    mortality_weight = np.array([item.mortality_weight for item in ref.COMORBIDITIES])
    readmission_weight = np.array([item.readmission_weight for item in ref.COMORBIDITIES])
    chronic_count = comorbid.sum(axis=1)
    annual_rate = np.exp(
        ADMISSION_LOG_RATE_AT_65 + 0.025 * (patients.age_at_start - REFERENCE_AGE) + comorbid @ admission_weight
    )
    mortality_risk = comorbid @ mortality_weight
    readmission_risk = comorbid @ readmission_weight
    case_log_weight, case_age_slope, case_boost = _case_arrays()
    case_comorbidity_term = comorbid @ case_boost  # (patients, cases)
    case_mortality = np.array([_logit(case.mortality) for case in cases]) + MORTALITY_INTERCEPT_SHIFT
    case_readmission = np.array([_logit(case.readmission) for case in cases]) + READMISSION_INTERCEPT_SHIFT
    case_los = np.array([case.los_days for case in cases])
    case_icu = np.array([case.icu for case in cases])
    case_elective = np.array([case.elective for case in cases])
    case_urgent = np.array([case.urgent for case in cases])
    case_procedure_share = np.array([case.procedure_share for case in cases])
    case_code_count = np.array([len(case.codes) for case in cases])
    surgical = np.array([case.key in SURGICAL_CASES for case in cases])
    cardiac = np.array([case.department == "cardiology" for case in cases])
    case_key = {case.key: index for index, case in enumerate(cases)}
    idx = ref.COMORBIDITY_INDEX
    medicine = ref.MEDICINE_INDEX
    death_day = np.where(np.isnan(patients.death_day), np.inf, patients.death_day)
    now = np.zeros(count)
    in_loop = np.ones(count, dtype=np.bool_)
    pending = np.full(count, np.nan)
    last_case = np.full(count, -1, dtype=np.int64)
    parts: list[dict[str, npt.NDArray[np.generic]]] = []
    step = 0
    while True:
        active = np.flatnonzero(in_loop & (now < period))
        if active.size == 0:
            break
        is_readmission = ~np.isnan(pending[active])
        gap = rng.exponential(DAYS_PER_YEAR / annual_rate[active])
        start = np.where(is_readmission, pending[active], now[active] + gap)
        keep = (start < period) & (start < death_day[active])
        in_loop[active[~keep]] = False  # no further admission within the period or alive
        rows = active[keep]
        start = start[keep]
        is_readmission = is_readmission[keep]
        pending[rows] = np.nan
        size = rows.size
        age = patients.age_at_start[rows] + start / DAYS_PER_YEAR
        centred_age = age - REFERENCE_AGE

        log_weights = case_log_weight + case_age_slope * centred_age[:, None] + case_comorbidity_term[rows]
        case = _gumbel_choice(rng, log_weights)
        same_case = is_readmission & (last_case[rows] >= 0) & (rng.random(size) < ref.READMISSION_SAME_CASE_SHARE)
        case = np.where(same_case, last_case[rows], case)
        code = np.floor(rng.random(size) * case_code_count[case]).astype(np.int64)

        priority_draw = rng.random(size)
        priority = np.where(
            priority_draw < case_elective[case],
            2,
            np.where(priority_draw < case_elective[case] + case_urgent[case], 1, 0),
        )
        priority = np.where(is_readmission & (priority == 2), 0, priority)
        # Elective admissions arrive in the morning of a planned day.
        start = np.where(priority == 2, np.floor(start) + 0.29 + 0.06 * rng.random(size), start)

        # 85 % of admissions are to the patient's local hospital (Dartmouth Atlas hospital service areas).
        hospital = np.where(
            rng.random(size) < 0.85, patients.hospital[rows], rng.integers(len(system.hospital_ids), size=size)
        )
        department = lookups.case_department[hospital, case]
        hospital = lookups.department_hospital[department]
        unit = _pick(rng, lookups.department_units, lookups.department_unit_count, department)
        practitioner = _pick(rng, lookups.department_practitioners, lookups.department_practitioner_count, department)

        sigma = 0.55
        los = rng.lognormal(
            np.log(case_los[case]) - 0.5 * sigma**2 + 0.008 * centred_age + 0.04 * chronic_count[rows], sigma
        )
        los = np.maximum(los, 0.7)
        end = start + los

        icu = rng.random(size) < np.clip(case_icu[case] * np.exp(0.1 * chronic_count[rows]), 0.0, 0.9)
        icu_start = start + los * 0.15 * rng.random(size)
        icu_end = np.minimum(icu_start + 0.5 + los * (0.2 + 0.4 * rng.random(size)), end - 0.1)
        icu_end = np.maximum(icu_end, icu_start + 0.2)
        icu_unit = np.where(cardiac[case], lookups.icu_unit_cardiac[hospital], lookups.icu_unit_general[hospital])
        icu_practitioner = _pick(
            rng,
            lookups.department_practitioners,
            lookups.department_practitioner_count,
            lookups.icu_department[hospital],
        )
        procedure = rng.random(size) < case_procedure_share[case]
        procedure_start = np.where(priority == 2, start + 0.1, start + np.minimum(1.0, 0.3 * los) * rng.random(size))

        # Medicines (ACCP VTE prophylaxis guideline; ADA inpatient glycaemic standards; CDC opioid data).
        atrial_fibrillation = patients.comorbid[rows, idx["atrial-fibrillation"]] | (
            case == case_key["atrial-fibrillation"]
        )
        anticoagulated = atrial_fibrillation & (rng.random(size) < 0.7)
        prophylaxis_share = np.where(surgical[case], 0.9, 0.75)
        prophylaxis_share = np.where(case == case_key["gi-bleed"], 0.05, prophylaxis_share)
        prophylaxis_share = np.where(case == case_key["major-depression"], 0.15, prophylaxis_share)
        prophylaxis = ~anticoagulated & (rng.random(size) < prophylaxis_share)
        prefers_heparin = patients.comorbid[rows, idx["ckd"]] | (rng.random(size) < 0.25)
        opioid = rng.random(size) < np.where(surgical[case], 0.88, 0.25)
        opioid_choice = rng.integers(3, size=size)
        benzodiazepine = rng.random(size) < np.where(
            patients.comorbid[rows, idx["alcohol"]] | (case == case_key["major-depression"]), 0.55, 0.07
        )
        diabetic = patients.comorbid[rows, idx["diabetes"]] | (case == case_key["diabetic-ketoacidosis"])
        insulin_regular = diabetic & (rng.random(size) < 0.75)
        insulin_regular |= case == case_key["diabetic-ketoacidosis"]
        insulin_glargine = diabetic & (rng.random(size) < 0.4)
        naloxone = opioid & (rng.random(size) < 0.012 * np.where(benzodiazepine, 2.5, 1.0) * np.exp(0.02 * centred_age))
        medicines = np.zeros((size, len(ref.MEDICINES)), dtype=np.bool_)
        warfarin = rng.random(size) < 0.3
        medicines[:, medicine["apixaban"]] = anticoagulated & ~warfarin
        medicines[:, medicine["warfarin"]] = anticoagulated & warfarin
        medicines[:, medicine["enoxaparin"]] = prophylaxis & ~prefers_heparin
        medicines[:, medicine["heparin"]] = prophylaxis & prefers_heparin
        medicines[:, medicine["morphine"]] = opioid & (opioid_choice == 0)
        medicines[:, medicine["hydromorphone"]] = opioid & (opioid_choice == 1)
        medicines[:, medicine["oxycodone"]] = opioid & (opioid_choice == 2)
        lorazepam = rng.random(size) < 0.6
        medicines[:, medicine["lorazepam"]] = benzodiazepine & lorazepam
        medicines[:, medicine["alprazolam"]] = benzodiazepine & ~lorazepam
        medicines[:, medicine["insulin-regular"]] = insulin_regular
        medicines[:, medicine["insulin-glargine"]] = insulin_glargine
        medicines[:, medicine["naloxone"]] = naloxone
        medicine_start = start[:, None] + (0.02 + 0.15 * rng.random((size, len(ref.MEDICINES)))) * los[:, None]
        medicine_end = medicine_start + (end[:, None] - medicine_start) * (
            0.4 + 0.6 * rng.random((size, len(ref.MEDICINES)))
        )

        # Devices and hospital-acquired conditions.
        in_icu = icu
        catheter = rng.random(size) < np.select([in_icu, surgical[case]], [0.7, 0.45], 0.12 + 0.06 * (age >= 75))
        catheter_start = start + 0.1 * los * rng.random(size)
        catheter_end = catheter_start + (end - catheter_start) * (0.3 + 0.65 * rng.random(size))
        central_line = rng.random(size) < np.select(
            [in_icu, case == case_key["sepsis"], case == case_key["colectomy"]], [0.6, 0.35, 0.3], 0.03
        )
        line_start = start + 0.1 * los * rng.random(size)
        line_end = line_start + (end - line_start) * (0.4 + 0.55 * rng.random(size))

        step_active = (unit == system.step_unit) & (start >= system.step_day)
        step_fall = float(np.log(system.step_effects.fall_rate_ratio))
        fall_rate = (
            ref.HAC_FALL.rate_per_1000_days
            / 1000.0
            * np.exp(
                0.03 * centred_age
                + np.log(2.0) * patients.comorbid[rows, idx["dementia"]]
                + np.log(1.5) * benzodiazepine
                + system.unit_fall[unit]
                + step_fall * step_active
            )
        )
        fall = rng.random(size) < -np.expm1(-fall_rate * los)
        fall_day = np.where(fall, start + los * (0.05 + 0.9 * rng.random(size)), np.nan)
        fall_code = rng.integers(len(ref.HAC_FALL.codes), size=size)
        pressure_rate = (
            ref.HAC_PRESSURE_INJURY.rate_per_1000_days
            / 1000.0
            * np.exp(0.03 * centred_age + np.log(2.0) * in_icu + system.unit_pressure[unit])
        )
        pressure = rng.random(size) < -np.expm1(-pressure_rate * los)
        pressure_day = np.where(pressure, start + los * (0.3 + 0.65 * rng.random(size)), np.nan)
        pressure_code = rng.integers(len(ref.HAC_PRESSURE_INJURY.codes), size=size)
        # NHSN counts a device-associated infection only after more than two device days.
        cauti_days = np.where(catheter, catheter_end - catheter_start - 2.0, 0.0)
        cauti = (cauti_days > 0) & (
            rng.random(size) < -np.expm1(-ref.HAC_CAUTI.rate_per_1000_days / 1000.0 * (cauti_days + 2.0))
        )
        cauti_day = np.where(cauti, catheter_start + 2.0 + cauti_days * rng.random(size), np.nan)
        clabsi_days = np.where(central_line, line_end - line_start - 2.0, 0.0)
        clabsi = (clabsi_days > 0) & (
            rng.random(size) < -np.expm1(-ref.HAC_CLABSI.rate_per_1000_days / 1000.0 * (clabsi_days + 2.0))
        )
        clabsi_day = np.where(clabsi, line_start + 2.0 + clabsi_days * rng.random(size), np.nan)

        # In-hospital mortality.
        mortality_logit = (
            case_mortality[case]
            + MORTALITY_AGE_SLOPE * centred_age
            + mortality_risk[rows]
            + 0.25 * (priority == 0)
            + 0.6 * icu
            + 0.5 * (~np.isnan(clabsi_day))
            + system.practitioner_mortality[practitioner]
            + system.unit_mortality[unit]
            + np.log(system.step_effects.mortality_odds_ratio) * step_active
        )
        died = rng.random(size) < _expit(mortality_logit)
        death_at = start + los * (0.25 + 0.75 * rng.random(size))
        # A patient whose death (drawn for the whole period) falls during the stay dies in hospital.
        died_in_stay = ~died & (death_day[rows] < end)
        died |= died_in_stay
        death_at = np.where(died_in_stay, np.maximum(death_day[rows], start + 0.1), death_at)
        end = np.where(died, death_at, end)
        los = end - start

        # Keep events and devices inside the (possibly shortened) stay.
        fall_day = np.where(fall_day < end, fall_day, np.nan)
        pressure_day = np.where(pressure_day < end, pressure_day, np.nan)
        cauti_day = np.where(cauti_day < end, cauti_day, np.nan)
        clabsi_day = np.where(clabsi_day < end, clabsi_day, np.nan)
        catheter_end = np.minimum(catheter_end, end)
        line_end = np.minimum(line_end, end)
        icu_start = np.minimum(icu_start, end - 0.05)
        icu_end = np.clip(icu_end, icu_start + 0.02, end)
        icu &= icu_start > start
        procedure_start = np.minimum(procedure_start, end - 0.05)
        procedure &= procedure_start > start
        medicine_start = np.minimum(medicine_start, end[:, None] - 0.02)
        medicine_end = np.clip(medicine_end, medicine_start + 0.01, end[:, None])
        medicines &= medicine_start > start[:, None]

        # Discharge disposition of the survivors.
        disposition_log_weights = np.tile(np.log(np.array(ref.DISPOSITION_BASE_SHARE)), (size, 1))
        dementia = patients.comorbid[rows, idx["dementia"]].astype(np.float64)
        hip_fracture = case == case_key["hip-fracture"]
        stroke = case == case_key["stroke"]
        joint = case == case_key["joint-replacement"]
        d = ref.DISPOSITION_INDEX
        disposition_log_weights[:, d["snf"]] += (
            0.05 * centred_age + 0.5 * dementia + 2.0 * hip_fracture + 1.0 * stroke - 0.5 * joint
        )
        disposition_log_weights[:, d["rehab"]] += 2.0 * stroke + 1.5 * hip_fracture + 0.5 * joint
        disposition_log_weights[:, d["alt-home"]] += 0.02 * centred_age + 0.3 * joint
        disposition_log_weights[:, d["hosp"]] += 0.8 * mortality_risk[rows] + 0.03 * centred_age - 1.0 * joint
        disposition_log_weights[:, d["long"]] += 0.04 * centred_age + 1.0 * dementia
        disposition_log_weights[:, d["aadvice"]] += (
            1.5 * patients.comorbid[rows, idx["alcohol"]] - 0.03 * centred_age - 2.0 * (priority == 2)
        )
        disposition_log_weights[:, d["psy"]] += 4.0 * (case == case_key["major-depression"])
        disposition_log_weights[:, d["other-hcf"]] += 0.7 * icu
        disposition = _gumbel_choice(rng, disposition_log_weights)
        disposition = np.where(died, d["exp"], disposition)

        # 30-day readmission; planned readmissions are out of scope, transfers are readmitted elsewhere.
        readmission_logit = (
            case_readmission[case]
            + READMISSION_AGE_SLOPE * centred_age
            + readmission_risk[rows]
            + 0.25 * np.log(los / case_los[case])
            + 0.2 * (disposition == d["snf"])
            + 0.6 * (disposition == d["aadvice"])
            + 0.1 * (disposition == d["alt-home"])
            - 1.5 * (disposition == d["hosp"])
            - 1.0 * (disposition == d["other-hcf"])
            + system.practitioner_readmission[practitioner]
            + system.unit_readmission[unit]
        )
        readmitted = ~died & (rng.random(size) < _expit(readmission_logit))
        mean_delay = 10.0
        delay = 0.5 - mean_delay * np.log1p(-rng.random(size) * -np.expm1(-29.5 / mean_delay))
        pending[rows] = np.where(readmitted, end + delay, np.nan)

        parts.append(
            {
                "patient": rows,
                "sequence": np.full(size, step, dtype=np.int64),
                "start": start,
                "end": end,
                "case": case,
                "code": code,
                "hospital": hospital,
                "department": department,
                "unit": unit,
                "practitioner": practitioner,
                "priority": priority,
                "disposition": disposition,
                "readmission": is_readmission,
                "icu": icu,
                "icu_start": icu_start,
                "icu_end": icu_end,
                "icu_unit": icu_unit,
                "icu_practitioner": icu_practitioner,
                "procedure": procedure,
                "procedure_start": procedure_start,
                "catheter": catheter,
                "catheter_start": catheter_start,
                "catheter_end": catheter_end,
                "central_line": central_line,
                "central_line_start": line_start,
                "central_line_end": line_end,
                "fall_day": fall_day,
                "fall_code": fall_code,
                "pressure_day": pressure_day,
                "pressure_code": pressure_code,
                "clabsi_day": clabsi_day,
                "cauti_day": cauti_day,
                "medicines": medicines,
                "medicine_start": medicine_start,
                "medicine_end": medicine_end,
            }
        )
        died_rows = rows[died]
        in_loop[died_rows] = False
        death_day[died_rows] = end[died]
        # Deaths within 30 days of discharge run at about the in-hospital risk again (CMS 30-day mortality
        # measures: AMI 13 %, HF 11 %, pneumonia 16 %, roughly twice the in-hospital rates), and are the rule
        # after discharge to hospice.
        after_discharge = ~died & (
            rng.random(size) < np.where(disposition == d["hosp"], 0.5, 0.9 * _expit(mortality_logit))
        )
        death_after = end + 1.0 + 29.0 * rng.random(size)
        death_day[rows] = np.where(after_discharge, np.minimum(death_day[rows], death_after), death_day[rows])
        now[rows] = end
        last_case[rows] = case
        step += 1

    # Deaths in hospital and after discharge become the patient's date of death.
    patients.death_day = np.where(np.isfinite(death_day) & (death_day < period), death_day, np.nan)
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    order = np.lexsort((columns["start"], columns["patient"]))
    sorted_columns: dict[str, Any] = {name: values[order] for name, values in columns.items()}
    return Admissions(**sorted_columns)


def _visit_times(
    rng: np.random.Generator, rate_per_year: FloatArray, patients: Patients, period: float
) -> tuple[IntArray, FloatArray]:
    """Poisson visit counts over each patient's time alive in the period, at uniform times, sorted per patient."""
    alive_until = np.where(np.isnan(patients.death_day), period, patients.death_day)
    counts = rng.poisson(rate_per_year * alive_until / DAYS_PER_YEAR)
    patient = np.repeat(np.arange(patients.index.size), counts)
    start = rng.random(patient.size) * alive_until[patient]
    order = np.lexsort((start, patient))
    return patient[order], start[order]


def _sequence_within_patient(patient: IntArray) -> IntArray:
    if patient.size == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[True, patient[1:] != patient[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(patient.size), 0))
    result: IntArray = np.arange(patient.size) - group_start
    return result


def _simulate_emergency_visits(rng: np.random.Generator, lookups: Lookups, patients: Patients, period: float) -> Visits:
    chronic = patients.comorbid.sum(axis=1)
    rate = EMERGENCY_VISITS_PER_YEAR * np.exp(0.2 * chronic) * np.where(patients.payer == ref.PAYER_MEDICAID, 1.6, 1.0)
    patient, start = _visit_times(rng, rate, patients, period)
    size = patient.size
    hospital = np.where(
        rng.random(size) < 0.85, patients.hospital[patient], rng.integers(len(ref.HOSPITALS), size=size)
    )
    diagnosis = rng.integers(len(ref.EMERGENCY_DIAGNOSES), size=size)
    end = start + (2.0 + 6.0 * rng.beta(2.0, 3.0, size)) / 24.0
    returns = rng.random(size) < ED_RETURN_WITHIN_72_HOURS
    return_start = end[returns] + (4.0 + 68.0 * rng.beta(1.2, 2.0, int(returns.sum()))) / 24.0
    return_end = return_start + (2.0 + 6.0 * rng.beta(2.0, 3.0, return_start.size)) / 24.0
    patient = np.concatenate([patient, patient[returns]])
    start = np.concatenate([start, return_start])
    end = np.concatenate([end, return_end])
    hospital = np.concatenate([hospital, hospital[returns]])
    diagnosis = np.concatenate([diagnosis, diagnosis[returns]])
    is_return = np.concatenate([np.zeros(size, dtype=np.bool_), np.ones(return_start.size, dtype=np.bool_)])
    alive_until = np.where(np.isnan(patients.death_day), period, patients.death_day)
    keep = end < alive_until[patient]
    patient, start, end, hospital, diagnosis, is_return = (
        patient[keep], start[keep], end[keep], hospital[keep], diagnosis[keep], is_return[keep]
    )  # fmt: skip
    order = np.lexsort((start, patient))
    patient, start, end, hospital, diagnosis, is_return = (
        patient[order], start[order], end[order], hospital[order], diagnosis[order], is_return[order]
    )  # fmt: skip
    department = lookups.emergency_department[hospital]
    unit = lookups.department_units[department, 0]
    practitioner = _pick(rng, lookups.department_practitioners, lookups.department_practitioner_count, department)
    nothing = np.full(patient.size, np.nan)
    return Visits(
        patient, _sequence_within_patient(patient), start, end, hospital, unit, practitioner, diagnosis,
        is_return, nothing, nothing, nothing,
    )  # fmt: skip


def _simulate_outpatient_visits(
    rng: np.random.Generator, lookups: Lookups, patients: Patients, period: float
) -> Visits:
    idx = ref.COMORBIDITY_INDEX
    hypertensive = patients.comorbid[:, idx["hypertension"]]
    diabetic = patients.comorbid[:, idx["diabetes"]]
    # Follow-up of chronic disease: about quarterly for diabetes and hypertension (ADA Standards of Care).
    rate = 0.5 + 1.5 * hypertensive + 1.5 * diabetic
    patient, start = _visit_times(rng, rate, patients, period)
    # Clinic hours: 8:00 to 17:00.
    start = np.floor(start) + (8.0 + 9.0 * rng.random(patient.size)) / 24.0
    alive_until = np.where(np.isnan(patients.death_day), period, patients.death_day)
    keep = start + 1.0 / 24.0 < alive_until[patient]
    patient, start = patient[keep], start[keep]
    order = np.lexsort((start, patient))
    patient, start = patient[order], start[order]
    size = patient.size
    end = start + (15.0 + 30.0 * rng.random(size)) / 1440.0
    hospital = patients.hospital[patient]
    unit = lookups.department_units[lookups.clinic_department[hospital], 0]
    practitioner = patients.primary_care_practitioner[patient]
    systolic = np.round(patients.systolic_mean[patient] + rng.normal(0.0, 9.0, size))
    diastolic = np.round(0.45 * systolic + 20.0 + rng.normal(0.0, 6.0, size))
    has_bp = hypertensive[patient]
    has_hba1c = diabetic[patient] & (rng.random(size) < 0.55)
    hba1c = np.round(np.clip(patients.hba1c_mean[patient] + rng.normal(0.0, 0.4, size), 4.8, 14.0), 1)
    return Visits(
        patient,
        _sequence_within_patient(patient),
        start,
        end,
        hospital,
        unit,
        practitioner,
        np.full(size, -1, dtype=np.int64),
        np.zeros(size, dtype=np.bool_),
        np.where(has_bp, systolic, np.nan),
        np.where(has_bp, diastolic, np.nan),
        np.where(has_hba1c, hba1c, np.nan),
    )
