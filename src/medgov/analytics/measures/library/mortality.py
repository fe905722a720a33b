"""In-hospital mortality: all inpatients, and the AMI, heart failure, pneumonia, sepsis and stroke cohorts.

Definitions: index encounters as in the initial population of CMS844 "Hybrid Hospital-Wide Mortality"
(eCQM FHIR ``CMSFHIR844HybridHospitalWideMortality`` 0.1.001; see :mod:`medgov.analytics.measures.cohorts`);
the condition cohorts and exclusions after the AHRQ Inpatient Quality Indicators v2024: IQI 15 (AMI),
IQI 16 (heart failure), IQI 17 (acute stroke), IQI 20 (pneumonia), IQI 91 (mortality for selected
conditions), and sepsis by the principal diagnoses of CMS SEP-1 (A40, A41, R65.2).

* Initial population: finished inpatient encounters discharged in the period, hospitalisation under 365
  days. ``hybrid-hospital-wide-mortality`` keeps CMS844's cohort exactly (Medicare FFS or Advantage, aged 65
  to 94); ``in-hospital-mortality`` and the condition cohorts keep adults aged 18 or more of any payer, the
  cohorts restricted by principal diagnosis.
* Denominator exclusion (IQI): transfer to another acute care facility (``other-hcf``), whose outcome the
  hospital cannot see.
* Numerator: died in hospital (discharge disposition ``exp`` or a death recorded by the discharge day).

Simplified: CMS844's outcome is death within 30 days of admission, in or out of hospital, from Medicare
enrolment data, which the warehouse does not hold; here the outcome is in-hospital death. The IQI exclusions
for missing age, sex or disposition and for MDC 14/15 (obstetric, neonatal) records are not applied (adult
cohorts only). The risk model is a local logistic model on age, sex, admission type and the Charlson score,
not AHRQ's or CMS's published coefficients.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.cohorts import died_during_stay, index_admissions, starts_with_any
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

RISK_MODEL = RiskModelSpec(RiskModelKind.LOGISTIC, ("age_years", "sex", "admission_type", "charlson"))
RATIONALE = (
    "In-hospital death is the most serious outcome of hospital care; risk-adjusted mortality that is higher "
    "than expected prompts review of care processes, escalation and end-of-life care."
)


def _initial_population(
    *, minimum_age: int, maximum_age: int | None, medicare_only: bool, principal: tuple[str, ...] | None
) -> Callable[[MeasureContext], ir.Table]:
    def initial_population(context: MeasureContext) -> ir.Table:
        index = index_admissions(context, minimum_age=minimum_age, maximum_age=maximum_age, medicare_only=medicare_only)
        if principal is not None:
            index = index.filter(starts_with_any(index.principal_code, principal))
        return index

    return initial_population


def transferred_out(index: ir.Table) -> ir.BooleanValue:
    return (index.discharge_disposition_code == vs.DISPOSITION_OTHER_HEALTHCARE_FACILITY).fill_null(False)


def _mortality(
    measure_id: str,
    title: str,
    description: str,
    source: Source,
    definition: str,
    *,
    minimum_age: int = 18,
    maximum_age: int | None = None,
    medicare_only: bool = False,
    principal: tuple[str, ...] | None = None,
) -> MeasureSpec:
    return register(
        MeasureSpec(
            id=measure_id,
            version="1.0.0",
            title=title,
            description=description,
            rationale=RATIONALE,
            source=source,
            definition=definition,
            scoring=Scoring.PROPORTION,
            improvement_notation=ImprovementNotation.DECREASE,
            unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
            populations=Populations(
                initial_population=_initial_population(
                    minimum_age=minimum_age,
                    maximum_age=maximum_age,
                    medicare_only=medicare_only,
                    principal=principal,
                ),
                denominator_exclusion=transferred_out,
                numerator=died_during_stay,
            ),
            risk_model=RISK_MODEL,
            simplifications=("outcome is in-hospital death, not death within 30 days of admission",),
        )
    )


CMS844 = "Hybrid Hospital-Wide Mortality eCQM CMS844 (CMSFHIR844HybridHospitalWideMortality 0.1.001)"
HYBRID = _mortality(
    "hybrid-hospital-wide-mortality",
    "Hybrid hospital-wide mortality (CMS844 cohort: Medicare, 65-94), in-hospital deaths",
    "Share of inpatient discharges of Medicare patients aged 65 to 94 (CMS844's initial population) who died "
    "in hospital.",
    Source.CMS,
    CMS844,
    minimum_age=65,
    maximum_age=94,
    medicare_only=True,
)
ALL_INPATIENTS = _mortality(
    "in-hospital-mortality",
    "In-hospital mortality, all adult inpatients",
    "Share of adult inpatient discharges (index encounters selected as in CMS844, any payer) who died in hospital.",
    Source.AHRQ,
    f"AHRQ IQI v2024 in-hospital mortality conventions; index encounters as in {CMS844}",
)
AMI = _mortality(
    "in-hospital-mortality-ami",
    "In-hospital mortality, acute myocardial infarction",
    "Share of adult discharges with a principal diagnosis of AMI who died in hospital.",
    Source.AHRQ,
    "AHRQ IQI 15 Acute Myocardial Infarction (AMI) Mortality Rate, v2024",
    principal=vs.ACUTE_MYOCARDIAL_INFARCTION,
)
HEART_FAILURE = _mortality(
    "in-hospital-mortality-heart-failure",
    "In-hospital mortality, heart failure",
    "Share of adult discharges with a principal diagnosis of heart failure who died in hospital.",
    Source.AHRQ,
    "AHRQ IQI 16 Heart Failure Mortality Rate, v2024",
    principal=vs.HEART_FAILURE,
)
PNEUMONIA = _mortality(
    "in-hospital-mortality-pneumonia",
    "In-hospital mortality, pneumonia",
    "Share of adult discharges with a principal diagnosis of pneumonia who died in hospital.",
    Source.AHRQ,
    "AHRQ IQI 20 Pneumonia Mortality Rate, v2024",
    principal=vs.PNEUMONIA,
)
SEPSIS = _mortality(
    "in-hospital-mortality-sepsis",
    "In-hospital mortality, sepsis",
    "Share of adult discharges with a principal diagnosis of sepsis who died in hospital.",
    Source.CMS,
    "Sepsis principal diagnoses of CMS SEP-1 (NQF 0500) ICD-10-CM A40, A41, R65.2; IQI mortality conventions",
    principal=vs.SEPSIS,
)
STROKE = _mortality(
    "in-hospital-mortality-stroke",
    "In-hospital mortality, acute stroke",
    "Share of adult discharges with a principal diagnosis of acute stroke who died in hospital.",
    Source.AHRQ,
    "AHRQ IQI 17 Acute Stroke Mortality Rate, v2024",
    principal=vs.STROKE,
)
