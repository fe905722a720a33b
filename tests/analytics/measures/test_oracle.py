"""Readmission and mortality against a plain-Python oracle on the hand-built hospital (tests/fixtures)."""

import datetime as dt
from collections import Counter
from typing import Any

from ibis.backends import BaseBackend

from medgov.analytics.measures import engine, registry
from medgov.analytics.measures.spec import Period
from tests.fixtures import hospital

PERIOD = Period(hospital.PERIOD_START, hospital.PERIOD_END)
PSYCHIATRIC = ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F04", "F05")
ALWAYS_PLANNED = ("Z51.0", "Z51.1", "Z50", "Z51.89", "Z52")
ACUTE = ("I21", "I22", "I50", "I46", "I47", "I48", "I49", "I60", "I61", "I63", "I26", "J1", "J69", "J80", "J96",
         "A40", "A41", "R65.2", "N17", "N39.0", "K35", "K56", "K92", "E87", "S", "T")  # fmt: skip


def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _oracle_index_stays(rows: hospital.Rows) -> list[dict[str, Any]]:
    patients = {row["id"]: row for row in rows["patient"]}
    principal = {row["encounter_id"]: row["code"] for row in rows["encounter_diagnosis"] if row["is_principal"]}
    stays = []
    for row in rows["encounter"]:
        if row["type_code"] != hospital.INPATIENT or row["status"] != "finished":
            continue
        patient = patients[row["patient_id"]]
        age = _age(patient["birth_date"], row["period_start"].date())
        discharge = row["period_end"].date()
        if age < 18 or not PERIOD.start <= discharge <= PERIOD.end:
            continue
        deceased = patient["deceased_datetime"]
        died = row["discharge_disposition_code"] == "exp" or (deceased is not None and deceased.date() <= discharge)
        stays.append({**row, "principal": principal.get(row["id"], ""), "died": died})
    return stays


def _unplanned(row: dict[str, Any], principal: str) -> bool:
    if principal.startswith(ALWAYS_PLANNED):
        return False
    return not (row["priority_code"] == "EL" and not principal.startswith(ACUTE))


def _oracle_readmission(rows: hospital.Rows) -> dict[str, tuple[int, int, int]]:
    principal = {row["encounter_id"]: row["code"] for row in rows["encounter_diagnosis"] if row["is_principal"]}
    admissions = [
        row for row in rows["encounter"] if row["type_code"] == hospital.INPATIENT and row["status"] == "finished"
    ]
    counts: Counter[tuple[str, str]] = Counter()
    for stay in _oracle_index_stays(rows):
        excluded = (
            stay["died"]
            or stay["discharge_disposition_code"] in ("aadvice", "other-hcf")
            or stay["principal"].startswith(PSYCHIATRIC)
            or stay["principal"].startswith(("Z50", "Z51.89"))
        )
        readmitted = any(
            other["patient_id"] == stay["patient_id"]
            and other["id"] != stay["id"]
            and other["period_start"] > stay["period_end"]
            and (other["period_start"].date() - stay["period_end"].date()).days <= 30
            and _unplanned(other, principal.get(other["id"], ""))
            for other in admissions
        )
        for key in ("", stay["attending_practitioner_id"]):
            counts[(key, "ip")] += 1
            counts[(key, "excluded")] += excluded
            counts[(key, "numerator")] += (not excluded) and readmitted
    return {key: (counts[(key, "ip")], counts[(key, "excluded")], counts[(key, "numerator")])
            for key in ("", *hospital.PRACTITIONERS)}  # fmt: skip


def _oracle_mortality(rows: hospital.Rows) -> dict[str, tuple[int, int, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for stay in _oracle_index_stays(rows):
        excluded = stay["discharge_disposition_code"] == "other-hcf"
        for key in ("", stay["attending_practitioner_id"]):
            counts[(key, "ip")] += 1
            counts[(key, "excluded")] += excluded
            counts[(key, "numerator")] += (not excluded) and stay["died"]
    return {key: (counts[(key, "ip")], counts[(key, "excluded")], counts[(key, "numerator")])
            for key in ("", *hospital.PRACTITIONERS)}  # fmt: skip


def _engine_counts(backend: BaseBackend, measure_id: str) -> dict[str, tuple[int, int, int]]:
    [evaluation] = engine.evaluate(backend, [registry.get(measure_id)], PERIOD, stratifiers=["practitioner"])
    return {
        row["stratum"]: (row["initial_population"], row["denominator_exclusion"], row["numerator"])
        for row in evaluation.results.to_dict("records")
    }


def _engine_scores(backend: BaseBackend, measure_id: str) -> dict[str, float | None]:
    [evaluation] = engine.evaluate(backend, [registry.get(measure_id)], PERIOD, stratifiers=["practitioner"])
    return {row["stratum"]: row["score"] for row in evaluation.results.to_dict("records")}


def test_readmission_counts_match_the_oracle_overall_and_by_practitioner(
    hospital_backend: BaseBackend, hospital_rows: hospital.Rows
) -> None:
    assert _engine_counts(hospital_backend, "readmission-30-day") == _oracle_readmission(hospital_rows)


def test_mortality_counts_match_the_oracle_overall_and_by_practitioner(
    hospital_backend: BaseBackend, hospital_rows: hospital.Rows
) -> None:
    assert _engine_counts(hospital_backend, "in-hospital-mortality") == _oracle_mortality(hospital_rows)


def test_readmission_score_is_the_oracle_proportion(
    hospital_backend: BaseBackend, hospital_rows: hospital.Rows
) -> None:
    ip, excluded, numerator = _oracle_readmission(hospital_rows)[""]
    assert _engine_scores(hospital_backend, "readmission-30-day")[""] == numerator / (ip - excluded) * 100


def test_hand_written_edge_cases_are_classified_as_written(hospital_backend: BaseBackend) -> None:
    context = engine.MeasureContext(hospital_backend, PERIOD)
    subjects = engine.subject_frame(registry.get("readmission-30-day"), context).set_index("subject_id")
    # Day-30 readmission counts, day-31 does not, planned ones do not, an acute elective one does.
    assert bool(subjects.loc["enc-0003", "numerator"]) is True
    assert bool(subjects.loc["enc-0007", "numerator"]) is False
    assert bool(subjects.loc["enc-0011", "numerator"]) is False
    assert bool(subjects.loc["enc-0016", "numerator"]) is True
    # The December discharge is readmitted in January, after the period.
    december = subjects[(subjects["anchor_date"] == "2025-12-24")]
    assert december["numerator"].tolist() == [True]
