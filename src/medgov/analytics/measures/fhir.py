"""FHIR R4 MeasureReport resources from evaluated measures.

One ``MeasureReport`` per measure and reporting period (FHIR R4 4.0.1, http://hl7.org/fhir/R4/measurereport.html):
``type`` is ``summary``, or ``subject-list`` when subject lists are asked for, in which case each population
carries ``subjectResults`` pointing to a contained ``List`` of the subjects (``Encounter/<id>`` or
``Patient/<id>``). Populations use the codes of http://terminology.hl7.org/CodeSystem/measure-population;
stratifiers carry one stratum per value, combined stratifiers (``hospital+unit``) use ``component``.
A stratum that is not calculable has no ``measureScore`` and says why in an extension-free ``text``-less way:
its score is simply absent, as FHIR specifies for a score that cannot be computed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from medgov.analytics.measures.engine import POPULATIONS, MeasureEvaluation
from medgov.analytics.measures.spec import Scoring

MEASURE_POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
STRATIFIER_SYSTEM = "urn:medgov:measure-dimension"
MEASURE_CANONICAL = "urn:medgov:measure"

_CODES = {
    "initial_population": "initial-population",
    "denominator": "denominator",
    "denominator_exclusion": "denominator-exclusion",
    "denominator_exception": "denominator-exception",
    "numerator": "numerator",
    "numerator_exclusion": "numerator-exclusion",
}
_CONTINUOUS_CODES = {
    "initial_population": "initial-population",
    "denominator": "measure-population",
    "denominator_exclusion": "measure-population-exclusion",
}


def _population_names(scoring: Scoring) -> dict[str, str]:
    if scoring is Scoring.COHORT:
        return {"initial_population": "initial-population"}
    if scoring is Scoring.CONTINUOUS_VARIABLE:
        return _CONTINUOUS_CODES
    return _CODES


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _score(row: Mapping[Any, Any], unit: str) -> dict[str, Any] | None:
    value = _number(row["score"])
    if value is None:
        return None
    return {"value": round(value, 10), "unit": unit}


def _populations(row: Mapping[Any, Any], codes: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"code": {"coding": [{"system": MEASURE_POPULATION_SYSTEM, "code": code}]}, "count": int(row[name])}
        for name, code in codes.items()
    ]


def measure_reports(
    evaluation: MeasureEvaluation, *, subject_lists: bool = False, grain: str = "period"
) -> list[dict[str, Any]]:
    """MeasureReports (as JSON-ready dicts) for each reporting period of ``grain`` in ``evaluation``."""
    spec = evaluation.spec
    results = evaluation.results[evaluation.results["grain"] == grain]
    codes = _population_names(spec.scoring)
    reports = []
    for (start_key, end_key), rows in results.groupby(["period_start", "period_end"], sort=True):
        start, end = pd.Timestamp(str(start_key)), pd.Timestamp(str(end_key))
        overall = rows[rows["stratifier"] == ""]
        if overall.empty:
            continue
        total = {str(key): value for key, value in overall.iloc[0].to_dict().items()}
        group: dict[str, Any] = {"population": _populations(total, codes)}
        score = _score(total, spec.rate_unit)
        if score is not None:
            group["measureScore"] = score
        stratifiers = []
        for name, strata in rows[rows["stratifier"] != ""].groupby("stratifier", sort=False):
            dimensions = str(name).split("+")
            entries = []
            for record in strata.to_dict("records"):
                stratum = {str(key): value for key, value in record.items()}
                entry: dict[str, Any] = {"population": _populations(stratum, codes)}
                if len(dimensions) == 1:
                    entry["value"] = {"text": str(stratum[dimensions[0]])}
                else:
                    entry["component"] = [
                        {"code": {"text": dimension}, "value": {"text": str(stratum[dimension])}}
                        for dimension in dimensions
                    ]
                stratum_score = _score(stratum, spec.rate_unit)
                if stratum_score is not None:
                    entry["measureScore"] = stratum_score
                entries.append(entry)
            stratifiers.append(
                {
                    "code": [{"coding": [{"system": STRATIFIER_SYSTEM, "code": str(name)}], "text": str(name)}],
                    "stratum": entries,
                }
            )
        if stratifiers:
            group["stratifier"] = stratifiers
        report: dict[str, Any] = {
            "resourceType": "MeasureReport",
            "status": "complete",
            "type": "subject-list" if subject_lists else "summary",
            "measure": f"{MEASURE_CANONICAL}/{spec.id}|{spec.version}",
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "period": {
                "start": pd.Timestamp(str(start)).date().isoformat(),
                "end": pd.Timestamp(str(end)).date().isoformat(),
            },
            "improvementNotation": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/measure-improvement-notation",
                        "code": spec.improvement_notation.value,
                    }
                ]
            },
            "group": [group],
        }
        if subject_lists:
            _attach_subject_lists(report, evaluation, codes, pd.Timestamp(str(start)), pd.Timestamp(str(end)))
        reports.append(report)
    return reports


def _attach_subject_lists(
    report: dict[str, Any], evaluation: MeasureEvaluation, codes: dict[str, str], start: pd.Timestamp,
    end: pd.Timestamp,
) -> None:  # fmt: skip
    subjects = evaluation.subjects
    in_period = subjects[(subjects["anchor_date"] >= start) & (subjects["anchor_date"] <= end)]
    resource = "Encounter" if evaluation.spec.unit_of_analysis.value == "encounter" else "Patient"
    contained = []
    for population in report["group"][0]["population"]:
        code = population["code"]["coding"][0]["code"]
        name = next(key for key, value in codes.items() if value == code)
        if name not in POPULATIONS:
            continue
        members = in_period.loc[in_period[name], "subject_id"].astype(str).tolist()
        list_id = f"{code}-list"
        contained.append(
            {
                "resourceType": "List",
                "id": list_id,
                "status": "current",
                "mode": "snapshot",
                "entry": [{"item": {"reference": f"{resource}/{member}"}} for member in members],
            }
        )
        population["subjectResults"] = {"reference": f"#{list_id}"}
    report["contained"] = contained
