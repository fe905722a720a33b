"""Index-encounter selection shared by the hospital outcome measures, as Ibis expressions.

The inpatient index encounter follows the initial population of the CMS hybrid hospital-wide measures
(CMS529 "Hybrid Hospital-Wide Readmission" and CMS844 "Hybrid Hospital-Wide Mortality", eCQM FHIR 0.1.001,
library ``CMSFHIR529HybridHospitalWideReadmission`` define "Inpatient Encounters" and CQMCommon 2.2.000
``hospitalizationWithObservationAndOutpatientSurgeryService``):

* an Encounter whose type is in VSAC "Encounter Inpatient" (2.16.840.1.113883.3.666.5.307), status
  ``finished``, whose period ends during a day of the measurement period;
* the hospitalisation, i.e. the encounter extended back through an immediately prior observation stay, then
  an emergency department visit, then an outpatient surgery visit (each ending 1 hour or less before the
  next starts; observation and ED visits must be finished), lasts fewer than 365 days
  (``difference in days`` between its start and end: calendar days, end date minus start date);
* age in whole years on the date the encounter starts within the cohort's bounds (CMS529: 65 or more;
  CMS844: 65 to 94);
* for the CMS cohorts, the patient has a Coverage of type Medicare FFS (2.16.840.1.113762.1.4.1104.10) or
  Medicare Advantage (2.16.840.1.113762.1.4.1104.12); CQL's ``with ... such that`` places no condition on the
  Coverage itself, so neither its period nor its status is checked.

Timestamps in the warehouse are UTC, so "the day of" an instant is its UTC date.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.spec import MeasureContext

ONE_HOUR = ibis.interval(hours=1)


def starts_with_any(column: ir.StringValue, prefixes: tuple[str, ...]) -> ir.BooleanValue:
    """True when ``column`` starts with one of ``prefixes`` (ICD-10-CM codes are matched with the dot)."""
    condition: ir.BooleanValue = ibis.literal(False)
    for prefix in prefixes:
        condition = condition | column.startswith(prefix)
    return condition.fill_null(False)


def whole_years_between(birth: ir.DateValue, day: ir.DateValue) -> ir.IntegerValue:
    """Age in whole years on ``day`` (CQL ``AgeInYearsAt``): year difference, less one before the birthday."""
    before_birthday = (day.month() < birth.month()) | ((day.month() == birth.month()) & (day.day() < birth.day()))
    return (day.year() - birth.year()) - ibis.ifelse(before_birthday, 1, 0)


def days_between(start: ir.DateValue, end: ir.DateValue) -> ir.IntegerValue:
    """Calendar days from ``start`` to ``end`` (CQL ``difference in days between``)."""
    return end.delta(start, unit="day")


def principal_diagnoses(context: MeasureContext) -> ir.Table:
    """One row per encounter: ``encounter_id`` and its principal ICD-10-CM ``principal_code``.

    The principal diagnosis is the Encounter.diagnosis of rank 1 (``is_principal``); should an encounter carry
    several, the smallest code is taken so the result is deterministic.
    """
    diagnosis = context.table("encounter_diagnosis")
    return context.materialised(
        ("principal_diagnoses",),
        lambda: (
            diagnosis.filter(diagnosis.is_principal.fill_null(False))
            .group_by(encounter_id=diagnosis.encounter_id)
            .aggregate(principal_code=diagnosis.code.min())
        ),
    )


def _latest_adjoining(visits: ir.Table, prior: ir.Table, start_column: str, *, name: str) -> ir.Table:
    """For each visit, the start of the ``prior`` encounter ending 1 hour or less on or before the visit's
    ``start_column`` (the latest-ending one: CQL ``Last(... sort by end of period)``), as column ``name``."""
    prior = prior.select(prior_patient_id=prior.patient_id, prior_start=prior.period_start, prior_end=prior.period_end)
    visit_start = visits[start_column]
    joined = visits.select("id", "patient_id", start_column).join(
        prior,
        [
            visits.patient_id == prior.prior_patient_id,
            prior.prior_end <= visit_start,
            prior.prior_end >= visit_start - ONE_HOUR,
        ],
    )
    latest = joined.group_by(adjoining_id=joined.id).aggregate(**{name: joined.prior_start.argmax(joined.prior_end)})
    return visits.left_join(latest, visits.id == latest.adjoining_id).drop("adjoining_id")


def inpatient_encounters(context: MeasureContext) -> ir.Table:
    """Every finished inpatient encounter (VSAC "Encounter Inpatient") with its hospitalisation interval.

    Columns: the encounter's own columns plus ``hospitalization_start`` (CQMCommon
    ``hospitalizationWithObservationAndOutpatientSurgeryService`` start), ``discharge_date`` and
    ``hospitalization_days`` (end date minus start date). Not limited to a period: readmission look-ups need
    admissions on both sides of it.
    """
    return context.materialised(("inpatient_encounters",), lambda: _inpatient_encounters(context))


def _inpatient_encounters(context: MeasureContext) -> ir.Table:
    encounter = context.table("encounter")
    typed = encounter.type_system == vs.SNOMED
    inpatient = encounter.filter(
        typed, encounter.type_code.isin(vs.ENCOUNTER_INPATIENT), encounter.status == "finished"
    )
    finished = encounter.filter(typed, encounter.status == "finished", encounter.period_end.notnull())
    observation = finished.filter(finished.type_code.isin(vs.OBSERVATION_SERVICES))
    emergency = finished.filter(finished.type_code.isin(vs.EMERGENCY_DEPARTMENT_VISIT))
    surgery = encounter.filter(
        typed, encounter.type_code.isin(vs.OUTPATIENT_SURGERY_SERVICE), encounter.period_end.notnull()
    )

    visits = _latest_adjoining(inpatient, observation, "period_start", name="observation_start")
    visits = visits.mutate(visit_start=ibis.coalesce(visits.observation_start, visits.period_start))
    visits = _latest_adjoining(visits, emergency, "visit_start", name="emergency_start")
    visits = visits.mutate(visit_start_with_ed=ibis.coalesce(visits.emergency_start, visits.visit_start))
    visits = _latest_adjoining(visits, surgery, "visit_start_with_ed", name="surgery_start")
    starts = visits.select(
        hospitalization_id=visits.id,
        hospitalization_start=ibis.coalesce(visits.surgery_start, visits.visit_start_with_ed),
    )
    extended = inpatient.join(starts, inpatient.id == starts.hospitalization_id).drop("hospitalization_id")
    return extended.mutate(
        discharge_date=extended.period_end.date(),
        hospitalization_days=days_between(extended.hospitalization_start.date(), extended.period_end.date()),
    )


def index_admissions(
    context: MeasureContext,
    *,
    minimum_age: int,
    maximum_age: int | None = None,
    medicare_only: bool = False,
) -> ir.Table:
    """Inpatient index encounters discharged during the measurement period (see the module docstring).

    Columns: :data:`~medgov.analytics.measures.spec.SUBJECT_COLUMNS` (the subject is the encounter, anchored
    on its discharge date) and ``admission_start``, ``discharge_time``, ``hospitalization_start``,
    ``discharge_disposition_code``, ``priority_code``, ``service_line_code``, ``principal_code``,
    ``deceased_datetime``.
    """
    key = ("index_admissions", context.period, minimum_age, maximum_age, medicare_only)
    return context.materialised(
        key,
        lambda: _index_admissions(
            context, minimum_age=minimum_age, maximum_age=maximum_age, medicare_only=medicare_only
        ),
    )


def _index_admissions(
    context: MeasureContext, *, minimum_age: int, maximum_age: int | None, medicare_only: bool
) -> ir.Table:
    period = context.period
    admissions = inpatient_encounters(context)
    admissions = admissions.filter(
        admissions.period_end.notnull(),
        admissions.discharge_date >= period.start,
        admissions.discharge_date <= period.end,
        admissions.hospitalization_days < 365,
    )
    patient = context.table("patient")
    people = patient.select("birth_date", "deceased_datetime", person_id=patient.id)
    joined = admissions.join(people, admissions.patient_id == people.person_id)
    joined = joined.mutate(age_years=whole_years_between(joined.birth_date, joined.period_start.date()))
    age_ok = joined.age_years >= minimum_age
    if maximum_age is not None:
        age_ok = age_ok & (joined.age_years <= maximum_age)
    joined = joined.filter(age_ok)
    if medicare_only:
        coverage = context.table("coverage")
        medicare = coverage.filter(
            coverage.type_system == vs.SOURCE_OF_PAYMENT_TYPOLOGY, coverage.type_code.isin(vs.MEDICARE_PAYER)
        )
        joined = joined.filter(joined.patient_id.isin(medicare.patient_id))
    principal = principal_diagnoses(context)
    joined = joined.left_join(principal, joined.id == principal.encounter_id)
    return joined.select(
        subject_id=joined.id,
        patient_id=joined.patient_id,
        encounter_id=joined.id,
        anchor_date=joined.discharge_date,
        age_years=joined.age_years,
        admission_start=joined.period_start,
        discharge_time=joined.period_end,
        hospitalization_start=joined.hospitalization_start,
        discharge_disposition_code=joined.discharge_disposition_code,
        priority_code=joined.priority_code,
        service_line_code=joined.service_line_code,
        principal_code=joined.principal_code,
        deceased_datetime=joined.deceased_datetime,
    )


def died_during_stay(index: ir.Table) -> ir.BooleanValue:
    """Died in hospital: discharge disposition "expired", or a recorded death no later than the discharge day."""
    expired = index.discharge_disposition_code == vs.DISPOSITION_EXPIRED
    recorded = index.deceased_datetime.notnull() & (index.deceased_datetime.date() <= index.discharge_time.date())
    return (expired | recorded).fill_null(False)
