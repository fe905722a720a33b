"""Code lists the measures use, each citing where it comes from.

VSAC value sets are given by OID with their expansion (the codes in the eCQM content release that CMS529 and
CMS844 use, QI-Core 4.1.1 / FHIR R4); ICD-10-CM lists are prefixes, matched against codes with the dot kept
(``I21`` matches ``I21.4``), and cite the indicator specification that defines them.
"""

from __future__ import annotations

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SOURCE_OF_PAYMENT_TYPOLOGY = "https://nahdo.org/sopt"

# VSAC 2.16.840.1.113883.3.666.5.307 "Encounter Inpatient".
ENCOUNTER_INPATIENT: tuple[str, ...] = ("183452005", "32485007", "8715000")
# VSAC 2.16.840.1.113762.1.4.1111.143 "Observation Services".
OBSERVATION_SERVICES: tuple[str, ...] = ("448951000124107",)
# VSAC 2.16.840.1.113883.3.117.1.7.1.292 "Emergency Department Visit".
EMERGENCY_DEPARTMENT_VISIT: tuple[str, ...] = ("4525004",)
# VSAC 2.16.840.1.113762.1.4.1110.38 "Outpatient Surgery Service".
OUTPATIENT_SURGERY_SERVICE: tuple[str, ...] = ("110468005", "709063003", "711580002")
# VSAC 2.16.840.1.113762.1.4.1104.10 "Medicare FFS payer" and 2.16.840.1.113762.1.4.1104.12 "Medicare Advantage
# payer" (Source of Payment Typology codes).
MEDICARE_FFS_PAYER: tuple[str, ...] = ("1", "12", "121", "122", "129", "13", "14", "141", "142", "19", "191")
MEDICARE_ADVANTAGE_PAYER: tuple[str, ...] = (
    "11", "111", "1111", "1112", "112", "113", "119", "123", "13", "14", "141", "142", "19", "191",
)  # fmt: skip
MEDICARE_PAYER: tuple[str, ...] = tuple(sorted(set(MEDICARE_FFS_PAYER) | set(MEDICARE_ADVANTAGE_PAYER)))

# Encounter.class (v3-ActCode) of an emergency department visit.
EMERGENCY_CLASS: tuple[str, ...] = ("EMER",)
# Location.type (v3-RoleCode) of an intensive care unit, and the SNOMED CT encounter type of an ICU stay.
INTENSIVE_CARE_UNIT_LOCATION: tuple[str, ...] = ("ICU",)
ICU_ADMISSION_TYPE: tuple[str, ...] = ("305351004",)

# Discharge dispositions (http://terminology.hl7.org/CodeSystem/discharge-disposition).
DISPOSITION_EXPIRED = "exp"
DISPOSITION_AGAINST_ADVICE = "aadvice"
DISPOSITION_OTHER_HEALTHCARE_FACILITY = "other-hcf"  # transfer to another (acute) healthcare facility

# --- principal-diagnosis cohorts, ICD-10-CM prefixes ------------------------------------------------------
# AHRQ Inpatient Quality Indicators v2024, IQI 15 (AMI mortality): I21, I22.
ACUTE_MYOCARDIAL_INFARCTION: tuple[str, ...] = ("I21", "I22")
# AHRQ IQI 16 (heart failure mortality): heart failure and hypertensive heart (and kidney) disease with failure.
HEART_FAILURE: tuple[str, ...] = ("I50", "I11.0", "I13.0", "I13.2", "I09.81")
# AHRQ IQI 20 (pneumonia mortality): viral and bacterial pneumonia, organism unspecified.
PNEUMONIA: tuple[str, ...] = ("J12", "J13", "J14", "J15", "J16", "J17", "J18")
# Sepsis as in the CMS SEP-1 / Sepsis-3 ICD-10-CM principal diagnoses: A40, A41, R65.2.
SEPSIS: tuple[str, ...] = ("A40", "A41", "R65.2")
# AHRQ IQI 17 (acute stroke mortality): subarachnoid, intracerebral haemorrhage and ischaemic stroke.
STROKE: tuple[str, ...] = ("I60", "I61", "I63")

# CMS hospital-wide readmission (HWR) cohort exclusions that the data can express, by principal diagnosis:
# psychiatric diagnoses (ICD-10-CM chapter F, dementia F01-F03 excepted, which CMS keeps in the neurology
# cohort) and rehabilitation care (Z50, Z51.89; AHRQ CCS 254).
PSYCHIATRIC_PRINCIPAL: tuple[str, ...] = ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F04", "F05")
REHABILITATION_PRINCIPAL: tuple[str, ...] = ("Z50", "Z51.89")
# CMS planned readmission algorithm v4.0, "always planned" principal diagnoses that ICD-10-CM can show without
# procedure codes: maintenance chemotherapy (Z51.0 radiotherapy, Z51.1x chemotherapy and immunotherapy),
# rehabilitation (Z50, Z51.89) and organ donation (Z52).
ALWAYS_PLANNED_PRINCIPAL: tuple[str, ...] = ("Z51.0", "Z51.1", "Z50", "Z51.89", "Z52")
# Acute principal diagnoses that make an elective-looking readmission unplanned (the algorithm's "acute
# condition" list, reduced to its large groups: acute cardiac and cerebrovascular events, infections,
# injuries and poisonings, acute complications of care).
ACUTE_PRINCIPAL: tuple[str, ...] = (
    "I21", "I22", "I50", "I46", "I47", "I48", "I49", "I60", "I61", "I63", "I26", "J1", "J69", "J80", "J96",
    "A40", "A41", "R65.2", "N17", "N39.0", "K35", "K56", "K92", "E87", "S", "T",
)  # fmt: skip

# --- hospital-acquired conditions ---------------------------------------------------------------------------
# NQF 0202 / NDNQI falls with injury: a fall (ICD-10-CM external cause W00-W19) recorded during the stay.
FALL_EXTERNAL_CAUSE: tuple[str, ...] = (
    "W00", "W01", "W02", "W03", "W04", "W05", "W06", "W07", "W08", "W09", "W10", "W11", "W12", "W13", "W14",
    "W15", "W16", "W17", "W18", "W19",
)  # fmt: skip
# NDNQI hospital-acquired pressure injury stage 2 or worse (AHRQ PSI 03 pressure ulcer stages 3-4 and
# unstageable are a subset): L89 with a 6th character 2 (stage 2), 3, 4, 0 (unstageable) or 6 (deep tissue).
PRESSURE_INJURY_STAGE_2_PLUS_SIXTH_CHARACTER: tuple[str, ...] = ("2", "3", "4", "0", "6")
# NHSN CAUTI and CLABSI as ICD-10-CM complications of the device: T83.51 (infection due to indwelling urinary
# catheter), T80.21 (bloodstream infection due to central venous catheter).
CATHETER_ASSOCIATED_URINARY_TRACT_INFECTION: tuple[str, ...] = ("T83.51",)
CENTRAL_LINE_BLOODSTREAM_INFECTION: tuple[str, ...] = ("T80.21",)
# Device procedures (SNOMED CT): indwelling urinary catheter insertion, central venous catheter insertion.
URINARY_CATHETER_PROCEDURE: tuple[str, ...] = ("45211000", "23973005", "68566005")
CENTRAL_LINE_PROCEDURE: tuple[str, ...] = ("233527006", "392230005", "233528001")
