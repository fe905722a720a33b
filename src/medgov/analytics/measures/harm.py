"""Shared building blocks of the hospital-harm rate measures (falls, pressure injuries, CAUTI, CLABSI).

A hospital-acquired condition is a Condition linked to the stay (``encounter_id``) whose onset lies after
the admission started; patient days are counted as for length of stay (discharge date minus admission date,
at least 1); device days as the calendar days from insertion to removal (at least 1) of each device
Procedure linked to the stay, a device still in place at discharge counting to the discharge day.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from medgov.analytics.measures.cohorts import index_admissions, starts_with_any
from medgov.analytics.measures.spec import MeasureContext


def adult_stays(context: MeasureContext) -> ir.Table:
    """Index inpatient stays (CMS844 selection, adults of any payer) with ``patient_days``."""
    stays = index_admissions(context, minimum_age=18)
    days = stays.discharge_time.date().delta(stays.admission_start.date(), unit="day")
    return stays.mutate(patient_days=ibis.greatest(days, 1))


def hospital_acquired(context: MeasureContext, stays: ir.Table, codes: ir.BooleanValue | None = None) -> ir.Table:
    """Conditions linked to each stay with onset after admission: ``stay_id``, ``onset``, ``code``."""
    condition = context.table("condition")
    linked = stays.select(stay_id="subject_id", stay_start="admission_start").join(
        condition, ibis._.stay_id == condition.encounter_id
    )
    return linked.filter(linked.onset_datetime.notnull(), linked.onset_datetime > linked.stay_start).select(
        "stay_id", "code", onset="onset_datetime"
    )


def count_conditions(context: MeasureContext, stays: ir.Table, prefixes: tuple[str, ...], *, name: str) -> ir.Table:
    """Add column ``name``: the number of hospital-acquired conditions with a code starting with ``prefixes``."""
    events = hospital_acquired(context, stays)
    events = events.filter(starts_with_any(events.code, prefixes))
    counts = events.group_by(counted_stay_id=events.stay_id).aggregate(**{name: events.count()})
    joined = stays.left_join(counts, stays.subject_id == counts.counted_stay_id).drop("counted_stay_id")
    return joined.mutate(**{name: joined[name].fill_null(0)})


def with_devices(
    context: MeasureContext, stays: ir.Table, procedures: tuple[str, ...], infections: tuple[str, ...]
) -> ir.Table:
    """Stays with at least one device: ``device_days`` and ``device_infections``.

    An infection counts when its onset is at least 2 calendar days after an insertion and no later than the
    day after that device's removal (NHSN Patient Safety Component Manual 2024, chapter 2: device-associated
    when the device was in place for more than 2 consecutive days on the date of event and in place on that
    day or the day before).
    """
    procedure = context.table("procedure")
    devices = stays.select(stay_id="subject_id", stay_end="discharge_time").join(
        procedure.filter(procedure.code.isin(procedures), procedure.performed_start.notnull()),
        ibis._.stay_id == procedure.encounter_id,
    )
    devices = devices.mutate(removed=ibis.coalesce(devices.performed_end, devices.stay_end))
    devices = devices.mutate(
        days=ibis.greatest(devices.removed.date().delta(devices.performed_start.date(), unit="day"), 1)
    )
    exposure = devices.group_by(device_stay_id=devices.stay_id).aggregate(device_days=devices.days.sum())
    events = hospital_acquired(context, stays)
    events = events.filter(starts_with_any(events.code, infections))
    windows = devices.select(device_stay="stay_id", inserted="performed_start", removed="removed")
    matched = events.join(
        windows,
        [
            events.stay_id == windows.device_stay,
            events.onset.date().delta(windows.inserted.date(), unit="day") >= 2,
            events.onset.date() <= windows.removed.date() + ibis.interval(days=1),
        ],
    )
    infection_counts = (
        matched.select("stay_id", "onset", "code")
        .distinct()
        .group_by(infected_stay_id=ibis._.stay_id)
        .aggregate(device_infections=ibis._.count())
    )
    joined = stays.join(exposure, stays.subject_id == exposure.device_stay_id).drop("device_stay_id")
    joined = joined.left_join(infection_counts, joined.subject_id == infection_counts.infected_stay_id).drop(
        "infected_stay_id"
    )
    return joined.mutate(device_infections=joined.device_infections.fill_null(0))
