"""Length of stay of inpatient discharges: mean, median and geometric mean, and observed/expected days.

Definition: length of stay as in the CMS/AHRQ convention, discharge date minus admission date in calendar
days (the midnight count), a same-day stay counting as 1 day (AHRQ HCUP "LOS" data element); the geometric
mean as in the CMS MS-DRG relative-weight methodology (GMLOS, FY2025 IPPS final rule, section II.E); the
expected length of stay from a log-linear model on age, sex, admission type and the Charlson score fitted on
the reference period (Poisson quasi-likelihood), O/E = sum of observed days / sum of expected days.

Index encounters as in CMS844's initial population (adults of any payer). Stays that end in death are kept
(they are hospital days); transfers out are kept. Simplified: no DRG-based expected LOS (the warehouse has
no grouper), so the case-mix model uses the covariates above only.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from medgov.analytics.measures.cohorts import index_admissions
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


def stay_days(stays: ir.Table) -> ir.IntegerValue:
    """Discharge date minus admission date in calendar days, at least 1."""
    days = stays.discharge_time.date().delta(stays.admission_start.date(), unit="day")
    return ibis.greatest(days, 1)


def initial_population(context: MeasureContext) -> ir.Table:
    return index_admissions(context, minimum_age=18)


LENGTH_OF_STAY = register(
    MeasureSpec(
        id="length-of-stay",
        version="1.0.0",
        title="Length of stay, adult inpatients",
        description=(
            "Mean, median and geometric mean length of stay of adult inpatient discharges in days, with "
            "observed/expected days against a case-mix model."
        ),
        rationale=(
            "Longer stays than the case mix predicts point at delays in care, discharge planning or access to "
            "post-acute care, and expose patients to hospital-acquired harm."
        ),
        source=Source.CMS,
        definition="AHRQ HCUP LOS data element; CMS IPPS geometric mean length of stay (FY2025 final rule)",
        scoring=Scoring.CONTINUOUS_VARIABLE,
        improvement_notation=ImprovementNotation.DECREASE,
        unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
        populations=Populations(initial_population=initial_population, measure_observation=stay_days),
        risk_model=RiskModelSpec(RiskModelKind.POISSON, ("age_years", "sex", "admission_type", "charlson")),
        rate_multiplier=1.0,
        rate_unit="days",
        simplifications=("expected LOS from a local case-mix model, not DRG geometric means",),
    )
)
