"""Reference tables of the synthetic hospital: code systems, case mix, comorbidities, medicines, rates.

Every code is a real code in its system (ICD-10-CM FY2019-FY2025, SNOMED CT, LOINC, RxNorm, NUCC, OMB race and
ethnicity). RxNorm codes are taken from the VSAC value sets the eCQMs use (Low Molecular Weight Heparin for VTE
Prophylaxis, Low Dose Unfractionated Heparin for VTE Prophylaxis, Opioids All, Schedule IV Benzodiazepines,
Hypoglycemics Severe Hypoglycemia, Opioid Antagonist, Warfarin, Antithrombotic Therapy for Ischemic Stroke), so
measures built on those value sets find them. Comorbidity codes fall inside the Quan (2005) ICD-10 Charlson and
Elixhauser maps and the AHRQ Elixhauser Comorbidity Software Refined (CMR v2026.1).

Rates are national orders of magnitude, cited where they are set; the models around them live in ``simulate``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Code systems
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
NUCC = "http://nucc.org/provider-taxonomy"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
SOURCE_OF_PAYMENT = "https://nahdo.org/sopt"
SERVICE_LINE = "urn:medgov:service-line"
MRN_SYSTEM = "urn:medgov:mrn"
OMB_RACE_ETHNICITY = "urn:oid:2.16.840.1.113883.6.238"
BCP47 = "urn:ietf:bcp:47"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
US_CORE_BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"

Coding = tuple[str, str]  # (code, display)

SERVICE_LINES: dict[str, str] = {
    "general-medicine": "General Medicine",
    "cardiology": "Cardiology",
    "pulmonology": "Pulmonology",
    "neurology": "Neurology",
    "orthopaedics": "Orthopaedics",
    "general-surgery": "General Surgery",
    "critical-care": "Critical Care",
    "emergency-medicine": "Emergency Medicine",
    "psychiatry": "Psychiatry",
    "primary-care": "Primary Care",
}


@dataclass(frozen=True, slots=True)
class UnitTemplate:
    key: str
    name: str
    type_code: str  # v3-RoleCode
    type_display: str


@dataclass(frozen=True, slots=True)
class DepartmentTemplate:
    key: str
    name: str
    service_line: str
    specialty: Coding  # NUCC taxonomy
    units: tuple[UnitTemplate, ...]
    practitioners: int


_WARD = ("HU", "Hospital unit")
_ICU = ("ICU", "Intensive care unit")


def _ward(key: str, name: str) -> UnitTemplate:
    return UnitTemplate(key, name, *_WARD)


def _icu(key: str, name: str) -> UnitTemplate:
    return UnitTemplate(key, name, *_ICU)


@dataclass(frozen=True, slots=True)
class HospitalTemplate:
    key: str
    name: str
    city: str
    state: str
    postal_codes: tuple[str, ...]
    share_of_patients: float
    departments: tuple[DepartmentTemplate, ...]


def _departments(scale: float, *, tertiary: bool) -> tuple[DepartmentTemplate, ...]:
    def n(count: int) -> int:
        return max(2, round(count * scale))

    medicine_wards = (
        (_ward("med-4w", "4 West Medicine"), _ward("med-5e", "5 East Medicine"), _ward("med-6n", "6 North Medicine"))
        if tertiary
        else (_ward("med-2w", "2 West Medicine"), _ward("med-3e", "3 East Medicine"))
    )
    icus = (_icu("micu", "Medical ICU"), _icu("cvicu", "Cardiovascular ICU")) if tertiary else (_icu("icu", "ICU"),)
    departments = [
        DepartmentTemplate(
            "medicine", "Internal Medicine", "general-medicine", ("208M00000X", "Hospitalist"), medicine_wards, n(8)
        ),
        DepartmentTemplate(
            "cardiology",
            "Cardiology",
            "cardiology",
            ("207RC0000X", "Cardiovascular Disease Physician"),
            (_ward("cardiac", "Cardiac Step-Down"),),
            n(5),
        ),
        DepartmentTemplate(
            "orthopaedics",
            "Orthopaedic Surgery",
            "orthopaedics",
            ("207X00000X", "Orthopaedic Surgery Physician"),
            (_ward("ortho", "Orthopaedic and Joint Unit"),),
            n(4),
        ),
        DepartmentTemplate(
            "surgery",
            "General Surgery",
            "general-surgery",
            ("208600000X", "Surgery Physician"),
            (_ward("surg", "Surgical Ward"),),
            n(4),
        ),
        DepartmentTemplate(
            "critical-care",
            "Critical Care",
            "critical-care",
            ("207RC0200X", "Critical Care Medicine (Internal Medicine) Physician"),
            icus,
            n(4),
        ),
        DepartmentTemplate(
            "emergency",
            "Emergency Medicine",
            "emergency-medicine",
            ("207P00000X", "Emergency Medicine Physician"),
            (UnitTemplate("ed", "Emergency Department", "ER", "Emergency room"),),
            n(6),
        ),
        DepartmentTemplate(
            "primary-care",
            "Primary Care",
            "primary-care",
            ("207R00000X", "Internal Medicine Physician"),
            (UnitTemplate("clinic", "Primary Care Clinic", "GIM", "General internal medicine clinic"),),
            n(6),
        ),
    ]
    if tertiary or scale >= 0.7:
        departments.insert(
            2,
            DepartmentTemplate(
                "neurology",
                "Neurology",
                "neurology",
                ("2084N0400X", "Neurology Physician"),
                (_ward("stroke", "Stroke Unit"),),
                n(3),
            ),
        )
    if tertiary:
        departments.insert(
            2,
            DepartmentTemplate(
                "pulmonology",
                "Pulmonary Medicine",
                "pulmonology",
                ("207RP1001X", "Pulmonary Disease Physician"),
                (_ward("pulm", "Respiratory Unit"),),
                n(3),
            ),
        )
        departments.append(
            DepartmentTemplate(
                "psychiatry",
                "Psychiatry",
                "psychiatry",
                ("2084P0800X", "Psychiatry Physician"),
                (_ward("psych", "Inpatient Psychiatry"),),
                n(3),
            )
        )
    return tuple(departments)


HOSPITALS: tuple[HospitalTemplate, ...] = (
    HospitalTemplate(
        "riverside",
        "Riverside University Hospital",
        "Riverside",
        "MA",
        ("01840", "01841", "01843", "01844", "01845", "01850", "01851", "01852", "01854", "01810"),
        0.45,
        _departments(1.0, tertiary=True),
    ),
    HospitalTemplate(
        "northgate",
        "Northgate Community Hospital",
        "Northgate",
        "MA",
        ("01901", "01902", "01904", "01905", "01906", "01907", "01908", "01915"),
        0.30,
        _departments(0.75, tertiary=False),
    ),
    HospitalTemplate(
        "lakeshore",
        "Lakeshore Medical Center",
        "Lakeshore",
        "MA",
        ("01420", "01440", "01453", "01462", "01463", "01464", "01468", "01473"),
        0.25,
        _departments(0.6, tertiary=False),
    ),
)


@dataclass(frozen=True, slots=True)
class Payer:
    key: str
    name: str
    sopt_code: str
    sopt_display: str


# Source of Payment Typology (PHDSC/NAHDO v9): 1 Medicare, 2 Medicaid, 5 private, 81 self-pay.
PAYERS: tuple[Payer, ...] = (
    Payer("medicare", "Medicare", "1", "MEDICARE"),
    Payer("medicaid", "MassHealth (Medicaid)", "2", "MEDICAID"),
    Payer("blue-valley", "Blue Valley Health Plan", "5", "PRIVATE HEALTH INSURANCE"),
    Payer("summit", "Summit Health Insurance", "5", "PRIVATE HEALTH INSURANCE"),
    Payer("unity", "Unity Care Insurance", "5", "PRIVATE HEALTH INSURANCE"),
    Payer("self-pay", "Self-pay", "81", "Self-pay"),
)
PAYER_MEDICARE, PAYER_MEDICAID, PAYER_SELF = 0, 1, 5
PRIVATE_PAYERS = (2, 3, 4)


@dataclass(frozen=True, slots=True)
class Comorbidity:
    """A chronic condition carried by a patient and coded as a secondary diagnosis on each admission.

    ``prevalence_at_65`` and ``age_slope`` (log-odds per year) put adult prevalence in the range of CDC's
    National Health Interview Survey and the CMS Chronic Conditions Warehouse for Medicare beneficiaries
    (hypertension ~55 % at 65, diabetes ~25 %, CKD ~20 %, heart failure ~10 %, COPD ~10 %, AF ~10 %).
    ``mortality_weight`` and ``readmission_weight`` are log-odds increments of the same order as the AHRQ
    Elixhauser mortality and readmission index weights (CMR v2023.1) divided by about ten.
    """

    key: str
    codes: tuple[Coding, ...]
    prevalence_at_65: float
    age_slope: float
    mortality_weight: float
    readmission_weight: float
    admission_weight: float


COMORBIDITIES: tuple[Comorbidity, ...] = (
    Comorbidity("hypertension", (("I10", "Essential (primary) hypertension"),), 0.55, 0.045, 0.0, 0.02, 0.05),
    Comorbidity(
        "diabetes",
        (
            ("E11.9", "Type 2 diabetes mellitus without complications"),
            ("E11.65", "Type 2 diabetes mellitus with hyperglycemia"),
            ("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease"),
            ("E11.40", "Type 2 diabetes mellitus with diabetic neuropathy, unspecified"),
        ),
        0.25,
        0.03,
        0.05,
        0.10,
        0.20,
    ),
    Comorbidity(
        "ckd",
        (
            ("N18.30", "Chronic kidney disease, stage 3 unspecified"),
            ("N18.4", "Chronic kidney disease, stage 4 (severe)"),
            ("N18.5", "Chronic kidney disease, stage 5"),
            ("N18.6", "End stage renal disease"),
        ),
        0.16,
        0.06,
        0.35,
        0.30,
        0.35,
    ),
    Comorbidity(
        "chf",
        (
            ("I50.22", "Chronic systolic (congestive) heart failure"),
            ("I50.32", "Chronic diastolic (congestive) heart failure"),
            ("I50.42", "Chronic combined systolic (congestive) and diastolic (congestive) heart failure"),
            ("I50.9", "Heart failure, unspecified"),
        ),
        0.08,
        0.07,
        0.45,
        0.30,
        0.55,
    ),
    Comorbidity(
        "copd",
        (("J44.9", "Chronic obstructive pulmonary disease, unspecified"),),
        0.10,
        0.04,
        0.25,
        0.25,
        0.40,
    ),
    Comorbidity(
        "cancer",
        (
            ("C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung"),
            ("C50.911", "Malignant neoplasm of unspecified site of right female breast"),
            ("C61", "Malignant neoplasm of prostate"),
            ("C18.9", "Malignant neoplasm of colon, unspecified"),
            ("C25.9", "Malignant neoplasm of pancreas, unspecified"),
        ),
        0.06,
        0.05,
        0.45,
        0.25,
        0.35,
    ),
    Comorbidity(
        "metastatic",
        (
            ("C78.00", "Secondary malignant neoplasm of unspecified lung"),
            ("C79.51", "Secondary malignant neoplasm of bone"),
            ("C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
        ),
        0.0,  # only patients with cancer, see simulate
        0.0,
        1.10,
        0.45,
        0.50,
    ),
    Comorbidity(
        "dementia",
        (("F03.90", "Unspecified dementia without behavioral disturbance"),),
        0.02,
        0.12,
        0.45,
        0.15,
        0.30,
    ),
    Comorbidity(
        "atrial-fibrillation",
        (("I48.91", "Unspecified atrial fibrillation"),),
        0.07,
        0.08,
        0.20,
        0.15,
        0.25,
    ),
    Comorbidity("obesity", (("E66.9", "Obesity, unspecified"),), 0.30, -0.01, -0.05, 0.05, 0.05),
    Comorbidity(
        "depression",
        (("F32.9", "Major depressive disorder, single episode, unspecified"),),
        0.09,
        -0.01,
        0.05,
        0.20,
        0.15,
    ),
    Comorbidity(
        "liver",
        (("K74.60", "Unspecified cirrhosis of liver"),),
        0.015,
        0.01,
        0.80,
        0.35,
        0.40,
    ),
    Comorbidity(
        "pvd",
        (("I73.9", "Peripheral vascular disease, unspecified"),),
        0.05,
        0.07,
        0.20,
        0.15,
        0.20,
    ),
    Comorbidity(
        "alcohol",
        (("F10.20", "Alcohol dependence, uncomplicated"),),
        0.04,
        -0.02,
        0.30,
        0.35,
        0.35,
    ),
)
COMORBIDITY_INDEX = {item.key: index for index, item in enumerate(COMORBIDITIES)}


@dataclass(frozen=True, slots=True)
class Case:
    """An inpatient case type: principal diagnosis codes and its clinical course.

    ``mortality`` and ``readmission`` are the crude in-hospital mortality and 30-day all-cause readmission of the
    condition nationally (AHRQ HCUP Statistical Briefs on in-hospital mortality and readmissions, CMS Hospital
    Compare national rates for AMI, HF, pneumonia, COPD, stroke and THA/TKA), used as the intercept at the case
    mix's reference patient. ``los_days`` is the HCUP mean length of stay.
    """

    key: str
    codes: tuple[Coding, ...]
    department: str
    weight: float
    age_slope: float  # log-weight per year of age above 65
    comorbidity_boost: tuple[tuple[str, float], ...]
    los_days: float
    mortality: float
    readmission: float
    icu: float
    elective: float
    urgent: float
    procedure: Coding | None
    procedure_share: float


CASES: tuple[Case, ...] = (
    Case(
        "ami",
        (
            ("I21.4", "Non-ST elevation (NSTEMI) myocardial infarction"),
            ("I21.09", "ST elevation (STEMI) myocardial infarction involving other coronary artery of anterior wall"),
            ("I21.19", "ST elevation (STEMI) myocardial infarction involving other coronary artery of inferior wall"),
            ("I21.3", "ST elevation (STEMI) myocardial infarction of unspecified site"),
        ),
        "cardiology",
        0.07,
        0.02,
        (("diabetes", 0.4), ("hypertension", 0.3), ("pvd", 0.5)),
        4.5,
        0.045,
        0.15,
        0.30,
        0.0,
        0.15,
        ("415070008", "Percutaneous coronary intervention"),
        0.55,
    ),
    Case(
        "heart-failure",
        (
            ("I50.23", "Acute on chronic systolic (congestive) heart failure"),
            ("I50.33", "Acute on chronic diastolic (congestive) heart failure"),
            ("I50.43", "Acute on chronic combined systolic (congestive) and diastolic (congestive) heart failure"),
            ("I50.21", "Acute systolic (congestive) heart failure"),
            ("I50.9", "Heart failure, unspecified"),
        ),
        "cardiology",
        0.06,
        0.04,
        (("chf", 2.2), ("atrial-fibrillation", 0.4), ("ckd", 0.4)),
        5.0,
        0.03,
        0.21,
        0.10,
        0.0,
        0.10,
        None,
        0.0,
    ),
    Case(
        "pneumonia",
        (
            ("J18.9", "Pneumonia, unspecified organism"),
            ("J18.1", "Lobar pneumonia, unspecified organism"),
            ("J18.0", "Bronchopneumonia, unspecified organism"),
        ),
        "medicine",
        0.09,
        0.04,
        (("copd", 0.6), ("dementia", 0.5)),
        5.0,
        0.035,
        0.16,
        0.10,
        0.0,
        0.10,
        None,
        0.0,
    ),
    Case(
        "sepsis",
        (
            ("A41.9", "Sepsis, unspecified organism"),
            ("A41.51", "Sepsis due to Escherichia coli [E. coli]"),
            ("A41.01", "Sepsis due to Methicillin susceptible Staphylococcus aureus"),
        ),
        "medicine",
        0.07,
        0.04,
        (("cancer", 0.5), ("ckd", 0.4), ("diabetes", 0.3), ("dementia", 0.4)),
        7.5,
        0.11,
        0.18,
        0.40,
        0.0,
        0.10,
        None,
        0.0,
    ),
    Case(
        "stroke",
        (
            ("I63.9", "Cerebral infarction, unspecified"),
            ("I63.50", "Cerebral infarction due to unspecified occlusion or stenosis of unspecified cerebral artery"),
            ("I63.512", "Cerebral infarction due to unspecified occlusion or stenosis of left middle cerebral artery"),
            ("I63.411", "Cerebral infarction due to embolism of right middle cerebral artery"),
        ),
        "neurology",
        0.05,
        0.04,
        (("atrial-fibrillation", 0.7), ("hypertension", 0.3), ("diabetes", 0.2)),
        5.0,
        0.05,
        0.12,
        0.15,
        0.0,
        0.10,
        None,
        0.0,
    ),
    Case(
        "copd-exacerbation",
        (
            ("J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation"),
            ("J44.0", "Chronic obstructive pulmonary disease with (acute) lower respiratory infection"),
        ),
        "pulmonology",
        0.03,
        0.01,
        (("copd", 3.2),),
        4.0,
        0.015,
        0.19,
        0.08,
        0.0,
        0.10,
        None,
        0.0,
    ),
    Case(
        "hip-fracture",
        (
            ("S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"),
            ("S72.002A", "Fracture of unspecified part of neck of left femur, initial encounter for closed fracture"),
            ("S72.141A", "Displaced intertrochanteric fracture of right femur, initial encounter for closed fracture"),
            ("S72.142A", "Displaced intertrochanteric fracture of left femur, initial encounter for closed fracture"),
        ),
        "orthopaedics",
        0.035,
        0.09,
        (("dementia", 0.8),),
        5.5,
        0.03,
        0.12,
        0.05,
        0.0,
        0.30,
        ("52734007", "Total replacement of hip"),
        0.35,
    ),
    Case(
        "joint-replacement",
        (
            ("M17.11", "Unilateral primary osteoarthritis, right knee"),
            ("M17.12", "Unilateral primary osteoarthritis, left knee"),
            ("M16.11", "Unilateral primary osteoarthritis, right hip"),
            ("M16.12", "Unilateral primary osteoarthritis, left hip"),
        ),
        "orthopaedics",
        0.07,
        0.0,
        (("obesity", 0.5), ("dementia", -2.0), ("cancer", -1.0)),
        2.3,
        0.002,
        0.04,
        0.01,
        0.95,
        0.0,
        ("609588000", "Total knee replacement"),
        1.0,
    ),
    Case(
        "gi-bleed",
        (
            ("K92.2", "Gastrointestinal hemorrhage, unspecified"),
            ("K25.4", "Chronic or unspecified gastric ulcer with hemorrhage"),
        ),
        "medicine",
        0.04,
        0.03,
        (("liver", 1.2), ("atrial-fibrillation", 0.4), ("alcohol", 0.6)),
        4.2,
        0.02,
        0.14,
        0.10,
        0.0,
        0.15,
        None,
        0.0,
    ),
    Case(
        "uti",
        (
            ("N39.0", "Urinary tract infection, site not specified"),
            ("N10", "Acute pyelonephritis"),
        ),
        "medicine",
        0.05,
        0.05,
        (("dementia", 0.6), ("diabetes", 0.2)),
        3.8,
        0.01,
        0.14,
        0.03,
        0.0,
        0.15,
        None,
        0.0,
    ),
    Case(
        "acute-kidney-injury",
        (("N17.9", "Acute kidney failure, unspecified"),),
        "medicine",
        0.035,
        0.04,
        (("ckd", 1.0), ("diabetes", 0.3), ("chf", 0.4)),
        4.5,
        0.03,
        0.18,
        0.06,
        0.0,
        0.15,
        None,
        0.0,
    ),
    Case(
        "cellulitis",
        (
            ("L03.115", "Cellulitis of right lower limb"),
            ("L03.116", "Cellulitis of left lower limb"),
        ),
        "medicine",
        0.04,
        0.0,
        (("diabetes", 0.5), ("obesity", 0.4), ("pvd", 0.4)),
        4.0,
        0.004,
        0.09,
        0.02,
        0.0,
        0.15,
        None,
        0.0,
    ),
    Case(
        "atrial-fibrillation",
        (("I48.91", "Unspecified atrial fibrillation"), ("I48.0", "Paroxysmal atrial fibrillation")),
        "cardiology",
        0.04,
        0.03,
        (("atrial-fibrillation", 1.0), ("hypertension", 0.2)),
        3.2,
        0.01,
        0.13,
        0.05,
        0.05,
        0.20,
        None,
        0.0,
    ),
    Case(
        "cholecystitis",
        (
            ("K80.00", "Calculus of gallbladder with acute cholecystitis without obstruction"),
            ("K35.80", "Unspecified acute appendicitis"),
        ),
        "surgery",
        0.05,
        -0.02,
        (("obesity", 0.3),),
        3.0,
        0.004,
        0.07,
        0.03,
        0.05,
        0.40,
        None,
        0.0,
    ),
    Case(
        "colectomy",
        (
            ("C18.7", "Malignant neoplasm of sigmoid colon"),
            ("K57.32", "Diverticulitis of large intestine without perforation or abscess without bleeding"),
        ),
        "surgery",
        0.025,
        0.01,
        (("cancer", 0.6),),
        6.0,
        0.015,
        0.12,
        0.12,
        0.70,
        0.10,
        None,
        0.0,
    ),
    Case(
        "diabetic-ketoacidosis",
        (("E11.10", "Type 2 diabetes mellitus with ketoacidosis without coma"),),
        "medicine",
        0.004,
        -0.02,
        (("diabetes", 3.0),),
        3.0,
        0.005,
        0.17,
        0.35,
        0.0,
        0.10,
        None,
        0.0,
    ),
    Case(
        "major-depression",
        (
            ("F33.2", "Major depressive disorder, recurrent severe without psychotic features"),
            ("F20.9", "Schizophrenia, unspecified"),
            ("F31.2", "Bipolar disorder, current episode manic severe with psychotic features"),
        ),
        "psychiatry",
        0.035,
        -0.05,
        (("depression", 1.5), ("alcohol", 0.5)),
        8.0,
        0.001,
        0.15,
        0.0,
        0.0,
        0.30,
        None,
        0.0,
    ),
)
CASE_INDEX = {case.key: index for index, case in enumerate(CASES)}

# Readmissions for the same condition family are common (CMS: about a third of HF readmissions are for HF).
READMISSION_SAME_CASE_SHARE = 0.35

# Discharge dispositions, in the order the simulation samples them.
DISPOSITIONS: tuple[Coding, ...] = (
    ("home", "Home"),
    ("alt-home", "Alternative home"),
    ("snf", "Skilled nursing facility"),
    ("rehab", "Rehabilitation"),
    ("hosp", "Hospice"),
    ("other-hcf", "Other healthcare facility"),
    ("long", "Long-term care"),
    ("aadvice", "Left against advice"),
    ("psy", "Psychiatric hospital"),
    ("exp", "Expired"),
)
DISPOSITION_INDEX = {code: index for index, (code, _) in enumerate(DISPOSITIONS)}
# Base shares for live discharges (HCUP National Inpatient Sample: ~65 % routine, ~16 % home health,
# ~15 % to a facility, ~1.3 % against medical advice, ~1 % transfer to another acute hospital).
DISPOSITION_BASE_SHARE: tuple[float, ...] = (0.64, 0.15, 0.10, 0.035, 0.02, 0.015, 0.01, 0.015, 0.005)

ENCOUNTER_TYPE_INPATIENT: Coding = ("183452005", "Encounter Inpatient")
ENCOUNTER_TYPE_ICU: Coding = ("305351004", "Admission to intensive care unit")
ENCOUNTER_TYPE_EMERGENCY: Coding = ("50849002", "Emergency room admission")
ENCOUNTER_TYPE_CHECKUP: Coding = ("390906007", "Follow-up encounter")


@dataclass(frozen=True, slots=True)
class HospitalAcquiredCondition:
    """A condition arising after admission.

    ``rate_per_1000_days`` is per patient-day or per device-day: NDNQI falls with injury about 0.7 per 1,000
    patient-days; hospital-acquired pressure injuries stage 2+ about 3 % of admissions (AHRQ National Scorecard
    on Hospital-Acquired Conditions 2019), CLABSI about 0.8 per 1,000 central-line days and CAUTI about 1.0 per
    1,000 catheter-days (CDC NHSN national baselines).
    """

    key: str
    codes: tuple[Coding, ...]
    rate_per_1000_days: float


HAC_FALL = HospitalAcquiredCondition(
    "fall-with-injury",
    (
        ("S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"),
        ("S06.0X0A", "Concussion without loss of consciousness, initial encounter"),
        ("S52.501A", "Unspecified fracture of the lower end of right radius, initial encounter for closed fracture"),
        ("S01.01XA", "Laceration without foreign body of scalp, initial encounter"),
    ),
    0.5,
)
# External cause recorded with each injury so falls are identifiable apart from their injury code.
FALL_EXTERNAL_CAUSE: Coding = ("W19.XXXA", "Unspecified fall, initial encounter")
HAC_PRESSURE_INJURY = HospitalAcquiredCondition(
    "pressure-injury",
    (
        ("L89.152", "Pressure ulcer of sacral region, stage 2"),
        ("L89.153", "Pressure ulcer of sacral region, stage 3"),
        ("L89.154", "Pressure ulcer of sacral region, stage 4"),
        ("L89.612", "Pressure ulcer of right heel, stage 2"),
        ("L89.623", "Pressure ulcer of left heel, stage 3"),
    ),
    4.0,
)
HAC_CLABSI = HospitalAcquiredCondition(
    "clabsi",
    (("T80.211A", "Bloodstream infection due to central venous catheter, initial encounter"),),
    0.8,
)
HAC_CAUTI = HospitalAcquiredCondition(
    "cauti",
    (("T83.511A", "Infection and inflammatory reaction due to indwelling urethral catheter, initial encounter"),),
    1.0,
)
HACS: tuple[HospitalAcquiredCondition, ...] = (HAC_FALL, HAC_PRESSURE_INJURY, HAC_CLABSI, HAC_CAUTI)

PROCEDURE_URINARY_CATHETER: Coding = ("45211000", "Catheterization of urinary bladder")
PROCEDURE_CENTRAL_LINE: Coding = ("233527006", "Central venous cannula insertion")
PROCEDURE_TOTAL_HIP: Coding = ("52734007", "Total replacement of hip")


@dataclass(frozen=True, slots=True)
class Medicine:
    key: str
    code: str
    display: str
    route: str


MEDICINES: tuple[Medicine, ...] = (
    Medicine("enoxaparin", "854235", "0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe", "subcutaneous"),
    Medicine("heparin", "1659263", "1 ML heparin sodium, porcine 5000 UNT/ML Injection", "subcutaneous"),
    Medicine("apixaban", "1364445", "apixaban 5 MG Oral Tablet", "oral"),
    Medicine("warfarin", "855332", "warfarin sodium 5 MG Oral Tablet", "oral"),
    Medicine("morphine", "2003714", "1 ML morphine sulfate 2 MG/ML Injection", "intravenous"),
    Medicine("hydromorphone", "897653", "1 ML hydromorphone hydrochloride 1 MG/ML Injection", "intravenous"),
    Medicine("oxycodone", "1049621", "oxycodone hydrochloride 5 MG Oral Tablet", "oral"),
    Medicine("lorazepam", "1665188", "1 ML lorazepam 2 MG/ML Injection", "intravenous"),
    Medicine("alprazolam", "308048", "alprazolam 0.5 MG Oral Tablet", "oral"),
    Medicine("insulin-regular", "311034", "insulin, regular, human 100 UNT/ML Injectable Solution", "subcutaneous"),
    Medicine("insulin-glargine", "311041", "insulin glargine 100 UNT/ML Injectable Solution", "subcutaneous"),
    Medicine("naloxone", "1659929", "1 ML naloxone hydrochloride 0.4 MG/ML Injection", "intravenous"),
)
MEDICINE_INDEX = {item.key: index for index, item in enumerate(MEDICINES)}

# Reasons for treat-and-release emergency visits (CDC NHAMCS 2019 leading reasons).
EMERGENCY_DIAGNOSES: tuple[Coding, ...] = (
    ("R07.9", "Chest pain, unspecified"),
    ("R10.9", "Unspecified abdominal pain"),
    ("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"),
    ("J06.9", "Acute upper respiratory infection, unspecified"),
    ("N39.0", "Urinary tract infection, site not specified"),
    ("R55", "Syncope and collapse"),
    ("R42", "Dizziness and giddiness"),
    ("M54.9", "Dorsalgia, unspecified"),
    ("S61.411A", "Laceration without foreign body of right hand, initial encounter"),
    ("G43.909", "Migraine, unspecified, not intractable, without status migrainosus"),
    ("K59.00", "Constipation, unspecified"),
    ("J45.901", "Unspecified asthma with (acute) exacerbation"),
)

LOINC_BP_PANEL: Coding = ("85354-9", "Blood pressure panel with all children optional")
LOINC_SYSTOLIC: Coding = ("8480-6", "Systolic blood pressure")
LOINC_DIASTOLIC: Coding = ("8462-4", "Diastolic blood pressure")
LOINC_HBA1C: Coding = ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood")

# OMB categories (US Core race and ethnicity); shares from the 2020 US Census, Hispanic origin asked separately.
RACES: tuple[tuple[str, str, str], ...] = (
    (OMB_RACE_ETHNICITY, "2106-3", "White"),
    (OMB_RACE_ETHNICITY, "2054-5", "Black or African American"),
    (OMB_RACE_ETHNICITY, "2028-9", "Asian"),
    (OMB_RACE_ETHNICITY, "1002-5", "American Indian or Alaska Native"),
    (OMB_RACE_ETHNICITY, "2076-8", "Native Hawaiian or Other Pacific Islander"),
    (NULL_FLAVOR, "UNK", "Unknown"),
)
RACE_SHARE_NON_HISPANIC = (0.72, 0.14, 0.07, 0.01, 0.003, 0.057)
RACE_SHARE_HISPANIC = (0.60, 0.05, 0.01, 0.02, 0.002, 0.318)
ETHNICITIES: tuple[tuple[str, str, str], ...] = (
    (OMB_RACE_ETHNICITY, "2135-2", "Hispanic or Latino"),
    (OMB_RACE_ETHNICITY, "2186-5", "Not Hispanic or Latino"),
)
HISPANIC_SHARE = 0.17

LANGUAGES: tuple[Coding, ...] = (
    ("en", "English"),
    ("es", "Spanish"),
    ("zh", "Chinese"),
    ("vi", "Vietnamese"),
    ("pt", "Portuguese"),
    ("ht", "Haitian Creole"),
    ("ru", "Russian"),
    ("ar", "Arabic"),
)

FAMILY_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Chen", "Wang", "Patel", "Kim", "Tran", "Silva", "Murphy", "Sullivan", "O'Brien", "Kelly",
)  # fmt: skip
GIVEN_NAMES_FEMALE: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Dorothy", "Emily", "Donna", "Michelle",
    "Carol", "Amanda", "Melissa", "Deborah", "Maria", "Ana", "Mei", "Linh", "Aisha", "Rosa",
)  # fmt: skip
GIVEN_NAMES_MALE: tuple[str, ...] = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua",
    "Kenneth", "Kevin", "Brian", "George", "Jose", "Luis", "Wei", "Minh", "Omar", "Carlos",
)  # fmt: skip
