"""Device-associated infections: CAUTI per 1,000 urinary catheter days and CLABSI per 1,000 central line days.

Definition: CDC NHSN Patient Safety Component Manual (January 2024), chapter 7 "Catheter-Associated Urinary
Tract Infection (CAUTI)" and chapter 4 "Bloodstream Infection Event (Central Line-Associated Bloodstream
Infection, CLABSI)": device-associated infections per 1,000 device days, a device-associated infection being
one whose date of event falls when the device had been in place for more than 2 consecutive calendar days
and was in place that day or the day before.

Here an infection is a hospital-acquired Condition coded T83.51 (infection due to an indwelling urinary
catheter) or T80.21 (bloodstream infection due to a central venous catheter); devices are Procedures
(SNOMED CT insertion codes) linked to the stay with ``performedPeriod`` from insertion to removal; only stays
with a device enter the measure, so a warehouse without device data yields an empty initial population.

Simplified: NHSN identifies infections by surveillance criteria (culture results, symptoms, the infection
window period and repeat-infection timeframe), not by diagnosis codes; device days are the calendar days from
insertion to removal rather than a daily device census; the NHSN standardised infection ratio's predicted
count (from the NHSN baseline models) is replaced by the reference period's overall rate.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

from medgov.analytics.measures import valuesets as vs
from medgov.analytics.measures.harm import adult_stays, with_devices
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


def _initial_population(
    procedures: tuple[str, ...], infections: tuple[str, ...]
) -> Callable[[MeasureContext], ir.Table]:
    def initial_population(context: MeasureContext) -> ir.Table:
        return with_devices(context, adult_stays(context), procedures, infections)

    return initial_population


def infections(stays: ir.Table) -> ir.NumericValue:
    return stays.device_infections


def device_days(stays: ir.Table) -> ir.NumericValue:
    return stays.device_days


def _device_measure(measure_id: str, title: str, device: str, chapter: str, initial) -> MeasureSpec:  # type: ignore[no-untyped-def]
    return register(
        MeasureSpec(
            id=measure_id,
            version="1.0.0",
            title=title,
            description=f"Device-associated infections per 1,000 {device} days of adult inpatient stays.",
            rationale="Device-associated infections are preventable with insertion and maintenance bundles and "
            "prompt removal of devices no longer needed.",
            source=Source.NHSN,
            definition=f"CDC NHSN Patient Safety Component Manual, January 2024, {chapter}",
            scoring=Scoring.RATIO,
            improvement_notation=ImprovementNotation.DECREASE,
            unit_of_analysis=UnitOfAnalysis.ENCOUNTER,
            populations=Populations(
                initial_population=initial, numerator_observation=infections, denominator_observation=device_days
            ),
            risk_model=RiskModelSpec(RiskModelKind.REFERENCE_RATE),
            rate_multiplier=1000.0,
            rate_unit=f"per 1,000 {device} days",
            simplifications=("infections by diagnosis code, not NHSN surveillance criteria",),
        )
    )


CAUTI = _device_measure(
    "cauti",
    "Catheter-associated urinary tract infections per 1,000 catheter days",
    "urinary catheter",
    "chapter 7 (CAUTI)",
    _initial_population(vs.URINARY_CATHETER_PROCEDURE, vs.CATHETER_ASSOCIATED_URINARY_TRACT_INFECTION),
)
CLABSI = _device_measure(
    "clabsi",
    "Central line-associated bloodstream infections per 1,000 central line days",
    "central line",
    "chapter 4 (CLABSI)",
    _initial_population(vs.CENTRAL_LINE_PROCEDURE, vs.CENTRAL_LINE_BLOODSTREAM_INFECTION),
)
