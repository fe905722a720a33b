"""FHIR R4 resources from the simulated arrays, serialised as NDJSON lines with orjson.

The shape follows docs/warehouse.md ("How hospital structure is expressed in FHIR"); the warehouse views read
exactly these elements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from medgov.analytics.synth import reference as ref
from medgov.analytics.synth.simulate import Admissions, Chunk, FloatArray, Patients, Visits
from medgov.analytics.synth.structure import HospitalSystem

Resource = dict[str, Any]

RESOURCE_TYPES: tuple[str, ...] = (
    "Organization",
    "Location",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "Coverage",
    "Encounter",
    "Condition",
    "Procedure",
    "Observation",
    "MedicationRequest",
    "MedicationAdministration",
)


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _reference(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def ndjson(resources: Iterator[Resource] | list[Resource]) -> bytes:
    option = orjson.OPT_APPEND_NEWLINE
    return b"".join(orjson.dumps(resource, option=option) for resource in resources)


class Clock:
    """Float days since the start of the period as FHIR dateTime (UTC, whole minutes) and date strings."""

    def __init__(self, start: dt.date) -> None:
        self._start = np.datetime64(start.isoformat(), "s")
        self._start_day = np.datetime64(start.isoformat(), "D")

    def datetimes(self, days: FloatArray) -> list[str]:
        minutes = np.round(np.nan_to_num(days) * 1440.0).astype(np.int64)
        stamps = self._start + (minutes * 60).astype("timedelta64[s]")
        strings: list[str] = np.datetime_as_string(stamps, unit="s", timezone="UTC").tolist()
        return strings

    def dates(self, days: FloatArray) -> list[str]:
        stamps = self._start_day + np.floor(np.nan_to_num(days)).astype(np.int64).astype("timedelta64[D]")
        strings: list[str] = np.datetime_as_string(stamps, unit="D").tolist()
        return strings


# Structure -------------------------------------------------------------------------------------------------


def structure_resources(system: HospitalSystem) -> dict[str, list[Resource]]:
    organizations: list[Resource] = []
    for index, hospital in enumerate(ref.HOSPITALS):
        organizations.append(
            {
                "resourceType": "Organization",
                "id": system.hospital_ids[index],
                "identifier": [{"system": ref.NPI_SYSTEM, "value": system.hospital_npis[index]}],
                "active": True,
                "type": [_concept(ref.ORGANIZATION_TYPE, "prov", "Healthcare Provider")],
                "name": hospital.name,
                "address": [{"city": hospital.city, "state": hospital.state, "country": "US"}],
            }
        )
    for department in system.departments:
        organizations.append(
            {
                "resourceType": "Organization",
                "id": department.id,
                "active": True,
                "type": [_concept(ref.ORGANIZATION_TYPE, "dept", "Hospital Department")],
                "name": f"{ref.HOSPITALS[department.hospital].name}, {department.template.name}",
                "partOf": _reference("Organization", system.hospital_ids[department.hospital]),
            }
        )
    for payer in ref.PAYERS:
        if payer.sopt_code == "81":
            continue  # a self-paying patient is the payor (FHIR Coverage.payor)
        organizations.append(
            {
                "resourceType": "Organization",
                "id": f"org-payer-{payer.key}",
                "active": True,
                "type": [_concept(ref.ORGANIZATION_TYPE, "pay", "Payer")],
                "name": payer.name,
            }
        )
    locations: list[Resource] = [
        {
            "resourceType": "Location",
            "id": unit.id,
            "status": "active",
            "name": unit.name,
            "mode": "instance",
            "type": [_concept(ref.ROLE_CODE, unit.type_code, unit.type_display)],
            "physicalType": _concept(ref.LOCATION_PHYSICAL_TYPE, "wa", "Ward"),
            "managingOrganization": _reference("Organization", system.departments[unit.department].id),
        }
        for unit in system.units
    ]
    practitioners: list[Resource] = []
    roles: list[Resource] = []
    for practitioner in system.practitioners:
        department = system.departments[practitioner.department]
        practitioners.append(
            {
                "resourceType": "Practitioner",
                "id": practitioner.id,
                "identifier": [{"system": ref.NPI_SYSTEM, "value": practitioner.npi}],
                "active": True,
                "name": [
                    {
                        "use": "official",
                        "family": practitioner.family,
                        "given": [practitioner.given],
                        "prefix": ["Dr."],
                    }
                ],
                "gender": practitioner.gender,
            }
        )
        specialty_code, specialty_display = department.template.specialty
        roles.append(
            {
                "resourceType": "PractitionerRole",
                "id": f"role-{practitioner.id.removeprefix('prac-')}",
                "active": True,
                "practitioner": _reference("Practitioner", practitioner.id),
                "organization": _reference("Organization", department.id),
                "code": [_concept(ref.PRACTITIONER_ROLE, "doctor", "Doctor")],
                "specialty": [_concept(ref.NUCC, specialty_code, specialty_display)],
                "location": [_reference("Location", system.units[unit].id) for unit in department.units],
            }
        )
    return {
        "Organization": organizations,
        "Location": locations,
        "Practitioner": practitioners,
        "PractitionerRole": roles,
    }


# Patients --------------------------------------------------------------------------------------------------


def _race_extension(system: str, code: str, display: str) -> dict[str, Any]:
    return {
        "url": ref.US_CORE_RACE,
        "extension": [
            {"url": "ombCategory", "valueCoding": _coding(system, code, display)},
            {"url": "text", "valueString": display},
        ],
    }


def _ethnicity_extension(system: str, code: str, display: str) -> dict[str, Any]:
    return {
        "url": ref.US_CORE_ETHNICITY,
        "extension": [
            {"url": "ombCategory", "valueCoding": _coding(system, code, display)},
            {"url": "text", "valueString": display},
        ],
    }


_RACE_EXTENSIONS = [_race_extension(*race) for race in ref.RACES]
_ETHNICITY_EXTENSIONS = [_ethnicity_extension(*ethnicity) for ethnicity in ref.ETHNICITIES]
_BIRTH_SEX = {
    True: {"url": ref.US_CORE_BIRTHSEX, "valueCode": "F"},
    False: {"url": ref.US_CORE_BIRTHSEX, "valueCode": "M"},
}
_MRN_TYPE = _concept(ref.IDENTIFIER_TYPE, "MR", "Medical record number")
_LANGUAGES = [
    {"language": {"coding": [_coding(ref.BCP47, code, display)], "text": display}, "preferred": True}
    for code, display in ref.LANGUAGES
]


def patient_ids(patients: Patients) -> list[str]:
    return [f"pat-{number:07d}" for number in patients.index.tolist()]


def patient_resources(system: HospitalSystem, clock: Clock, patients: Patients, ids: list[str]) -> Iterator[Resource]:
    births = clock.dates(patients.birth_day)
    deaths = clock.datetimes(patients.death_day)
    died = (~np.isnan(patients.death_day)).tolist()
    for row, patient_id in enumerate(ids):
        female = bool(patients.female[row])
        hospital = ref.HOSPITALS[int(patients.hospital[row])]
        given_names = ref.GIVEN_NAMES_FEMALE if female else ref.GIVEN_NAMES_MALE
        resource: Resource = {
            "resourceType": "Patient",
            "id": patient_id,
            "extension": [
                _RACE_EXTENSIONS[int(patients.race[row])],
                _ETHNICITY_EXTENSIONS[0 if patients.hispanic[row] else 1],
                _BIRTH_SEX[female],
            ],
            "identifier": [
                {
                    "use": "usual",
                    "type": _MRN_TYPE,
                    "system": ref.MRN_SYSTEM,
                    "value": f"M{int(patients.index[row]) + 1000000:08d}",
                }
            ],
            "name": [
                {
                    "use": "official",
                    "family": ref.FAMILY_NAMES[int(patients.family[row])],
                    "given": [given_names[int(patients.given[row]) % len(given_names)]],
                }
            ],
            "gender": "female" if female else "male",
            "birthDate": births[row],
            "address": [
                {
                    "use": "home",
                    "city": hospital.city,
                    "state": hospital.state,
                    "postalCode": hospital.postal_codes[int(patients.postal_code[row])],
                    "country": "US",
                }
            ],
            "communication": [_LANGUAGES[int(patients.language[row])]],
            "managingOrganization": _reference("Organization", system.hospital_ids[int(patients.hospital[row])]),
        }
        if died[row]:
            resource["deceasedDateTime"] = deaths[row]
        yield resource


def coverage_resources(clock: Clock, patients: Patients, ids: list[str]) -> Iterator[Resource]:
    starts = clock.dates(patients.coverage_from_day)
    switches = clock.dates(patients.medicare_from_day)
    last_days = clock.dates(patients.medicare_from_day - 1.0)
    deaths = clock.dates(patients.death_day)
    died = (~np.isnan(patients.death_day)).tolist()
    switching = (~np.isnan(patients.medicare_from_day)).tolist()
    self_relationship = _concept(ref.SUBSCRIBER_RELATIONSHIP, "self", "Self")

    def coverage(row: int, sequence: int, payer_index: int, start: str, end: str | None) -> Resource:
        payer = ref.PAYERS[payer_index]
        patient = _reference("Patient", ids[row])
        period = {"start": start} if end is None else {"start": start, "end": end}
        return {
            "resourceType": "Coverage",
            "id": f"{ids[row]}-cov{sequence}",
            "status": "active",
            "type": _concept(ref.SOURCE_OF_PAYMENT, payer.sopt_code, payer.sopt_display),
            "beneficiary": patient,
            "relationship": self_relationship,
            "period": period,
            "payor": [patient if payer.sopt_code == "81" else _reference("Organization", f"org-payer-{payer.key}")],
        }

    for row in range(len(ids)):
        # A death within the period ends the last coverage; turning 65 moves the patient to Medicare.
        death = deaths[row] if died[row] else None
        if switching[row] and (death is None or death > switches[row]):
            yield coverage(row, 1, int(patients.payer[row]), starts[row], last_days[row])
            yield coverage(row, 2, ref.PAYER_MEDICARE, switches[row], death)
        else:
            yield coverage(row, 1, int(patients.payer[row]), starts[row], death)


def problem_list_resources(clock: Clock, patients: Patients, ids: list[str]) -> Iterator[Resource]:
    rows, columns = np.nonzero(patients.comorbid)
    onsets = clock.datetimes(patients.comorbid_onset[rows, columns])
    codes = patients.comorbid_code[rows, columns].tolist()
    category = [_concept(ref.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
    for position, (row, column) in enumerate(zip(rows.tolist(), columns.tolist(), strict=True)):
        item = ref.COMORBIDITIES[column]
        code, display = item.codes[codes[position]]
        yield {
            "resourceType": "Condition",
            "id": f"{ids[row]}-pl-{item.key}",
            "clinicalStatus": _CLINICAL_ACTIVE,
            "verificationStatus": _CONFIRMED,
            "category": category,
            "code": _concept(ref.ICD10CM, code, display),
            "subject": _reference("Patient", ids[row]),
            "onsetDateTime": onsets[position],
            "recordedDate": onsets[position],
        }


_CLINICAL_ACTIVE = _concept(ref.CONDITION_CLINICAL, "active", "Active")
_CLINICAL_RESOLVED = _concept(ref.CONDITION_CLINICAL, "resolved", "Resolved")
_CONFIRMED = _concept(ref.CONDITION_VERIFICATION, "confirmed", "Confirmed")
_ENCOUNTER_DIAGNOSIS = [_concept(ref.CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")]
_USE_DISCHARGE = _concept(ref.DIAGNOSIS_ROLE, "DD", "Discharge diagnosis")
_USE_COMORBIDITY = _concept(ref.DIAGNOSIS_ROLE, "CM", "Comorbidity diagnosis")
_ATTENDER = [_concept(ref.PARTICIPATION_TYPE, "ATND", "attender")]
_CLASS = {
    "IMP": _coding(ref.ACT_CODE, "IMP", "inpatient encounter"),
    "EMER": _coding(ref.ACT_CODE, "EMER", "emergency"),
    "AMB": _coding(ref.ACT_CODE, "AMB", "ambulatory"),
}
_PRIORITY = [
    _concept(ref.ACT_PRIORITY, "EM", "emergency"),
    _concept(ref.ACT_PRIORITY, "UR", "urgent"),
    _concept(ref.ACT_PRIORITY, "EL", "elective"),
]
_ADMIT_SOURCE = [
    _concept(ref.ADMIT_SOURCE, "emd", "From accident/emergency department"),
    _concept(ref.ADMIT_SOURCE, "mp", "Medical Practitioner/physician referral"),
    _concept(ref.ADMIT_SOURCE, "gp", "General Practitioner referral"),
]
_DISPOSITION = [_concept(ref.DISCHARGE_DISPOSITION, code, display) for code, display in ref.DISPOSITIONS]
_SERVICE = {key: _concept(ref.SERVICE_LINE, key, display) for key, display in ref.SERVICE_LINES.items()}
_TYPE_INPATIENT = [_concept(ref.SNOMED, *ref.ENCOUNTER_TYPE_INPATIENT)]
_TYPE_ICU = [_concept(ref.SNOMED, *ref.ENCOUNTER_TYPE_ICU)]
_TYPE_EMERGENCY = [_concept(ref.SNOMED, *ref.ENCOUNTER_TYPE_EMERGENCY)]
_TYPE_CHECKUP = [_concept(ref.SNOMED, *ref.ENCOUNTER_TYPE_CHECKUP)]


def _encounter(
    system: HospitalSystem,
    encounter_id: str,
    patient_id: str,
    encounter_class: str,
    encounter_type: list[dict[str, Any]],
    service_line: str,
    start: str,
    end: str,
    unit: int,
    practitioner: int,
) -> Resource:
    location = system.units[unit]
    return {
        "resourceType": "Encounter",
        "id": encounter_id,
        "status": "finished",
        "class": _CLASS[encounter_class],
        "type": encounter_type,
        "serviceType": _SERVICE[service_line],
        "subject": _reference("Patient", patient_id),
        "participant": [
            {
                "type": _ATTENDER,
                "individual": _reference("Practitioner", system.practitioners[practitioner].id),
            }
        ],
        "period": {"start": start, "end": end},
        "location": [
            {
                "location": {"reference": f"Location/{location.id}", "display": location.name},
                "status": "completed",
                "period": {"start": start, "end": end},
            }
        ],
        "serviceProvider": _reference("Organization", system.hospital_ids[location.hospital]),
    }


def _condition(
    condition_id: str,
    patient_id: str,
    encounter_id: str,
    coding: ref.Coding,
    onset: str,
    recorded: str,
    abatement: str | None,
) -> Resource:
    resource: Resource = {
        "resourceType": "Condition",
        "id": condition_id,
        "clinicalStatus": _CLINICAL_RESOLVED if abatement else _CLINICAL_ACTIVE,
        "verificationStatus": _CONFIRMED,
        "category": _ENCOUNTER_DIAGNOSIS,
        "code": _concept(ref.ICD10CM, *coding),
        "subject": _reference("Patient", patient_id),
        "encounter": _reference("Encounter", encounter_id),
        "onsetDateTime": onset,
        "recordedDate": recorded,
    }
    if abatement:
        resource["abatementDateTime"] = abatement
    return resource


def _procedure(
    procedure_id: str, patient_id: str, encounter_id: str, coding: ref.Coding, start: str, end: str
) -> Resource:
    return {
        "resourceType": "Procedure",
        "id": procedure_id,
        "status": "completed",
        "code": _concept(ref.SNOMED, *coding),
        "subject": _reference("Patient", patient_id),
        "encounter": _reference("Encounter", encounter_id),
        "performedPeriod": {"start": start, "end": end},
    }


_HAC_SUFFIX = ("fall", "pressure-injury", "clabsi", "cauti")


def admission_resources(
    system: HospitalSystem, clock: Clock, patients: Patients, ids: list[str], admissions: Admissions
) -> dict[str, list[Resource]]:
    """Admissions with their ICU stays, diagnoses, device and surgical procedures, and medicines."""
    out: dict[str, list[Resource]] = {name: [] for name in ("Encounter", "Condition", "Procedure")}
    out["MedicationRequest"] = []
    out["MedicationAdministration"] = []
    starts = clock.datetimes(admissions.start)
    ends = clock.datetimes(admissions.end)
    icu_starts = clock.datetimes(admissions.icu_start)
    icu_ends = clock.datetimes(admissions.icu_end)
    procedure_starts = clock.datetimes(admissions.procedure_start)
    procedure_ends = clock.datetimes(admissions.procedure_start + 2.0 / 24.0)
    catheter_starts = clock.datetimes(admissions.catheter_start)
    catheter_ends = clock.datetimes(admissions.catheter_end)
    line_starts = clock.datetimes(admissions.central_line_start)
    line_ends = clock.datetimes(admissions.central_line_end)
    hac_days = (admissions.fall_day, admissions.pressure_day, admissions.clabsi_day, admissions.cauti_day)
    hac_times = [clock.datetimes(days) for days in hac_days]
    hac_present = [(~np.isnan(days)).tolist() for days in hac_days]
    comorbid_onsets = clock.datetimes(patients.comorbid_onset.ravel())
    comorbidity_count = len(ref.COMORBIDITIES)
    patient_rows = admissions.patient.tolist()
    sequences = admissions.sequence.tolist()
    cases = admissions.case.tolist()
    codes = admissions.code.tolist()
    departments = admissions.department.tolist()
    units = admissions.unit.tolist()
    practitioners = admissions.practitioner.tolist()
    priorities = admissions.priority.tolist()
    dispositions = admissions.disposition.tolist()
    icu = admissions.icu.tolist()
    icu_units = admissions.icu_unit.tolist()
    icu_practitioners = admissions.icu_practitioner.tolist()
    procedure = admissions.procedure.tolist()
    catheter = admissions.catheter.tolist()
    central_line = admissions.central_line.tolist()
    fall_codes = admissions.fall_code.tolist()
    pressure_codes = admissions.pressure_code.tolist()
    expired = ref.DISPOSITION_INDEX["exp"]
    medicine_rows, medicine_columns = np.nonzero(admissions.medicines)
    medicine_by_admission = np.searchsorted(medicine_rows, np.arange(admissions.start.size + 1))
    medicine_starts_days = admissions.medicine_start[medicine_rows, medicine_columns]
    medicine_ends_days = admissions.medicine_end[medicine_rows, medicine_columns]
    medicine_starts = clock.datetimes(medicine_starts_days)
    administration_counts = np.where(
        medicine_columns == ref.MEDICINE_INDEX["naloxone"],
        1,
        np.maximum(1, np.ceil(medicine_ends_days - medicine_starts_days)).astype(np.int64),
    )
    administration_owner = np.repeat(np.arange(medicine_rows.size), administration_counts)
    administration_first = np.r_[0, np.cumsum(administration_counts)[:-1]]
    administration_number = np.arange(administration_owner.size) - administration_first[administration_owner]
    administration_days = medicine_starts_days[administration_owner] + administration_number
    administration_starts = clock.datetimes(administration_days)
    administration_ends = clock.datetimes(administration_days + 5.0 / 1440.0)
    administration_by_request = np.r_[0, np.cumsum(administration_counts)].tolist()
    medicine_columns_list = medicine_columns.tolist()
    medicine_bounds = medicine_by_admission.tolist()

    encounters = out["Encounter"]
    conditions = out["Condition"]
    procedures = out["Procedure"]
    requests = out["MedicationRequest"]
    administrations = out["MedicationAdministration"]
    for row in range(len(patient_rows)):
        patient_row = patient_rows[row]
        patient_id = ids[patient_row]
        encounter_id = f"{patient_id}-adm{sequences[row]}"
        case = ref.CASES[cases[row]]
        department = system.departments[departments[row]]
        start, end = starts[row], ends[row]
        died = dispositions[row] == expired
        encounter = _encounter(
            system,
            encounter_id,
            patient_id,
            "IMP",
            _TYPE_INPATIENT,
            department.template.service_line,
            start,
            end,
            units[row],
            practitioners[row],
        )
        encounter["priority"] = _PRIORITY[priorities[row]]
        encounter["hospitalization"] = {
            "admitSource": _ADMIT_SOURCE[priorities[row]],
            "dischargeDisposition": _DISPOSITION[dispositions[row]],
        }
        diagnoses: list[dict[str, Any]] = []
        principal_id = f"{encounter_id}-dx1"
        conditions.append(
            _condition(
                principal_id, patient_id, encounter_id, case.codes[codes[row]], start, start, None if died else end
            )
        )
        diagnoses.append({"condition": _reference("Condition", principal_id), "use": _USE_DISCHARGE, "rank": 1})
        rank = 2
        comorbid_row = patients.comorbid[patient_row]
        for column in np.flatnonzero(comorbid_row).tolist():
            item = ref.COMORBIDITIES[column]
            coding = item.codes[int(patients.comorbid_code[patient_row, column])]
            if coding[0] == case.codes[codes[row]][0]:
                continue  # the principal diagnosis already says it
            condition_id = f"{encounter_id}-dx{rank}"
            onset = comorbid_onsets[patient_row * comorbidity_count + column]
            conditions.append(_condition(condition_id, patient_id, encounter_id, coding, onset, start, None))
            diagnoses.append(
                {"condition": _reference("Condition", condition_id), "use": _USE_COMORBIDITY, "rank": rank}
            )
            rank += 1
        for hac_index, suffix in enumerate(_HAC_SUFFIX):
            if not hac_present[hac_index][row]:
                continue
            onset = hac_times[hac_index][row]
            if hac_index == 0:
                coding = ref.HAC_FALL.codes[fall_codes[row]]
            elif hac_index == 1:
                coding = ref.HAC_PRESSURE_INJURY.codes[pressure_codes[row]]
            else:
                coding = ref.HACS[hac_index].codes[0]
            condition_id = f"{encounter_id}-hac-{suffix}"
            conditions.append(_condition(condition_id, patient_id, encounter_id, coding, onset, onset, None))
            diagnoses.append({"condition": _reference("Condition", condition_id), "use": _USE_DISCHARGE, "rank": rank})
            rank += 1
            if hac_index == 0:
                cause_id = f"{encounter_id}-hac-fall-cause"
                conditions.append(
                    _condition(cause_id, patient_id, encounter_id, ref.FALL_EXTERNAL_CAUSE, onset, onset, None)
                )
                diagnoses.append({"condition": _reference("Condition", cause_id), "use": _USE_DISCHARGE, "rank": rank})
                rank += 1
        encounter["diagnosis"] = diagnoses
        encounters.append(encounter)

        if icu[row]:
            icu_encounter = _encounter(
                system,
                f"{encounter_id}-icu",
                patient_id,
                "IMP",
                _TYPE_ICU,
                "critical-care",
                icu_starts[row],
                icu_ends[row],
                icu_units[row],
                icu_practitioners[row],
            )
            icu_encounter["partOf"] = _reference("Encounter", encounter_id)
            encounters.append(icu_encounter)
        if procedure[row] and case.procedure is not None:
            coding = case.procedure
            if case.key == "joint-replacement" and case.codes[codes[row]][0].startswith("M16"):
                coding = ref.PROCEDURE_TOTAL_HIP
            procedures.append(
                _procedure(
                    f"{encounter_id}-proc-surgery",
                    patient_id,
                    encounter_id,
                    coding,
                    procedure_starts[row],
                    procedure_ends[row],
                )
            )
        if catheter[row]:
            procedures.append(
                _procedure(
                    f"{encounter_id}-proc-urinary-catheter",
                    patient_id,
                    encounter_id,
                    ref.PROCEDURE_URINARY_CATHETER,
                    catheter_starts[row],
                    catheter_ends[row],
                )
            )
        if central_line[row]:
            procedures.append(
                _procedure(
                    f"{encounter_id}-proc-central-line",
                    patient_id,
                    encounter_id,
                    ref.PROCEDURE_CENTRAL_LINE,
                    line_starts[row],
                    line_ends[row],
                )
            )
        requester = _reference("Practitioner", system.practitioners[practitioners[row]].id)
        for position in range(medicine_bounds[row], medicine_bounds[row + 1]):
            medicine = ref.MEDICINES[medicine_columns_list[position]]
            request_id = f"{encounter_id}-rx-{medicine.key}"
            concept = _MEDICINE_CONCEPTS[medicine_columns_list[position]]
            requests.append(
                {
                    "resourceType": "MedicationRequest",
                    "id": request_id,
                    "status": "completed",
                    "intent": "order",
                    "medicationCodeableConcept": concept,
                    "subject": _reference("Patient", patient_id),
                    "encounter": _reference("Encounter", encounter_id),
                    "authoredOn": medicine_starts[position],
                    "requester": requester,
                    "dosageInstruction": [{"route": _ROUTES[medicine.route]}],
                }
            )
            request_reference = _reference("MedicationRequest", request_id)
            for number, administration in enumerate(
                range(administration_by_request[position], administration_by_request[position + 1]), start=1
            ):
                administrations.append(
                    {
                        "resourceType": "MedicationAdministration",
                        "id": f"{request_id}-{number}",
                        "status": "completed",
                        "medicationCodeableConcept": concept,
                        "subject": _reference("Patient", patient_id),
                        "context": _reference("Encounter", encounter_id),
                        "effectivePeriod": {
                            "start": administration_starts[administration],
                            "end": administration_ends[administration],
                        },
                        "request": request_reference,
                    }
                )
    return out


_MEDICINE_CONCEPTS = [_concept(ref.RXNORM, item.code, item.display) for item in ref.MEDICINES]
_ROUTES = {
    "oral": _concept(ref.SNOMED, "26643006", "Oral route"),
    "intravenous": _concept(ref.SNOMED, "47625008", "Intravenous route"),
    "subcutaneous": _concept(ref.SNOMED, "34206005", "Subcutaneous route"),
}
_DISCHARGED_HOME = _DISPOSITION[ref.DISPOSITION_INDEX["home"]]


def emergency_resources(
    system: HospitalSystem, clock: Clock, ids: list[str], visits: Visits
) -> dict[str, list[Resource]]:
    encounters: list[Resource] = []
    conditions: list[Resource] = []
    starts = clock.datetimes(visits.start)
    ends = clock.datetimes(visits.end)
    for row, (patient_row, sequence, unit, practitioner, diagnosis) in enumerate(
        zip(
            visits.patient.tolist(),
            visits.sequence.tolist(),
            visits.unit.tolist(),
            visits.practitioner.tolist(),
            visits.diagnosis.tolist(),
            strict=True,
        )
    ):
        patient_id = ids[patient_row]
        encounter_id = f"{patient_id}-ed{sequence}"
        condition_id = f"{encounter_id}-dx1"
        encounter = _encounter(
            system,
            encounter_id,
            patient_id,
            "EMER",
            _TYPE_EMERGENCY,
            "emergency-medicine",
            starts[row],
            ends[row],
            unit,
            practitioner,
        )
        encounter["priority"] = _PRIORITY[0]
        encounter["diagnosis"] = [
            {"condition": _reference("Condition", condition_id), "use": _USE_DISCHARGE, "rank": 1}
        ]
        encounter["hospitalization"] = {"dischargeDisposition": _DISCHARGED_HOME}
        encounters.append(encounter)
        conditions.append(
            _condition(
                condition_id,
                patient_id,
                encounter_id,
                ref.EMERGENCY_DIAGNOSES[diagnosis],
                starts[row],
                starts[row],
                ends[row],
            )
        )
    return {"Encounter": encounters, "Condition": conditions}


_VITAL_SIGNS = [_concept(ref.OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")]
_LABORATORY = [_concept(ref.OBSERVATION_CATEGORY, "laboratory", "Laboratory")]
_BP_PANEL = _concept(ref.LOINC, *ref.LOINC_BP_PANEL)
_SYSTOLIC = _concept(ref.LOINC, *ref.LOINC_SYSTOLIC)
_DIASTOLIC = _concept(ref.LOINC, *ref.LOINC_DIASTOLIC)
_HBA1C = _concept(ref.LOINC, *ref.LOINC_HBA1C)


def outpatient_resources(
    system: HospitalSystem, clock: Clock, ids: list[str], visits: Visits
) -> dict[str, list[Resource]]:
    encounters: list[Resource] = []
    observations: list[Resource] = []
    starts = clock.datetimes(visits.start)
    ends = clock.datetimes(visits.end)
    systolic = visits.systolic.tolist()
    diastolic = visits.diastolic.tolist()
    hba1c = visits.hba1c.tolist()
    for row, (patient_row, sequence, unit, practitioner) in enumerate(
        zip(
            visits.patient.tolist(),
            visits.sequence.tolist(),
            visits.unit.tolist(),
            visits.practitioner.tolist(),
            strict=True,
        )
    ):
        patient_id = ids[patient_row]
        encounter_id = f"{patient_id}-op{sequence}"
        encounters.append(
            _encounter(
                system,
                encounter_id,
                patient_id,
                "AMB",
                _TYPE_CHECKUP,
                "primary-care",
                starts[row],
                ends[row],
                unit,
                practitioner,
            )
        )
        subject = _reference("Patient", patient_id)
        encounter_reference = _reference("Encounter", encounter_id)
        if systolic[row] == systolic[row]:  # not NaN
            observations.append(
                {
                    "resourceType": "Observation",
                    "id": f"{encounter_id}-bp",
                    "status": "final",
                    "category": _VITAL_SIGNS,
                    "code": _BP_PANEL,
                    "subject": subject,
                    "encounter": encounter_reference,
                    "effectiveDateTime": starts[row],
                    "component": [
                        {"code": _SYSTOLIC, "valueQuantity": _mm_hg(systolic[row])},
                        {"code": _DIASTOLIC, "valueQuantity": _mm_hg(diastolic[row])},
                    ],
                }
            )
        if hba1c[row] == hba1c[row]:
            observations.append(
                {
                    "resourceType": "Observation",
                    "id": f"{encounter_id}-hba1c",
                    "status": "final",
                    "category": _LABORATORY,
                    "code": _HBA1C,
                    "subject": subject,
                    "encounter": encounter_reference,
                    "effectiveDateTime": starts[row],
                    "valueQuantity": {"value": hba1c[row], "unit": "%", "system": ref.UCUM, "code": "%"},
                }
            )
    return {"Encounter": encounters, "Observation": observations}


def _mm_hg(value: float) -> dict[str, Any]:
    return {"value": int(value), "unit": "mm[Hg]", "system": ref.UCUM, "code": "mm[Hg]"}


def chunk_resources(system: HospitalSystem, chunk: Chunk) -> dict[str, list[Resource]]:
    """All resources of one chunk of patients, by resource type, in a stable order."""
    clock = Clock(system.start)
    ids = patient_ids(chunk.patients)
    out: dict[str, list[Resource]] = {name: [] for name in RESOURCE_TYPES[4:]}
    out["Patient"].extend(patient_resources(system, clock, chunk.patients, ids))
    out["Coverage"].extend(coverage_resources(clock, chunk.patients, ids))
    out["Condition"].extend(problem_list_resources(clock, chunk.patients, ids))
    for part in (
        admission_resources(system, clock, chunk.patients, ids, chunk.admissions),
        emergency_resources(system, clock, ids, chunk.emergency),
        outpatient_resources(system, clock, ids, chunk.outpatient),
    ):
        for name, resources in part.items():
            out[name].extend(resources)
    return out
