"""ICU readmission within 48 hours of transfer out of intensive care.

Definition: European Society of Intensive Care Medicine quality indicator "rate of ICU readmission within
48 hours of ICU discharge" (Rhodes et al., "The development and implementation of quality indicators in
intensive care medicine", Intensive Care Med 2012;38:598-605), as used by the UK ICNARC Case Mix Programme
("early readmission to the critical care unit within 48 hours").

* Initial population: finished ICU stays (an Encounter at a Location of type ``ICU``, or of type SNOMED CT
  305351004 "Admission to intensive care unit") ending in the period from which the patient left the ICU
  alive and stayed in hospital: the stay ends before the admission it is part of (``partOf``) ends, and the
  patient's death, if any, is later.
* Numerator: another ICU stay of the same patient starting after this one ended and no more than 48 hours
  later.

Simplified: transfers between two ICUs within minutes count as a readmission when they are recorded as two
stays more than zero minutes apart.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.cohorts import whole_years_between
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

READMISSION_WINDOW = ibis.interval(hours=48)


def icu_stays(context: MeasureContext) -> ir.Table:
    """Finished ICU stays: encounters at an ICU location or typed as an ICU admission."""
    encounter = context.table("encounter")
    location = context.table("location")
    icu_locations = location.filter(location.type_code.isin(vs.INTENSIVE_CARE_UNIT_LOCATION)).select(icu_id="id")
    return encounter.filter(
        encounter.status == "finished",
        encounter.period_end.notnull(),
        encounter.location_id.isin(icu_locations.icu_id) | encounter.type_code.isin(vs.ICU_ADMISSION_TYPE),
    )


def initial_population(context: MeasureContext) -> ir.Table:
    period = context.period
    stays = icu_stays(context)
    encounter = context.table("encounter")
    parents = encounter.select(parent_id="id", parent_end="period_end")
    patient = context.table("patient").select(person_id="id", birth_date="birth_date", deceased="deceased_datetime")
    index = stays.filter(stays.period_end.date() >= period.start, stays.period_end.date() <= period.end)
    index = index.join(parents, index.part_of_id == parents.parent_id)
    index = index.join(patient, index.patient_id == patient.person_id)
    index = index.filter(
        index.parent_end.notnull(),
        index.period_end < index.parent_end,
        index.deceased.isnull() | (index.deceased > index.period_end),
    )
    later = stays.select(again_patient_id="patient_id", again_id="id", again_start="period_start")
    again = index.join(
        later,
        [
            index.patient_id == later.again_patient_id,
            later.again_id != index.id,
            later.again_start > index.period_end,
            later.again_start <= index.period_end + READMISSION_WINDOW,
        ],
    ).select(readmitted_stay_id="id")
    # The organisational dimensions of an ICU stay are the ICU's (unit, department) and its attending.
    return index.select(
        subject_id=index.id,
        patient_id=index.patient_id,
        encounter_id=index.id,
        anchor_date=index.period_end.date(),
        age_years=whole_years_between(index.birth_date, index.period_start.date()),
        readmitted=index.id.isin(again.readmitted_stay_id),
    )


def readmitted(stays: ir.Table) -> ir.BooleanValue:
    return stays.readmitted


ICU_READMISSION = register(
    MeasureSpec(
        id="icu-readmission-48-hours",
        version="1.0.0",
        title="ICU readmission within 48 hours",
        description="Share of ICU stays ending in transfer out alive followed by an ICU readmission within 48 hours.",
        rationale=(
            "Early readmission to intensive care suggests premature discharge from the ICU or inadequate care "
            "on the ward after transfer, and carries higher mortality."
        ),
        source=Source.LOCAL,
        definition="ESICM quality indicator, ICU readmission within 48 hours (Rhodes et al., Intensive Care Med 2012)",
        scoring=Scoring.PROPORTION,
        improvement_notation=ImprovementNotation.DECREASE,
        unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
        populations=Populations(initial_population=initial_population, numerator=readmitted),
    )
)
