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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend
from threadpoolctl import threadpool_limits

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
    in_sample: risk_models.ModelCheck | None = None
    """Discrimination and calibration on the reference period's cases, the ones it was fitted on."""
    held_out: risk_models.ModelCheck | None = None
    """The same on the measured period's cases outside the reference period (None when there are none, e.g.
    when the model is fitted on the measured period itself)."""


@dataclass(frozen=True)
class MeasureEvaluation:
    """One measure evaluated: tidy results (Arrow, :data:`RESULT_SCHEMA`), the subject-level frame (for subject
    lists) and its risk model."""

    spec: MeasureSpec
    period: Period
    table: pa.Table = field(repr=False)
    subjects: pd.DataFrame = field(repr=False)
    model: RiskModelReport | None = None

    @cached_property
    def results(self) -> pd.DataFrame:
        """The tidy results as a pandas frame (made on first use only)."""
        frame: pd.DataFrame = self.table.to_pandas()
        return frame


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
    reference_at = reference_period or period
    # One subject query per measure covers both periods: a subject belongs to a period by its anchor date
    # (the contract of ``SUBJECT_COLUMNS``), so each period's subjects are a slice of the span's.
    span = Period(min(period.start, reference_at.start), max(period.end, reference_at.end))
    context = MeasureContext(backend, span)
    try:
        for spec in specs:
            everyone = _subject_frame(spec, context)
            subjects = _within(everyone, period)
            model_report = None
            if spec.risk_model is not None:
                reference = subjects if reference_at == period else _within(everyone, reference_at)
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
    joined = subjects.left_join(payer, subjects.subject_id == payer.payer_subject_id).drop("payer_subject_id")
    # Sorted by the engine, so the frame needs no reordering (a copy of every column) in pandas.
    return joined.order_by("subject_id")


def _subject_frame(spec: MeasureSpec, context: MeasureContext) -> pd.DataFrame:
    """Run :func:`subject_expression` and apply FHIR population semantics; one row per subject, sorted."""
    expression = subject_expression(spec, context)
    table = fetch_arrow(context.backend, expression)
    frame = table.to_pandas(types_mapper=None)
    if not frame["subject_id"].is_monotonic_increasing:
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
        frame[name] = frame[name].fillna(UNKNOWN).astype(str)
    frame["payer"] = frame["payer_code"].astype("string").str[:1].map(PAYER_CATEGORIES).fillna(UNKNOWN).astype(str)
    frame["age_band"] = _age_bands(frame["age_years"])
    frame = frame.drop(columns=[f"criterion_{name}" for name in POPULATIONS[1:]] + ["payer_code"])
    if spec.risk_model is not None:
        frame = _with_covariates(context, frame, spec.risk_model.covariates)
    result: pd.DataFrame = frame
    return result


def _within(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The subjects of ``frame`` whose anchor date falls in ``period``, in the same order."""
    anchor = frame["anchor_date"]
    inside = (anchor >= pd.Timestamp(period.start)) & (anchor <= pd.Timestamp(period.end))
    if inside.all():
        return frame
    return frame[inside.to_numpy()].reset_index(drop=True)


def _age_bands(ages: pd.Series) -> npt.NDArray[np.object_]:
    values = ages.to_numpy(dtype=np.float64)
    conditions = [(values >= low) & (values <= (np.inf if high is None else high)) for low, high, _ in AGE_BANDS]
    return np.select(conditions, [name for _, _, name in AGE_BANDS], default=UNKNOWN).astype(object)


def encounter_covariates(context: MeasureContext) -> pd.DataFrame:
    """Per encounter with diagnoses (index ``encounter_id``): ``charlson`` (Charlson 1987 weights, Quan 2005
    ICD-10 coding) and ``elixhauser`` (van Walraven 2009 weights, Quan 2005 coding, Elixhauser hierarchy) of
    its secondary diagnoses, and ``principal_group`` of its principal diagnosis. Computed once per
    evaluation, for every encounter, and shared by all measures and periods."""
    cached = context.frames.get("encounter_covariates")
    if isinstance(cached, pd.DataFrame):
        return cached
    diagnosis = context.table("encounter_diagnosis")
    codes = fetch_arrow(
        context.backend,
        diagnosis.filter(diagnosis.code.notnull(), diagnosis.encounter_id.notnull()).select(
            encounter_id=diagnosis.encounter_id, code=diagnosis.code, principal=diagnosis.is_principal.fill_null(False)
        ),
    ).to_pandas()
    secondary = codes[~codes["principal"]]
    result = pd.DataFrame(index=pd.Index(codes["encounter_id"].unique(), name="encounter_id"))
    if not secondary.empty:
        charlson = comorbidity.charlson(secondary, id_column="encounter_id", code_column="code", apply_hierarchy=True)
        elixhauser = comorbidity.elixhauser(
            secondary, id_column="encounter_id", code_column="code", apply_hierarchy=True
        )
        result["charlson"] = charlson.set_index("encounter_id")["score_charlson"].astype("float64")
        result["elixhauser"] = elixhauser.set_index("encounter_id")["score_vw"].astype("float64")
    principal = codes[codes["principal"]].groupby("encounter_id")["code"].min()
    groups = {code: risk_models.principal_diagnosis_group(code) for code in principal.unique()}
    result["principal_group"] = principal.map(groups)
    result = result.reindex(columns=["charlson", "elixhauser", "principal_group"])
    result[["charlson", "elixhauser"]] = result[["charlson", "elixhauser"]].astype("float64").fillna(0.0)
    result["principal_group"] = (
        result["principal_group"].astype(object).where(result["principal_group"].notna(), UNKNOWN)
    )
    context.frames["encounter_covariates"] = result
    return result


def _with_covariates(context: MeasureContext, frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    wanted = [name for name in ("charlson", "elixhauser", "principal_group") if name in covariates]
    if not wanted:
        return frame
    table = encounter_covariates(context)
    # A lookup by position: the covariate index keeps its hash table from one measure to the next.
    positions = table.index.get_indexer(pd.Index(frame["encounter_id"]))
    found = positions >= 0
    joined = frame.copy()
    for name in wanted:
        values = table[name].to_numpy()
        missing = UNKNOWN if name == "principal_group" else 0.0
        column = np.full(len(frame), missing, dtype=values.dtype)
        column[found] = values[positions[found]]
        joined[name] = column
    return joined


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
    in_measured = measured["measure_population"].to_numpy(dtype=bool)
    anchor = measured["anchor_date"]
    in_reference_period = (anchor >= pd.Timestamp(reference_period.start)) & (
        anchor <= pd.Timestamp(reference_period.end)
    )
    held_out = in_measured & ~in_reference_period.to_numpy()
    if kind is RiskModelKind.REFERENCE_RATE:
        exposure = float(in_reference["denominator_observation"].sum())
        events = float(in_reference["numerator_observation"].sum())
        rate = events / exposure if exposure > 0 else None
        in_sample_check = held_out_check = None
        if rate is not None:
            measured.loc[in_measured, "expected"] = measured.loc[in_measured, "denominator_observation"] * rate
            in_sample_check = _rate_check(in_reference["numerator_observation"],
                                          in_reference["denominator_observation"] * rate)  # fmt: skip
            held_out_check = _rate_check(measured.loc[held_out, "numerator_observation"],
                                         measured.loc[held_out, "expected"])  # fmt: skip
        report = RiskModelReport(
            spec.id, spec.version, kind.value, None, reference_period, len(in_reference), events, True, None,
            None, None, {}, None if rate is None else rate * spec.rate_multiplier,
            () if rate is not None else ("the reference period has no exposure",), in_sample_check, held_out_check,
        )  # fmt: skip
        return measured, report

    training = in_reference.copy()
    if kind is RiskModelKind.LOGISTIC:
        training["outcome"] = training["outcome"]
        reference_score = training["outcome"].mean() * spec.rate_multiplier if len(training) else None
        outcome_column = "outcome"
    else:
        training["outcome"] = training["measure_observation"]
        reference_score = training["outcome"].mean() if len(training) else None
        outcome_column = "measure_observation"
    fitted = risk_models.fit(kind, covariates, training)
    if isinstance(fitted, str):
        report = RiskModelReport(
            spec.id, spec.version, kind.value, None, reference_period, len(training),
            float(training["outcome"].sum()), False, None, None, None, {}, reference_score, (fitted,),
        )  # fmt: skip
        return measured, report
    if in_measured.any():
        measured.loc[in_measured, "expected"] = fitted.predict(measured.loc[in_measured])
    held_out_check = None
    if held_out.any():
        observed = measured.loc[held_out, outcome_column].to_numpy(dtype=np.float64)
        predicted = measured.loc[held_out, "expected"].to_numpy(dtype=np.float64)
        present = ~np.isnan(observed) & ~np.isnan(predicted)
        held_out_check = risk_models.check_model(kind, observed[present], predicted[present])
    report = RiskModelReport(
        spec.id, spec.version, kind.value, fitted.formula, reference_period, fitted.n, fitted.events,
        fitted.converged, fitted.c_statistic, fitted.calibration_intercept, fitted.calibration_slope,
        dict(fitted.coefficients), None if reference_score is None else float(reference_score), fitted.notes,
        fitted.in_sample, held_out_check,
    )  # fmt: skip
    return measured, report


def _rate_check(events: pd.Series, expected: pd.Series) -> risk_models.ModelCheck | None:
    """A reference-rate model checked as the Poisson model it is (events against exposure x rate), over the
    cases with exposure."""
    observed, predicted = events.to_numpy(dtype=np.float64), expected.to_numpy(dtype=np.float64)
    exposed = ~np.isnan(observed) & (np.nan_to_num(predicted) > 0)
    if not exposed.any():
        return None
    return risk_models.check_model(RiskModelKind.POISSON, observed[exposed], predicted[exposed])


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
) -> pa.Table:
    """Group the subject frame by every grain x (overall + each stratifier) and compute the statistics.

    The grouping runs as one ``GROUPING SETS`` query over all grains in an in-process DuckDB over the subject
    frame (in memory, whatever backend produced it), so results do not depend on the warehouse engine; the
    statistics are then computed over all strata at once (:func:`_statistics`).
    """
    if subjects.empty:
        return RESULT_SCHEMA.empty_table()
    in_population = subjects["measure_population"].to_numpy(dtype=bool)
    observation = subjects["measure_observation"].to_numpy(dtype=np.float64)
    expected = (
        subjects["expected"].to_numpy(dtype=np.float64)
        if "expected" in subjects.columns
        else np.full(len(subjects), np.nan)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        observation_log = np.where(observation > 0, np.log(observation), np.nan)
    dimensions = list(DIMENSIONS)
    used = [name for name in dimensions if any(name in stratifier for stratifier in stratifiers)]
    frame = pa.table(
        {
            "anchor_date": pa.array(subjects["anchor_date"].to_numpy(dtype="datetime64[D]")),
            **{name: pa.array(subjects[name], pa.string()) for name in used},
            **{name: pa.array(subjects[name].to_numpy(dtype=bool)) for name in POPULATIONS},
            "observation_value": pa.array(np.where(in_population, observation, np.nan), from_pandas=True),
            "observation_log": pa.array(np.where(in_population, observation_log, np.nan), from_pandas=True),
            "numerator_value": np.where(
                in_population, np.nan_to_num(subjects["numerator_observation"].to_numpy(dtype=np.float64)), 0.0
            ),
            "denominator_value": np.where(
                in_population, np.nan_to_num(subjects["denominator_observation"].to_numpy(dtype=np.float64)), 0.0
            ),
            "expected_value": pa.array(np.where(in_population, expected, np.nan), from_pandas=True),
            "squared_residual": pa.array(
                np.where(in_population, (observation - expected) ** 2, np.nan), from_pandas=True
            ),
        }
    )
    connection = duckdb.connect()
    try:
        connection.register("subjects", frame)
        observations = spec.populations.measure_observation is not None
        ratio = spec.populations.numerator_observation is not None or (
            spec.populations.denominator_observation is not None
        )
        has_expected = not np.isnan(expected).all()
        if observations:
            # A median does not add up from months to quarters: every grain is grouped from the subjects.
            query = _grouping_query(grains, stratifiers, used, period, observations=True, ratio=ratio,
                                    expected=has_expected)  # fmt: skip
        else:
            query = _monthly_rollup_query(grains, stratifiers, used, period, ratio=ratio, expected=has_expected)
        grouped = connection.sql(query).to_arrow_table()
    finally:
        connection.close()
    return _statistics(spec, grouped, confidence, model)


def _grouping_query(
    grains: Sequence[str],
    stratifiers: Sequence[tuple[str, ...]],
    used: Sequence[str],
    period: Period,
    *,
    observations: bool = True,
    ratio: bool = True,
    expected: bool = True,
) -> str:
    """One ``GROUPING SETS`` query for every grain x (overall + each stratifier), labelled and ordered.

    A calendar bucket is clipped to the measurement period, as a month that starts before the period reports
    only the days inside it. Aggregates over a column the measure does not have (``observations``: a measure
    observation; ``ratio``: numerator or denominator observations; ``expected``: a risk model's expected
    values) are written as the constants they would give (no values: a count of 0 and NULL sums; zeros: sums
    of 0), so the query only aggregates what the measure has: each aggregate runs once per grouping set.
    """
    bucket = {
        "period": f"DATE '{period.start.isoformat()}'",
        "month": "date_trunc('month', anchor_date)::DATE",
        "quarter": "date_trunc('quarter', anchor_date)::DATE",
        "year": "date_trunc('year', anchor_date)::DATE",
    }
    length = {"month": "INTERVAL 1 MONTH", "quarter": "INTERVAL 3 MONTH", "year": "INTERVAL 1 YEAR"}
    sets = [f"(bucket_{grain}{''.join(f', {name}' for name in stratifier)})" for grain in grains
            for stratifier in ((), *stratifiers)]  # fmt: skip
    grain_case = " ".join(f"WHEN grouping(bucket_{grain}) = 0 THEN {index}" for index, grain in enumerate(grains))
    start_case = " ".join(f"WHEN grouping(bucket_{grain}) = 0 THEN bucket_{grain}" for grain in grains)
    end_case = " ".join(
        f"WHEN grouping(bucket_{grain}) = 0 THEN "
        + (
            f"DATE '{period.end.isoformat()}'"
            if grain == "period"
            else f"(bucket_{grain} + {length[grain]} - INTERVAL 1 DAY)::DATE"
        )
        for grain in grains
    )

    def matches(stratifier: tuple[str, ...]) -> str:
        return " AND ".join(f"grouping({name}) = {0 if name in stratifier else 1}" for name in used) or "TRUE"

    stratifier_case = " ".join(
        f"WHEN {matches(stratifier)} THEN {index}" for index, stratifier in enumerate(((), *stratifiers))
    )
    stratifier_name_case = " ".join(
        f"WHEN {matches(stratifier)} THEN '{'+'.join(stratifier)}'" for stratifier in ((), *stratifiers)
    )
    grain_name_case = " ".join(f"WHEN grouping(bucket_{grain}) = 0 THEN '{grain}'" for grain in grains)
    stratum_case = " ".join(
        f"WHEN {matches(stratifier)} THEN " + (f"concat_ws('|', {', '.join(stratifier)})" if stratifier else "''")
        for stratifier in ((), *stratifiers)
    )
    sums = ", ".join(f"sum({name}::INTEGER)::BIGINT AS {name}" for name in POPULATIONS)
    aggregate_sql = {
        "observation_count": ("count(observation_value)", "0::BIGINT", observations),
        "observation_sum": ("sum(observation_value)", "NULL::DOUBLE", observations),
        "observation_mean": ("avg(observation_value)", "NULL::DOUBLE", observations),
        "observation_median": ("median(observation_value)", "NULL::DOUBLE", observations),
        "observation_log_mean": ("avg(observation_log)", "NULL::DOUBLE", observations),
        "observation_variance": ("var_samp(observation_value)", "NULL::DOUBLE", observations),
        "numerator_observation": ("sum(numerator_value)", "0.0::DOUBLE", ratio),
        "denominator_observation": ("sum(denominator_value)", "0.0::DOUBLE", ratio),
        "expected": ("sum(expected_value)", "NULL::DOUBLE", expected),
        "expected_count": ("count(expected_value)", "0::BIGINT", expected),
        "squared_residuals": ("sum(squared_residual)", "NULL::DOUBLE", expected and observations),
    }
    aggregates = ", ".join(
        f"{computed if needed else constant} AS {name}" for name, (computed, constant, needed) in aggregate_sql.items()
    )
    return f"""
        WITH subjects_by_bucket AS (
            SELECT *, {", ".join(f"{bucket[grain]} AS bucket_{grain}" for grain in grains)} FROM subjects
        ), grouped AS (
            SELECT CASE {grain_case} END AS grain_index,
                   CASE {grain_name_case} END AS grain,
                   CASE {stratifier_name_case} END AS stratifier,
                   CASE {start_case} END AS bucket_start,
                   CASE {end_case} END AS bucket_end,
                   CASE {stratifier_case} END AS stratifier_index,
                   CASE {stratum_case} END AS stratum,
                   {", ".join(name if name in used else f"NULL::VARCHAR AS {name}" for name in DIMENSIONS)},
                   {sums},
                   {aggregates}
            FROM subjects_by_bucket
            GROUP BY GROUPING SETS ({", ".join(sets)})
        )
        SELECT * REPLACE (
                   greatest(bucket_start, DATE '{period.start.isoformat()}') AS bucket_start,
                   least(bucket_end, DATE '{period.end.isoformat()}') AS bucket_end)
        FROM grouped
        ORDER BY grain_index, bucket_start, stratifier_index, stratum
    """


def _monthly_rollup_query(
    grains: Sequence[str],
    stratifiers: Sequence[tuple[str, ...]],
    used: Sequence[str],
    period: Period,
    *,
    ratio: bool,
    expected: bool,
) -> str:
    """The result of :func:`_grouping_query` for a measure without a measure observation, grouped from months.

    Counts and sums add up, so the subjects are grouped once, by calendar month x (overall + each stratifier),
    and every grain is summed from those monthly groups: one pass over the subjects instead of one per grain.
    The dimensions are never NULL in the subject frame (a missing value is ``unknown``), so a NULL dimension in
    a monthly group means the stratifier does not use it. Sums of fractions add the months in calendar order:
    the monthly groups reach the second step in whatever order DuckDB's threads finish them, and a
    floating-point sum in another order differs in its last bits from one run to the next.
    """
    strata = ((), *stratifiers)
    sets = ", ".join(f"(bucket_month{''.join(f', {name}' for name in stratifier)})" for stratifier in strata)

    def matches(stratifier: tuple[str, ...]) -> str:
        return " AND ".join(f"grouping({name}) = {0 if name in stratifier else 1}" for name in used) or "TRUE"

    stratifier_case = " ".join(f"WHEN {matches(stratifier)} THEN {index}" for index, stratifier in enumerate(strata))
    monthly_sums = [f"sum({name}::INTEGER)::BIGINT AS {name}" for name in POPULATIONS]
    rolled_sums = [f"sum({name})::BIGINT AS {name}" for name in POPULATIONS]
    if ratio:
        monthly_sums += ["sum(numerator_value) AS numerator_observation",
                         "sum(denominator_value) AS denominator_observation"]  # fmt: skip
        rolled_sums += ["sum(numerator_observation ORDER BY bucket_month) AS numerator_observation",
                        "sum(denominator_observation ORDER BY bucket_month) AS denominator_observation"]  # fmt: skip
    if expected:
        monthly_sums += ["sum(expected_value) AS expected", "count(expected_value) AS expected_count"]
        rolled_sums += [
            "sum(expected ORDER BY bucket_month) AS expected",
            "sum(expected_count)::BIGINT AS expected_count",
        ]
    length = {"month": "INTERVAL 1 MONTH", "quarter": "INTERVAL 3 MONTH", "year": "INTERVAL 1 YEAR"}
    start, end = f"DATE '{period.start.isoformat()}'", f"DATE '{period.end.isoformat()}'"
    dimensions = ", ".join(used)
    per_grain = []
    for index, grain in enumerate(grains):
        bucket = start if grain == "period" else f"date_trunc('{grain}', bucket_month)::DATE"
        bucket_end = end if grain == "period" else f"(bucket + {length[grain]} - INTERVAL 1 DAY)::DATE"
        per_grain.append(
            f"SELECT {index} AS grain_index, '{grain}' AS grain, bucket, {bucket_end} AS bucket_end, * EXCLUDE (bucket) "
            f"FROM (SELECT {bucket} AS bucket, stratifier_index{''.join(f', {name}' for name in used)}, "
            f"{', '.join(rolled_sums)} FROM monthly GROUP BY ALL)"
        )
    stratifier_name = " ".join(f"WHEN {index} THEN '{'+'.join(stratifier)}'" for index, stratifier in enumerate(strata))
    stratum = " ".join(
        f"WHEN {index} THEN " + (f"concat_ws('|', {', '.join(stratifier)})" if stratifier else "''")
        for index, stratifier in enumerate(strata)
    )
    constant = {
        "numerator_observation": "0.0::DOUBLE", "denominator_observation": "0.0::DOUBLE", "expected": "NULL::DOUBLE",
        "expected_count": "0::BIGINT",
    }  # fmt: skip
    sums = [*POPULATIONS, *(["numerator_observation", "denominator_observation"] if ratio else [])]
    sums += ["expected", "expected_count"] if expected else []
    columns = [
        "grain_index", "grain", f"CASE stratifier_index {stratifier_name} END AS stratifier",
        f"greatest(bucket, {start}) AS bucket_start", f"least(bucket_end, {end}) AS bucket_end", "stratifier_index",
        f"CASE stratifier_index {stratum} END AS stratum",
        *(name if name in used else f"NULL::VARCHAR AS {name}" for name in DIMENSIONS),
        *POPULATIONS,
        "0::BIGINT AS observation_count", *(f"NULL::DOUBLE AS observation_{name}" for name in
                                            ("sum", "mean", "median", "log_mean", "variance")),
        *(name if name in sums else f"{constant[name]} AS {name}" for name in
          ("numerator_observation", "denominator_observation", "expected", "expected_count")),
        "NULL::DOUBLE AS squared_residuals",
    ]  # fmt: skip
    return f"""
        WITH monthly AS (
            SELECT bucket_month, CASE {stratifier_case} END AS stratifier_index{", " if used else ""}{dimensions},
                   {", ".join(monthly_sums)}
            FROM (SELECT *, date_trunc('month', anchor_date)::DATE AS bucket_month FROM subjects)
            GROUP BY GROUPING SETS ({sets})
        ), rolled AS (
            {" UNION ALL ".join(per_grain)}
        )
        SELECT {", ".join(columns)}
        FROM rolled
        ORDER BY grain_index, bucket_start, stratifier_index, stratum
    """


def _numbers(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    """A numeric column as float64, nulls as NaN."""
    return np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)


def _reasons(where: npt.NDArray[np.bool_], reason: str) -> npt.NDArray[np.object_]:
    """``reason`` where ``where`` holds, None elsewhere."""
    result = np.full(len(where), None, dtype=object)
    result[where] = reason
    return result


def _finite_array(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(np.isfinite(values), values, np.nan)


def _statistics(spec: MeasureSpec, grouped: pa.Table, confidence: float, model: RiskModelReport | None) -> pa.Table:
    """Scores, intervals and O/E ratios of every stratum at once (see the module docstring for the methods)."""
    rows = grouped.num_rows
    counts = {name: _numbers(grouped, name).astype(np.int64) for name in POPULATIONS}
    effective_denominator = counts["denominator"] - counts["denominator_exclusion"] - counts["denominator_exception"]
    effective_numerator = counts["numerator"] - counts["numerator_exclusion"]
    observation_count = _numbers(grouped, "observation_count").astype(np.int64)
    nan = np.full(rows, np.nan)
    result: dict[str, object] = {
        name: np.full(rows, value, dtype=object)
        for name, value in (
            ("measure_id", spec.id), ("measure_version", spec.version), ("scoring", spec.scoring.value),
            ("improvement_notation", spec.improvement_notation.value), ("rate_unit", spec.rate_unit),
        )
    }  # fmt: skip
    result["grain"] = grouped["grain"]
    result["period_start"] = grouped["bucket_start"]
    result["period_end"] = grouped["bucket_end"]
    result["stratifier"] = grouped["stratifier"]
    result["stratum"] = grouped["stratum"]
    for name in DIMENSIONS:
        result[name] = grouped[name]
    for name in POPULATIONS:
        result[name] = counts[name]
    result["observation_count"] = observation_count
    statistics = {
        name: nan.copy()
        for name in ("observation_sum", "observation_mean", "observation_median", "observation_geometric_mean",
                     "numerator_observation", "denominator_observation", "score", "score_lower", "score_upper",
                     "observed", "expected", "oe_ratio", "oe_lower", "oe_upper", "risk_adjusted_score")
    }  # fmt: skip
    score_method = np.full(rows, None, dtype=object)
    status = np.full(rows, CALCULABLE, dtype=object)
    reason = np.full(rows, None, dtype=object)
    if spec.scoring is Scoring.COHORT:
        for name, values in statistics.items():
            result[name] = pa.array(values, pa.float64(), from_pandas=True)
        result["score_method"], result["status"], result["reason"] = score_method, status, reason
        return pa.table({field.name: result[field.name] for field in RESULT_SCHEMA}, schema=RESULT_SCHEMA)
    if spec.scoring is Scoring.CONTINUOUS_VARIABLE:
        statistics["observation_sum"] = _finite_array(_numbers(grouped, "observation_sum"))
        statistics["observation_mean"] = _finite_array(_numbers(grouped, "observation_mean"))
        statistics["observation_median"] = _finite_array(_numbers(grouped, "observation_median"))
        statistics["observation_geometric_mean"] = np.exp(_finite_array(_numbers(grouped, "observation_log_mean")))
    if spec.scoring is Scoring.RATIO:
        statistics["numerator_observation"] = _finite_array(_numbers(grouped, "numerator_observation"))
        statistics["denominator_observation"] = _finite_array(_numbers(grouped, "denominator_observation"))
    size = observation_count if spec.scoring is Scoring.CONTINUOUS_VARIABLE else effective_denominator
    small = size < spec.minimum_denominator
    status[small] = NOT_CALCULABLE
    reason[small] = [f"{count} cases in the denominator; at least {spec.minimum_denominator:g} are needed"
                     for count in size[small]]  # fmt: skip
    calculable = ~small
    multiplier = spec.rate_multiplier
    if spec.scoring is Scoring.PROPORTION:
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = effective_numerator / effective_denominator * multiplier
        lower, upper = intervals.wilson_limits_array(effective_numerator, effective_denominator, confidence=confidence)
        lower, upper = lower * multiplier, upper * multiplier
        method = np.full(rows, "wilson", dtype=object)
        observed = effective_numerator.astype(np.float64)
        empty_reason = _reasons(effective_denominator == 0, "denominator is zero")
    elif spec.scoring is Scoring.RATIO:
        events = _numbers(grouped, "numerator_observation")
        exposure = _numbers(grouped, "denominator_observation")
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(exposure > 0, multiplier / exposure, np.nan)
        lower, upper = intervals.poisson_count_limits_array(events, confidence=confidence)
        estimate, lower, upper = events * scale, lower * scale, upper * scale
        method = intervals.poisson_method_array(events)
        observed = events
        empty_reason = _reasons(exposure == 0, "denominator is zero")
    else:
        estimate = _numbers(grouped, "observation_mean")
        variance = np.nan_to_num(_finite_array(_numbers(grouped, "observation_variance")), nan=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            half = intervals.two_sided_z(confidence) * np.sqrt(variance / observation_count)
        lower, upper = estimate - half, estimate + half
        method = np.full(rows, "normal", dtype=object)
        observed = statistics["observation_sum"]
        empty_reason = np.full(rows, None, dtype=object)
    statistics["score"] = np.where(calculable, estimate, np.nan)
    statistics["score_lower"] = np.where(calculable, lower, np.nan)
    statistics["score_upper"] = np.where(calculable, upper, np.nan)
    score_method[calculable] = method[calculable]
    statistics["observed"] = np.where(calculable, observed, np.nan)
    no_estimate = calculable & np.isnan(statistics["score"])
    status[no_estimate] = NOT_CALCULABLE
    reason[no_estimate] = empty_reason[no_estimate]

    if model is not None:
        with_expected = calculable & (_numbers(grouped, "expected_count") > 0)
        expected = np.where(with_expected, _numbers(grouped, "expected"), np.nan)
        statistics["expected"] = expected
        positive = with_expected & (expected > 0)
        observed_or_zero = np.nan_to_num(statistics["observed"], nan=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = observed_or_zero / expected
            if spec.risk_model is not None and spec.risk_model.kind is RiskModelKind.POISSON:
                half = intervals.two_sided_z(confidence) * np.sqrt(_numbers(grouped, "squared_residuals")) / expected
                oe_lower, oe_upper = np.maximum(ratio - half, 0.0), ratio + half
            else:
                count_lower, count_upper = intervals.poisson_count_limits_array(observed_or_zero, confidence=confidence)
                oe_lower, oe_upper = count_lower / expected, count_upper / expected
        statistics["oe_ratio"] = np.where(positive, ratio, np.nan)
        statistics["oe_lower"] = np.where(positive, oe_lower, np.nan)
        statistics["oe_upper"] = np.where(positive, oe_upper, np.nan)
        if model.reference_score is not None:
            statistics["risk_adjusted_score"] = statistics["oe_ratio"] * model.reference_score
    for name, values in statistics.items():
        result[name] = pa.array(values, pa.float64(), from_pandas=True)
    result["score_method"] = score_method
    result["status"] = status
    result["reason"] = reason
    return pa.table({field.name: result[field.name] for field in RESULT_SCHEMA}, schema=RESULT_SCHEMA)


def results_table(evaluations: Sequence[MeasureEvaluation]) -> pa.Table:
    """All evaluations' tidy results as one Arrow table with :data:`RESULT_SCHEMA`."""
    tables = [item.table for item in evaluations]
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
    # The risk models solve small dense systems (tens of thousands of rows, a few dozen columns). A threaded
    # BLAS splits each into pieces whose threads spin while they wait; beside DuckDB's own threads that costs
    # ten times the CPU of solving each on one thread, for the same result.
    with quiet_ibis_duckdb_deprecations(), threadpool_limits(limits=1, user_api="blas"):
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
