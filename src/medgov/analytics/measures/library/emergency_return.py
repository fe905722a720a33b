"""Return to the emergency department within 72 hours of an ED visit that ended in discharge.

Definition: unscheduled ED return visits within 72 hours, a widely used ED quality indicator (Alberta/ CAEP
ED quality indicators; Sabbatini et al., "Hospital admission and return visits after ED discharge", JAMA
Intern Med 2016;176:1453; Rising et al., Ann Emerg Med 2014;64:470 "Patient returns to the emergency
department: the time-to-return curve").

* Initial population: finished emergency department visits (Encounter.class ``EMER``) of patients of any age,
  ending in the period, that were not followed by an inpatient admission starting within 1 hour of the ED
  visit's end (treat-and-release visits) and did not end in death.
* Numerator: another ED visit of the same patient starting after the index visit ended and no more than 72
  hours later.

Simplified: the warehouse does not say whether a return was scheduled, so every return counts.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.cohorts import inpatient_encounters, whole_years_between
from medgov.analytics.measures.registry import register
from medgov.analytics.measures.spec import (
    ImprovementNotation,
    MeasureContext,
    MeasureSpec,
    Populations,
    Scoring,
    Source,
    UnitOfAnalysis,
)

RETURN_WINDOW = ibis.interval(hours=72)
ADMISSION_WINDOW = ibis.interval(hours=1)


def initial_population(context: MeasureContext) -> ir.Table:
    period = context.period
    encounter = context.table("encounter")
    visits = encounter.filter(
        encounter.class_code.isin(vs.EMERGENCY_CLASS),
        encounter.status == "finished",
        encounter.period_end.notnull(),
    )
    index = visits.filter(visits.period_end.date() >= period.start, visits.period_end.date() <= period.end)
    index = index.filter((index.discharge_disposition_code != vs.DISPOSITION_EXPIRED).fill_null(True))
    admissions = inpatient_encounters(context).select(admitted_patient_id="patient_id", admitted_start="period_start")
    admitted = index.join(
        admissions,
        [
            index.patient_id == admissions.admitted_patient_id,
            admissions.admitted_start >= index.period_start,
            admissions.admitted_start <= index.period_end + ADMISSION_WINDOW,
        ],
    ).select(admitted_visit_id="id")
    index = index.filter(~index.id.isin(admitted.admitted_visit_id))
    later = visits.select(return_patient_id="patient_id", return_id="id", return_start="period_start")
    returns = index.join(
        later,
        [
            index.patient_id == later.return_patient_id,
            later.return_id != index.id,
            later.return_start > index.period_end,
            later.return_start <= index.period_end + RETURN_WINDOW,
        ],
    ).select(returned_visit_id="id")
    patient = context.table("patient").select(person_id="id", birth_date="birth_date")
    joined = index.left_join(patient, index.patient_id == patient.person_id)
    return joined.select(
        subject_id=joined.id,
        patient_id=joined.patient_id,
        encounter_id=joined.id,
        anchor_date=joined.period_end.date(),
        age_years=whole_years_between(joined.birth_date, joined.period_start.date()),
        returned=joined.id.isin(returns.returned_visit_id),
    )


def returned(visits: ir.Table) -> ir.BooleanValue:
    return visits.returned


EMERGENCY_RETURN = register(
    MeasureSpec(
        id="emergency-return-72-hours",
        version="1.0.0",
        title="Return to the emergency department within 72 hours",
        description="Share of treat-and-release ED visits followed by another ED visit within 72 hours.",
        rationale=(
            "Early returns can signal missed diagnoses, inadequate treatment or discharge instructions, or "
            "poor access to follow-up care."
        ),
        source=Source.LOCAL,
        definition="72-hour ED return visits (Sabbatini et al., JAMA Intern Med 2016; Rising et al., Ann Emerg Med 2014)",
        scoring=Scoring.PROPORTION,
        improvement_notation=ImprovementNotation.DECREASE,
        unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
        populations=Populations(initial_population=initial_population, numerator=returned),
        simplifications=("scheduled returns are not told apart",),
    )
)
