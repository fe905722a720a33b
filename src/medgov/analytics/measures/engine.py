"""The measure engine: evaluate measures for a period, by time grain and stratum, in set-based passes.

For each measure the engine builds one Ibis expression over the warehouse: the initial population with every
population criterion and observation as a column, joined to the dimension attributes (hospital, department,
unit, service line, attending practitioner from the encounter; sex, race, ethnicity, language, age band from
the patient; payer from the Coverage in force on the anchor day). The backend runs it as one query and
returns one row per subject; FHIR population semantics, the risk model and the aggregation by every
requested (grain x stratifier) are then vectorised over that frame.

FHIR population semantics (FHIR R4 Measure, "Proportion measure scoring"): the denominator is drawn from the
initial population; exclusions are removed from it; the numerator is drawn from what remains; a denominator
exception is only taken by a subject that is not in the numerator. The score of a proportion is
``(numerator - numerator exclusion) / (denominator - denominator exclusion - denominator exception)``, of a
ratio ``sum(numerator observation) / sum(denominator observation)``, of a continuous variable the mean
observation over the measure population.

Statistics: proportions carry Wilson score intervals; ratio rates an exact Poisson (Garwood) interval below
10 events and Byar's approximation from 10 (:mod:`medgov.analytics.statistics.intervals`); observed/expected
ratios of counts the same Poisson interval on O with E taken as fixed (Breslow & Day 1987, vol. II, 2.3);
the O/E of a continuous observation (length of stay) a normal interval with the empirical (sandwich) variance
``sum (o_i - e_i)^2`` of ``sum O - sum E``. A stratum whose denominator is below the measure's minimum is
"not calculable": its score, interval and O/E are null, never 0 % or 100 %.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from medgov.analytics.measures import risk as risk_models
from medgov.analytics.measures.spec import (
    SUBJECT_COLUMNS,
    MeasureContext,
    MeasureSpec,
    Period,
    RiskModelKind,
    Scoring,
)
from medgov.analytics.statistics import comorbidity, intervals
from medgov.analytics.warehouse.scratch import fetch_arrow, quiet_ibis_duckdb_deprecations

DIMENSIONS: dict[str, str] = {
    "hospital": "encounter.hospital_id",
    "service_line": "encounter.service_line_code",
    "department": "encounter.department_id",
    "unit": "encounter.location_id",
    "practitioner": "encounter.attending_practitioner_id",
    "payer": "coverage.type_code (Source of Payment Typology, top-level category) in force on the anchor day",
    "race": "patient.race_code",
    "ethnicity": "patient.ethnicity_code",
    "language": "patient.language_code",
    "sex": "patient.sex",
    "age_band": "age in years at the start of the episode: 0-17, 18-44, 45-64, 65-74, 75-84, 85+",
}
"""Dimensions a result can be stratified by, and where each comes from."""

GRAINS: tuple[str, ...] = ("period", "month", "quarter", "year")
"""Time grains: the whole measurement period, or calendar months, quarters or years within it."""

UNKNOWN = "unknown"
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 17, "0-17"), (18, 44, "18-44"), (45, 64, "45-64"), (65, 74, "65-74"), (75, 84, "75-84"), (85, None, "85+"),
)  # fmt: skip
# Source of Payment Typology top-level categories (PHDSC SOPT v9.2), by first digit.
PAYER_CATEGORIES: dict[str, str] = {
    "1": "medicare", "2": "medicaid", "3": "other-government", "4": "corrections", "5": "private",
    "6": "blue-cross-blue-shield", "7": "managed-care-unspecified", "8": "no-payment", "9": "miscellaneous",
}  # fmt: skip
POPULATIONS: tuple[str, ...] = (
    "initial_population", "denominator", "denominator_exclusion", "denominator_exception", "numerator",
    "numerator_exclusion",
)  # fmt: skip
NOT_CALCULABLE = "not calculable"
CALCULABLE = "calculable"


class MeasureInputError(ValueError):
    """Input the engine cannot evaluate; the message names the input and what would be valid."""


class UnknownDimensionError(MeasureInputError):
    pass


class NoDataError(MeasureInputError):
    pass


@dataclass(frozen=True)
class RiskModelReport:
    """What was fitted for one measure: the model, where it was fitted and how well it discriminates."""

    measure_id: str
    measure_version: str
    kind: str
    formula: str | None
    reference_period: Period
    n: int
    events: float
    converged: bool
    c_statistic: float | None
    calibration_intercept: float | None
    calibration_slope: float | None
    coefficients: Mapping[str, float]
    reference_score: float | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeasureEvaluation:
    """One measure evaluated: tidy results, the subject-level frame (for subject lists) and its risk model."""

    spec: MeasureSpec
    period: Period
    results: pd.DataFrame
    subjects: pd.DataFrame = field(repr=False)
    model: RiskModelReport | None = None


def normalise_stratifiers(stratifiers: Iterable[str | Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """Each stratifier as a tuple of dimension names (``"hospital+unit"`` or ``("hospital", "unit")``)."""
    result: list[tuple[str, ...]] = []
    for item in stratifiers:
        names = tuple(part.strip() for part in item.split("+")) if isinstance(item, str) else tuple(item)
        unknown = [name for name in names if name not in DIMENSIONS]
        if unknown or not names:
            raise UnknownDimensionError(
                f"unknown dimension {', '.join(map(repr, unknown)) or repr(item)}; "
                f"dimensions are: {', '.join(DIMENSIONS)}"
            )
        if len(set(names)) != len(names):
            raise UnknownDimensionError(f"stratifier {'+'.join(names)!r} names a dimension twice")
        if frozenset(names) not in {frozenset(existing) for existing in result}:
            result.append(names)
    return tuple(result)


def check_grains(grains: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(grains))
    unknown = [grain for grain in chosen if grain not in GRAINS]
    if unknown:
        raise UnknownDimensionError(
            f"unknown time grain {', '.join(map(repr, unknown))}; grains are: {', '.join(GRAINS)}"
        )
    return chosen or ("period",)


def _data_span(backend: BaseBackend) -> tuple[dt.date, dt.date] | None:
    """First and last day with an encounter in the warehouse, or None when it holds none."""
    encounter = backend.table("encounter")
    row = fetch_arrow(
        backend,
        encounter.aggregate(
            first=encounter.period_start.min().date(),
            last=ibis.coalesce(encounter.period_end, encounter.period_start).max().date(),
        ),
    )
    first, last = row["first"][0].as_py(), row["last"][0].as_py()
    if first is None or last is None:
        return None
    return first, last


def check_period_has_data(backend: BaseBackend, period: Period) -> None:
    span = _data_span(backend)
    if span is None:
        raise NoDataError("the warehouse holds no encounters: load data first (medgov ingest)")
    first, last = span
    if period.end < first or period.start > last:
        raise NoDataError(
            f"no data for period {period}: the warehouse's encounters run from {first.isoformat()} "
            f"to {last.isoformat()}"
        )


def _evaluate(
    backend: BaseBackend,
    specs: Sequence[MeasureSpec],
    period: Period,
    *,
    grains: Iterable[str] = ("period",),
    stratifiers: Iterable[str | Sequence[str]] = (),
    reference_period: Period | None = None,
    confidence: float = 0.95,
) -> list[MeasureEvaluation]:
    """Evaluate ``specs`` over ``period`` for every grain x (overall + each stratifier).

    The risk models are fitted on ``reference_period`` (default: the measured period itself, i.e. internal
    standardisation) and applied to the measured period.
    """
    chosen_grains = check_grains(grains)
    chosen_stratifiers = normalise_stratifiers(stratifiers)
    check_period_has_data(backend, period)
    if reference_period is not None and reference_period != period:
        check_period_has_data(backend, reference_period)
    evaluations = []
    context = MeasureContext(backend, period)
    try:
        for spec in specs:
            subjects = _subject_frame(spec, context)
            model_report = None
            if spec.risk_model is not None:
                reference = subjects
                reference_at = reference_period or period
                if reference_at != period:
                    reference = _subject_frame(spec, context.for_period(reference_at))
                subjects, model_report = _apply_risk_model(spec, reference, subjects, reference_at)
            results = aggregate(spec, subjects, period, chosen_grains, chosen_stratifiers, confidence, model_report)
            evaluations.append(MeasureEvaluation(spec, period, results, subjects, model_report))
    finally:
        context.release()
    return evaluations


# --- one row per subject --------------------------------------------------------------------------------


def subject_expression(spec: MeasureSpec, context: MeasureContext) -> ir.Table:
    """The measure's initial population with every criterion, observation and dimension as a column."""
    populations = spec.populations
    ip = populations.initial_population(context)
    missing = [name for name in SUBJECT_COLUMNS if name not in ip.columns]
    if missing:
        raise MeasureInputError(f"measure {spec.id}: the initial population lacks columns {missing}")
    false = ibis.literal(False)
    columns: dict[str, ir.Value] = {name: ip[name] for name in SUBJECT_COLUMNS}
    for name in POPULATIONS[1:]:
        criterion = getattr(populations, name)
        default = ibis.literal(True) if name == "denominator" else false
        columns[f"criterion_{name}"] = (criterion(ip) if criterion is not None else default).fill_null(False)
    for name in ("measure_observation", "numerator_observation", "denominator_observation"):
        observation = getattr(populations, name)
        columns[name] = (
            observation(ip).cast("float64") if observation is not None else ibis.literal(None, type="float64")
        )
    subjects = ip.select(**columns)

    encounter = context.table("encounter")
    organisation = encounter.select(
        dimension_encounter_id=encounter.id,
        hospital=encounter.hospital_id,
        service_line=encounter.service_line_code,
        department=encounter.department_id,
        unit=encounter.location_id,
        practitioner=encounter.attending_practitioner_id,
        admission_type=encounter.priority_code,
    )
    subjects = subjects.left_join(organisation, subjects.encounter_id == organisation.dimension_encounter_id).drop(
        "dimension_encounter_id"
    )
    patient = context.table("patient")
    person = patient.select(
        dimension_patient_id=patient.id,
        sex=patient.sex,
        race=patient.race_code,
        ethnicity=patient.ethnicity_code,
        language=patient.language_code,
    )
    subjects = subjects.left_join(person, subjects.patient_id == person.dimension_patient_id).drop(
        "dimension_patient_id"
    )
    coverage = context.table("coverage")
    anchors = subjects.select("subject_id", "patient_id", "anchor_date")
    policies = coverage.select(
        coverage_patient_id=coverage.patient_id,
        payer_code=coverage.type_code,
        coverage_start=coverage.period_start,
        coverage_end=coverage.period_end,
    )
    in_force = anchors.join(
        policies,
        [
            anchors.patient_id == policies.coverage_patient_id,
            policies.coverage_start.isnull() | (policies.coverage_start.date() <= anchors.anchor_date),
            policies.coverage_end.isnull() | (policies.coverage_end.date() >= anchors.anchor_date),
        ],
    )
    payer = in_force.group_by(payer_subject_id=in_force.subject_id).aggregate(payer_code=in_force.payer_code.min())
    return subjects.left_join(payer, subjects.subject_id == payer.payer_subject_id).drop("payer_subject_id")


def _subject_frame(spec: MeasureSpec, context: MeasureContext) -> pd.DataFrame:
    """Run :func:`subject_expression` and apply FHIR population semantics; one row per subject, sorted."""
    expression = subject_expression(spec, context)
    table = fetch_arrow(context.backend, expression)
    frame = table.to_pandas(types_mapper=None)
    frame = frame.sort_values("subject_id", kind="stable").reset_index(drop=True)
    for name in POPULATIONS[1:]:
        frame[f"criterion_{name}"] = frame[f"criterion_{name}"].fillna(False).astype(bool)
    frame["anchor_date"] = pd.to_datetime(frame["anchor_date"])
    frame["age_years"] = pd.to_numeric(frame["age_years"]).astype("float64")
    for name in ("measure_observation", "numerator_observation", "denominator_observation"):
        frame[name] = pd.to_numeric(frame[name]).astype("float64")

    initial = pd.Series(True, index=frame.index)
    denominator = initial & frame["criterion_denominator"]
    excluded = denominator & frame["criterion_denominator_exclusion"]
    numerator = denominator & ~excluded & frame["criterion_numerator"]
    excepted = denominator & ~excluded & ~numerator & frame["criterion_denominator_exception"]
    numerator_excluded = numerator & frame["criterion_numerator_exclusion"]
    frame["initial_population"] = initial
    frame["denominator"] = denominator
    frame["denominator_exclusion"] = excluded
    frame["denominator_exception"] = excepted
    frame["numerator"] = numerator
    frame["numerator_exclusion"] = numerator_excluded
    frame["measure_population"] = denominator & ~excluded & ~excepted
    frame["outcome"] = (numerator & ~numerator_excluded).astype("float64")

    for name in ("hospital", "service_line", "department", "unit", "practitioner", "sex", "race", "ethnicity",
                 "language", "admission_type"):  # fmt: skip
        frame[name] = frame[name].astype("object").where(frame[name].notna(), UNKNOWN).astype(str)
    payer_code = frame["payer_code"].astype("object")
    frame["payer"] = [
        PAYER_CATEGORIES.get(str(code)[:1], UNKNOWN) if isinstance(code, str) and code else UNKNOWN
        for code in payer_code
    ]
    frame["age_band"] = _age_bands(frame["age_years"])
    frame = frame.drop(columns=[f"criterion_{name}" for name in POPULATIONS[1:]] + ["payer_code"])
    if spec.risk_model is not None and "charlson" in spec.risk_model.covariates:
        frame["charlson"] = _charlson_scores(context, expression, frame)
    result: pd.DataFrame = frame
    return result


def _age_bands(ages: pd.Series) -> list[str]:
    bands = []
    for age in ages:
        label = UNKNOWN
        if not pd.isna(age):
            for low, high, name in AGE_BANDS:
                if age >= low and (high is None or age <= high):
                    label = name
                    break
        bands.append(label)
    return bands


def _charlson_scores(context: MeasureContext, subjects: ir.Table, frame: pd.DataFrame) -> pd.Series:
    """Charlson score (Charlson 1987 weights, Quan 2005 ICD-10 coding) of each episode's secondary diagnoses."""
    if frame.empty:
        return pd.Series(dtype="float64")
    diagnosis = context.table("encounter_diagnosis")
    secondary = diagnosis.filter(~diagnosis.is_principal.fill_null(False), diagnosis.code.notnull())
    wanted = subjects.select(wanted_id=subjects.encounter_id).distinct()
    codes = fetch_arrow(
        context.backend,
        secondary.join(wanted, secondary.encounter_id == wanted.wanted_id).select(
            id=secondary.encounter_id, code=secondary.code
        ),
    ).to_pandas()
    if codes.empty:
        return pd.Series(0.0, index=frame.index)
    scores = comorbidity.charlson(codes, id_column="id", code_column="code")
    lookup = dict(zip(scores["id"].astype(str), scores["score_charlson"].astype(float), strict=True))
    return frame["encounter_id"].astype(str).map(lookup).fillna(0.0).astype("float64")


# --- risk adjustment ------------------------------------------------------------------------------------


def _apply_risk_model(
    spec: MeasureSpec, reference: pd.DataFrame, measured: pd.DataFrame, reference_period: Period
) -> tuple[pd.DataFrame, RiskModelReport]:
    assert spec.risk_model is not None
    kind = spec.risk_model.kind
    covariates = spec.risk_model.covariates
    measured = measured.copy()
    measured["expected"] = np.nan
    in_reference = reference[reference["measure_population"]]
    in_measured = measured["measure_population"]
    if kind is RiskModelKind.REFERENCE_RATE:
        exposure = float(in_reference["denominator_observation"].sum())
        events = float(in_reference["numerator_observation"].sum())
        rate = events / exposure if exposure > 0 else None
        if rate is not None:
            measured.loc[in_measured, "expected"] = measured.loc[in_measured, "denominator_observation"] * rate
        report = RiskModelReport(
            spec.id, spec.version, kind.value, None, reference_period, len(in_reference), events, True, None,
            None, None, {}, None if rate is None else rate * spec.rate_multiplier,
            () if rate is not None else ("the reference period has no exposure",),
        )  # fmt: skip
        return measured, report

    training = in_reference.copy()
    if kind is RiskModelKind.LOGISTIC:
        training["outcome"] = training["outcome"]
        reference_score = training["outcome"].mean() * spec.rate_multiplier if len(training) else None
    else:
        training["outcome"] = training["measure_observation"]
        reference_score = training["outcome"].mean() if len(training) else None
    fitted = risk_models.fit(kind, covariates, training)
    if isinstance(fitted, str):
        report = RiskModelReport(
            spec.id, spec.version, kind.value, None, reference_period, len(training),
            float(training["outcome"].sum()), False, None, None, None, {}, reference_score, (fitted,),
        )  # fmt: skip
        return measured, report
    if in_measured.any():
        measured.loc[in_measured, "expected"] = fitted.predict(measured.loc[in_measured])
    report = RiskModelReport(
        spec.id, spec.version, kind.value, fitted.formula, reference_period, fitted.n, fitted.events,
        fitted.converged, fitted.c_statistic, fitted.calibration_intercept, fitted.calibration_slope,
        dict(fitted.coefficients), None if reference_score is None else float(reference_score), fitted.notes,
    )  # fmt: skip
    return measured, report


# --- aggregation ----------------------------------------------------------------------------------------


def _buckets(anchor: pd.Series, grain: str, period: Period) -> tuple[pd.Series, pd.Series]:
    if grain == "period":
        return (pd.Series(pd.Timestamp(period.start), index=anchor.index),
                pd.Series(pd.Timestamp(period.end), index=anchor.index))  # fmt: skip
    code = {"month": "M", "quarter": "Q", "year": "Y"}[grain]
    spans = anchor.dt.to_period(code)
    start = spans.dt.start_time.clip(lower=pd.Timestamp(period.start))
    end = spans.dt.end_time.dt.normalize().clip(upper=pd.Timestamp(period.end))
    return start, end


RESULT_SCHEMA = pa.schema(
    [
        ("measure_id", pa.string()), ("measure_version", pa.string()), ("scoring", pa.string()),
        ("improvement_notation", pa.string()), ("rate_unit", pa.string()), ("grain", pa.string()),
        ("period_start", pa.date32()), ("period_end", pa.date32()), ("stratifier", pa.string()),
        ("stratum", pa.string()),
        *[(name, pa.string()) for name in DIMENSIONS],
        *[(name, pa.int64()) for name in POPULATIONS],
        ("observation_count", pa.int64()), ("observation_sum", pa.float64()), ("observation_mean", pa.float64()),
        ("observation_median", pa.float64()), ("observation_geometric_mean", pa.float64()),
        ("numerator_observation", pa.float64()), ("denominator_observation", pa.float64()),
        ("score", pa.float64()), ("score_lower", pa.float64()), ("score_upper", pa.float64()),
        ("score_method", pa.string()), ("observed", pa.float64()), ("expected", pa.float64()),
        ("oe_ratio", pa.float64()), ("oe_lower", pa.float64()), ("oe_upper", pa.float64()),
        ("risk_adjusted_score", pa.float64()), ("status", pa.string()), ("reason", pa.string()),
    ]
)  # fmt: skip
"""The tidy result: one row per measure x period bucket x stratum (the overall stratum has stratifier "")."""


def aggregate(
    spec: MeasureSpec,
    subjects: pd.DataFrame,
    period: Period,
    grains: Sequence[str],
    stratifiers: Sequence[tuple[str, ...]],
    confidence: float,
    model: RiskModelReport | None,
) -> pd.DataFrame:
    """Group the subject frame by every grain x (overall + each stratifier) and compute the statistics.

    The grouping runs as one ``GROUPING SETS`` query per grain in an in-process DuckDB over the subject frame
    (an Arrow table in memory, whatever backend produced it), so results do not depend on the warehouse engine.
    """
    work = subjects.copy()
    if "expected" not in work.columns:
        work["expected"] = np.nan
    in_population = work["measure_population"]
    observation = work["measure_observation"].where(in_population)
    work["observation_value"] = observation
    work["observation_log"] = np.log(observation.where(observation > 0))
    work["numerator_value"] = work["numerator_observation"].where(in_population).fillna(0.0)
    work["denominator_value"] = work["denominator_observation"].where(in_population).fillna(0.0)
    work["expected_value"] = work["expected"].where(in_population)
    work["squared_residual"] = ((work["measure_observation"] - work["expected"]) ** 2).where(in_population)
    for name in POPULATIONS:
        work[name] = work[name].astype("int64")
    dimensions = list(DIMENSIONS)
    used = [name for name in dimensions if any(name in stratifier for stratifier in stratifiers)]
    sets = ["(bucket_start, bucket_end)"] + [
        "(bucket_start, bucket_end, " + ", ".join(stratifier) + ")" for stratifier in stratifiers
    ]
    sums = ", ".join(f"sum({name})::BIGINT AS {name}" for name in POPULATIONS)
    query = f"""
        SELECT bucket_start, bucket_end,
               {", ".join(name if name in used else f"NULL::VARCHAR AS {name}" for name in dimensions)},
               {"".join(f"grouping({name}) AS grouped_out_{name}, " for name in used)}
               {sums},
               count(observation_value) AS observation_count,
               sum(observation_value) AS observation_sum,
               avg(observation_value) AS observation_mean,
               median(observation_value) AS observation_median,
               avg(observation_log) AS observation_log_mean,
               var_samp(observation_value) AS observation_variance,
               sum(numerator_value) AS numerator_observation,
               sum(denominator_value) AS denominator_observation,
               sum(expected_value) AS expected,
               count(expected_value) AS expected_count,
               sum(squared_residual) AS squared_residuals
        FROM subjects
        GROUP BY GROUPING SETS ({", ".join(sets)})
    """
    columns = ["anchor_date", *dimensions, *POPULATIONS, "observation_value", "observation_log", "numerator_value",
               "denominator_value", "expected_value", "squared_residual"]  # fmt: skip
    frames = []
    connection = duckdb.connect()
    try:
        for grain in grains:
            if work.empty:
                continue
            frame = work[columns].copy()
            frame["bucket_start"], frame["bucket_end"] = _buckets(frame["anchor_date"], grain, period)
            for name in dimensions:
                frame[name] = frame[name].astype(str)
            connection.register("subjects", pa.Table.from_pandas(frame, preserve_index=False))
            grouped = connection.sql(query).to_df()
            connection.unregister("subjects")
            present = grouped[[f"grouped_out_{name}" for name in used]].to_numpy() == 0
            by_set = {frozenset(stratifier): stratifier for stratifier in stratifiers}
            labels = [
                by_set.get(frozenset(name for name, grouped_in in zip(used, row, strict=True) if grouped_in), ())
                for row in present
            ]
            grouped["grain"] = grain
            grouped["stratifier"] = ["+".join(item) for item in labels]
            grouped["stratum"] = [
                "|".join(str(value) for value in values)
                for values in (
                    [row[name] for name in item] for item, row in zip(labels, grouped.to_dict("records"), strict=True)
                )
            ]
            grouped["order"] = [0 if not item else 1 + list(stratifiers).index(item) for item in labels]
            frames.append(grouped.sort_values(["bucket_start", "order", "stratum"], kind="stable"))
    finally:
        connection.close()
    if not frames:
        empty: pd.DataFrame = RESULT_SCHEMA.empty_table().to_pandas()
        return empty
    combined = pd.concat(frames, ignore_index=True)
    rows = [_statistics(spec, record, confidence, model) for record in combined.to_dict("records")]
    results: pd.DataFrame = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA).to_pandas()
    return results


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _statistics(
    spec: MeasureSpec, record: dict[str, object], confidence: float, model: RiskModelReport | None
) -> dict[str, object]:
    counts = {name: int(record[name]) for name in POPULATIONS}  # type: ignore[call-overload]
    effective_denominator = counts["denominator"] - counts["denominator_exclusion"] - counts["denominator_exception"]
    effective_numerator = counts["numerator"] - counts["numerator_exclusion"]
    observation_count = int(record["observation_count"])  # type: ignore[call-overload]
    row: dict[str, object] = {
        "measure_id": spec.id,
        "measure_version": spec.version,
        "scoring": spec.scoring.value,
        "improvement_notation": spec.improvement_notation.value,
        "rate_unit": spec.rate_unit,
        "grain": record["grain"],
        "period_start": pd.Timestamp(record["bucket_start"]).date(),  # type: ignore[arg-type]
        "period_end": pd.Timestamp(record["bucket_end"]).date(),  # type: ignore[arg-type]
        "stratifier": record["stratifier"],
        "stratum": record["stratum"],
        **{name: record[name] if isinstance(record[name], str) else None for name in DIMENSIONS},
        **counts,
        "observation_count": observation_count,
        "observation_sum": None,
        "observation_mean": None,
        "observation_median": None,
        "observation_geometric_mean": None,
        "numerator_observation": None,
        "denominator_observation": None,
        "score": None,
        "score_lower": None,
        "score_upper": None,
        "score_method": None,
        "observed": None,
        "expected": None,
        "oe_ratio": None,
        "oe_lower": None,
        "oe_upper": None,
        "risk_adjusted_score": None,
        "status": CALCULABLE,
        "reason": None,
    }
    if spec.scoring is Scoring.COHORT:
        return row
    if spec.scoring is Scoring.CONTINUOUS_VARIABLE:
        row["observation_sum"] = _finite(record["observation_sum"])
        row["observation_mean"] = _finite(record["observation_mean"])
        row["observation_median"] = _finite(record["observation_median"])
        log_mean = _finite(record["observation_log_mean"])
        row["observation_geometric_mean"] = None if log_mean is None else math.exp(log_mean)
    if spec.scoring is Scoring.RATIO:
        row["numerator_observation"] = _finite(record["numerator_observation"])
        row["denominator_observation"] = _finite(record["denominator_observation"])
    size = observation_count if spec.scoring is Scoring.CONTINUOUS_VARIABLE else effective_denominator
    if size < spec.minimum_denominator:
        row["status"] = NOT_CALCULABLE
        row["reason"] = f"{size} cases in the denominator; at least {spec.minimum_denominator:g} are needed"
        return row

    if spec.scoring is Scoring.PROPORTION:
        interval = intervals.wilson_interval(
            effective_numerator, effective_denominator, confidence=confidence, multiplier=spec.rate_multiplier
        )
        row["observed"] = float(effective_numerator)
    elif spec.scoring is Scoring.RATIO:
        events = float(record["numerator_observation"])  # type: ignore[arg-type]
        exposure = float(record["denominator_observation"])  # type: ignore[arg-type]
        interval = intervals.rate_interval(events, exposure, confidence=confidence, multiplier=spec.rate_multiplier)
        row["observed"] = events
    else:
        mean = float(record["observation_mean"])  # type: ignore[arg-type]
        variance = _finite(record["observation_variance"]) or 0.0
        half = intervals.two_sided_z(confidence) * math.sqrt(variance / observation_count)
        interval = intervals.Interval(mean, mean - half, mean + half, confidence, "normal")
        row["observed"] = _finite(record["observation_sum"])
    row["score"], row["score_lower"], row["score_upper"] = interval.estimate, interval.lower, interval.upper
    row["score_method"] = interval.method
    if interval.estimate is None:
        row["status"] = NOT_CALCULABLE
        row["reason"] = interval.reason

    if model is None or int(record["expected_count"]) == 0:  # type: ignore[call-overload]
        return row
    expected = float(record["expected"])  # type: ignore[arg-type]
    observed = float(row["observed"] or 0.0)  # type: ignore[arg-type]
    row["expected"] = expected
    if expected <= 0:
        return row
    if spec.risk_model is not None and spec.risk_model.kind is RiskModelKind.POISSON:
        residual = math.sqrt(float(record["squared_residuals"]))  # type: ignore[arg-type]
        half = intervals.two_sided_z(confidence) * residual / expected
        ratio = observed / expected
        row["oe_ratio"], row["oe_lower"], row["oe_upper"] = ratio, max(ratio - half, 0.0), ratio + half
    else:
        oe = intervals.observed_expected_ratio(observed, expected, confidence=confidence)
        row["oe_ratio"], row["oe_lower"], row["oe_upper"] = oe.estimate, oe.lower, oe.upper
    if model.reference_score is not None and row["oe_ratio"] is not None:
        row["risk_adjusted_score"] = float(row["oe_ratio"]) * model.reference_score  # type: ignore[arg-type]
    return row


def results_table(evaluations: Sequence[MeasureEvaluation]) -> pa.Table:
    """All evaluations' tidy results as one Arrow table with :data:`RESULT_SCHEMA`."""
    tables = [pa.Table.from_pandas(item.results, schema=RESULT_SCHEMA, preserve_index=False) for item in evaluations]
    return pa.concat_tables(tables) if tables else RESULT_SCHEMA.empty_table()


def evaluate(
    backend: BaseBackend,
    specs: Sequence[MeasureSpec],
    period: Period,
    *,
    grains: Iterable[str] = ("period",),
    stratifiers: Iterable[str | Sequence[str]] = (),
    reference_period: Period | None = None,
    confidence: float = 0.95,
) -> list[MeasureEvaluation]:
    """Evaluate ``specs`` over ``period`` for every grain x (overall + each stratifier).

    The risk models are fitted on ``reference_period`` (default: the measured period itself, i.e. internal
    standardisation) and applied to the measured period.
    """
    with quiet_ibis_duckdb_deprecations():
        return _evaluate(
            backend, specs, period, grains=grains, stratifiers=stratifiers, reference_period=reference_period,
            confidence=confidence,
        )  # fmt: skip


def subject_frame(spec: MeasureSpec, context: MeasureContext) -> pd.DataFrame:
    """One row per subject of ``spec`` with FHIR population flags, observations and dimensions, sorted."""
    with quiet_ibis_duckdb_deprecations():
        return _subject_frame(spec, context)


def data_span(backend: BaseBackend) -> tuple[dt.date, dt.date] | None:
    """First and last day with an encounter in the warehouse, or None when it holds none."""
    with quiet_ibis_duckdb_deprecations():
        return _data_span(backend)
