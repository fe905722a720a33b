"""Hospital-acquired pressure injuries (stage 2 or worse) per 1,000 patient days.

Definition: NDNQI hospital-acquired pressure injury (stage 2 and above, unstageable and deep tissue
injury; NPIAP staging), expressed per 1,000 patient days; AHRQ PSI 03 "Pressure Ulcer Rate" (v2024) uses the
same ICD-10-CM L89 codes for stages 3, 4 and unstageable. A pressure injury is a hospital-acquired Condition
(onset after admission) coded L89 with a 6th character 2, 3, 4, 0 (unstageable) or 6 (deep tissue).

Simplified: NDNQI measures prevalence by quarterly point surveys; here incident coded injuries are counted
against the patient days of the stays discharged in the period.
"""

from __future__ import annotations

import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.harm import adult_stays, hospital_acquired
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


def initial_population(context: MeasureContext) -> ir.Table:
    stays = adult_stays(context)
    events = hospital_acquired(context, stays)
    code = events.code.replace(".", "")
    staged = (
        code.startswith("L89")
        & (code.length() >= 6)
        & code.substr(5, 1).isin(vs.PRESSURE_INJURY_STAGE_2_PLUS_SIXTH_CHARACTER)
    )
    events = events.filter(staged.fill_null(False))
    counts = events.group_by(counted_stay_id=events.stay_id).aggregate(pressure_injuries=events.count())
    joined = stays.left_join(counts, stays.subject_id == counts.counted_stay_id).drop("counted_stay_id")
    return joined.mutate(pressure_injuries=joined.pressure_injuries.fill_null(0))


def pressure_injuries(stays: ir.Table) -> ir.NumericValue:
    return stays.pressure_injuries


def patient_days(stays: ir.Table) -> ir.NumericValue:
    return stays.patient_days


PRESSURE_INJURIES = register(
    MeasureSpec(
        id="pressure-injuries",
        version="1.0.0",
        title="Hospital-acquired pressure injuries (stage 2+) per 1,000 patient days",
        description="Hospital-acquired pressure injuries of stage 2 or worse per 1,000 patient days of adult stays.",
        rationale="Pressure injuries are largely preventable with risk assessment, repositioning and skin care.",
        source=Source.NDNQI,
        definition="NDNQI hospital-acquired pressure injury stage 2+; AHRQ PSI 03 Pressure Ulcer Rate v2024 codes",
        scoring=Scoring.RATIO,
        improvement_notation=ImprovementNotation.DECREASE,
        unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
        populations=Populations(
            initial_population=initial_population,
            numerator_observation=pressure_injuries,
            denominator_observation=patient_days,
        ),
        risk_model=RiskModelSpec(RiskModelKind.REFERENCE_RATE),
        rate_multiplier=1000.0,
        rate_unit="per 1,000 patient days",
        simplifications=("coded incident injuries, not prevalence surveys",),
    )
)
