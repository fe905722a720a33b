"""Inpatient falls with injury per 1,000 patient days.

Definition: NQF 0202 "Falls with injury" (American Nurses Association NDNQI): the number of inpatient falls
with injury per 1,000 patient days. A fall is a hospital-acquired Condition with an ICD-10-CM external-cause
code W00-W19 (the synthetic hospital and coded EHR data record the external cause alongside the injury);
patient days are the days of the stays discharged in the period.

Simplified: NDNQI counts patient days by midnight census per unit and month and grades injury severity
(minor to death); here days are attributed to the stay's unit and discharge month, and every fall recorded
with an external cause code counts, whatever the injury.
"""

from __future__ import annotations

import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.harm import adult_stays, count_conditions
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
    return count_conditions(context, adult_stays(context), vs.FALL_EXTERNAL_CAUSE, name="falls")


def falls(stays: ir.Table) -> ir.NumericValue:
    return stays.falls


def patient_days(stays: ir.Table) -> ir.NumericValue:
    return stays.patient_days


FALLS_WITH_INJURY = register(
    MeasureSpec(
        id="falls-with-injury",
        version="1.0.0",
        title="Inpatient falls with injury per 1,000 patient days",
        description="Hospital-acquired falls with injury per 1,000 patient days of adult inpatient stays.",
        rationale="Falls with injury are frequent, largely preventable harms that prolong stays and cause deaths.",
        source=Source.NDNQI,
        definition="NQF 0202 Falls with injury (ANA NDNQI)",
        scoring=Scoring.RATIO,
        improvement_notation=ImprovementNotation.DECREASE,
        unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
        populations=Populations(
            initial_population=initial_population, numerator_observation=falls, denominator_observation=patient_days
        ),
        risk_model=RiskModelSpec(RiskModelKind.REFERENCE_RATE),
        rate_multiplier=1000.0,
        rate_unit="per 1,000 patient days",
        simplifications=("patient days by stay, not by midnight census",),
    )
)
