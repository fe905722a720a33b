"""30-day all-cause unplanned readmission, after the CMS hospital-wide readmission (HWR) measure.

Definition: CMS "Hospital-Wide All-Cause Unplanned Readmission Measure" (Yale CORE, 2024 All-Cause
Hospital-Wide Measure Updates and Specifications Report, version 13.0) with the Planned Readmission Algorithm
version 4.0, and its hybrid eCQM CMS529 (eCQM FHIR ``CMSFHIR529HybridHospitalWideReadmission`` 0.1.001).

* Index admissions: the initial population of CMS529 (see :mod:`medgov.analytics.measures.cohorts`): a
  finished inpatient encounter discharged in the period whose hospitalisation lasts under 365 days. The CMS
  cohort (``hybrid-hospital-wide-readmission``) keeps patients aged 65 or more with Medicare FFS or Medicare
  Advantage coverage, as CMS529 does; the all-payer cohort (``readmission-30-day``) keeps adults aged 18 or
  more, whatever their payer, as hospitals monitor it internally.
* Denominator exclusions (HWR cohort exclusions the data can express): died in hospital (disposition
  ``exp`` or a recorded death by the discharge day); discharged against medical advice (``aadvice``);
  transferred to another acute care facility (``other-hcf``: the outcome belongs to the receiving
  hospital); admitted for psychiatric care or rehabilitation (principal ICD-10-CM diagnosis in chapter F
  other than dementia, or Z50/Z51.89).
* Numerator: an unplanned inpatient admission of the same patient to any hospital in the warehouse starting
  after the index discharge and within 30 days of its discharge day.
* Planned readmissions (not counted): always-planned principal diagnoses (maintenance chemotherapy and
  radiotherapy Z51.0/Z51.1, rehabilitation Z50/Z51.89, organ donation Z52), and elective admissions
  (Encounter.priority ``EL``) whose principal diagnosis is not acute.

Simplified, because the warehouse does not carry what CMS uses: there are no Medicare claims, so the
12-month prior enrolment requirement and the post-discharge enrolment check are not applied; transplant and
potentially planned procedures are recognised by the admission being elective rather than by the AHRQ CCS
procedure categories (the "potentially planned procedure" list), and the acute-diagnosis list is reduced to
its large groups; medical treatment of cancer, an HWR exclusion, is not excluded; transfers are not chained
(CMS attributes a transfer chain to its last hospital and excludes the transferring admission, as here, but
also counts the chain as one stay); same-day readmissions to the same hospital count as readmissions. The
risk model is a local logistic model on age, sex, admission type and the Charlson score, not CMS's
hierarchical model with condition-category risk variables and specialty cohorts.
"""

from __future__ import annotations

import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.cohorts import (
    died_during_stay,
    index_admissions,
    inpatient_encounters,
    principal_diagnoses,
    starts_with_any,
)
from medgov.analytics.measures.registry import register
from medgov.analytics.measures.spec import (
    ImprovementNotation,
    MeasureContext,
    MeasureSpec,
    Populations,
    RiskModelKind,
    RiskModelSpec,
    Scoring,
    Source,
    UnitOfAnalysis,
)

READMISSION_WINDOW_DAYS = 30
DEFINITION = (
    "CMS Hospital-Wide All-Cause Unplanned Readmission (Yale CORE 2024 specifications v13.0, Planned "
    "Readmission Algorithm v4.0); hybrid eCQM CMS529 (CMSFHIR529HybridHospitalWideReadmission 0.1.001)"
)


def planned(admissions: ir.Table) -> ir.BooleanValue:
    """CMS Planned Readmission Algorithm v4.0 as far as the data allows (see the module docstring)."""
    always = starts_with_any(admissions.principal_code, vs.ALWAYS_PLANNED_PRINCIPAL)
    elective = (admissions.priority_code == "EL").fill_null(False)
    acute = starts_with_any(admissions.principal_code, vs.ACUTE_PRINCIPAL)
    return always | (elective & ~acute)


def with_readmission(context: MeasureContext, index: ir.Table) -> ir.Table:
    """Add ``readmitted``: an unplanned admission within 30 days of the index discharge."""
    admissions = inpatient_encounters(context)
    principal = principal_diagnoses(context)
    admissions = admissions.left_join(principal, admissions.id == principal.encounter_id)
    unplanned = admissions.filter(~planned(admissions)).select(
        readmission_patient_id=admissions.patient_id,
        readmission_id=admissions.id,
        readmission_start=admissions.period_start,
    )
    stays = index.select("subject_id", "patient_id", "encounter_id", "discharge_time")
    pairs = stays.join(
        unplanned,
        [
            stays.patient_id == unplanned.readmission_patient_id,
            unplanned.readmission_id != stays.encounter_id,
            unplanned.readmission_start > stays.discharge_time,
            unplanned.readmission_start.date().delta(stays.discharge_time.date(), unit="day")
            <= READMISSION_WINDOW_DAYS,
        ],
    )
    readmitted = pairs.select(readmitted_subject_id=pairs.subject_id).distinct()
    joined = index.left_join(readmitted, index.subject_id == readmitted.readmitted_subject_id)
    return joined.mutate(readmitted=joined.readmitted_subject_id.notnull()).drop("readmitted_subject_id")


def _initial_population(*, minimum_age: int, medicare_only: bool):  # type: ignore[no-untyped-def]
    def initial_population(context: MeasureContext) -> ir.Table:
        index = index_admissions(context, minimum_age=minimum_age, medicare_only=medicare_only)
        return with_readmission(context, index)

    return initial_population


def excluded(index: ir.Table) -> ir.BooleanValue:
    """HWR cohort exclusions the data can express (see the module docstring)."""
    disposition = index.discharge_disposition_code
    return (
        died_during_stay(index)
        | (disposition == vs.DISPOSITION_AGAINST_ADVICE).fill_null(False)
        | (disposition == vs.DISPOSITION_OTHER_HEALTHCARE_FACILITY).fill_null(False)
        | starts_with_any(index.principal_code, vs.PSYCHIATRIC_PRINCIPAL)
        | starts_with_any(index.principal_code, vs.REHABILITATION_PRINCIPAL)
    )


def readmitted(index: ir.Table) -> ir.BooleanValue:
    return index.readmitted


RISK_MODEL = RiskModelSpec(RiskModelKind.LOGISTIC, ("age_years", "sex", "admission_type", "charlson"))

ALL_PAYER = register(
    MeasureSpec(
        id="readmission-30-day",
        version="1.0.0",
        title="30-day all-cause unplanned readmission (all payers, adults)",
        description=(
            "Share of adult inpatient discharges followed by an unplanned inpatient admission within 30 days, "
            "whatever the payer; index admissions selected as in CMS529."
        ),
        rationale=(
            "Unplanned readmissions soon after discharge often reflect incomplete treatment, poor care "
            "transitions or discharge planning; CMS holds hospitals accountable for them (HRRP)."
        ),
        source=Source.CMS,
        definition=DEFINITION,
        scoring=Scoring.PROPORTION,
        improvement_notation=ImprovementNotation.DECREASE,
        unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
        populations=Populations(
            initial_population=_initial_population(minimum_age=18, medicare_only=False),
            denominator_exclusion=excluded,
            numerator=readmitted,
        ),
        risk_model=RISK_MODEL,
        simplifications=(
            "no Medicare enrolment checks",
            "planned readmissions by elective priority and principal diagnosis, not CCS procedure lists",
            "cancer treatment admissions not excluded",
            "transfers not chained",
        ),
    )
)

CMS_COHORT = register(
    MeasureSpec(
        id="hybrid-hospital-wide-readmission",
        version="1.0.0",
        title="Hybrid hospital-wide 30-day readmission (CMS529 cohort: Medicare, 65+)",
        description=(
            "Share of discharges of Medicare FFS or Medicare Advantage patients aged 65 or more followed by an "
            "unplanned inpatient admission within 30 days; the initial population is CMS529's."
        ),
        rationale=ALL_PAYER.rationale,
        source=Source.CMS,
        definition=DEFINITION,
        scoring=Scoring.PROPORTION,
        improvement_notation=ImprovementNotation.DECREASE,
        unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
        populations=Populations(
            initial_population=_initial_population(minimum_age=65, medicare_only=True),
            denominator_exclusion=excluded,
            numerator=readmitted,
        ),
        risk_model=RISK_MODEL,
        simplifications=ALL_PAYER.simplifications,
    )
)
