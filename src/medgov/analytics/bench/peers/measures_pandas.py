"""Peer for the measures stage: 30-day readmission and in-hospital mortality by department and month, written
the way an analyst would in pandas, from the warehouse tables exported as Parquet.

It follows the definitions of ``readmission-30-day`` and ``in-hospital-mortality`` (index encounters as in
CMS529/CMS844, the same exclusions and numerators; see the measure modules' docstrings) so that its counts
can be asserted equal to medgov's before any time is compared. Runs in its own virtual environment with pandas
and pyarrow only: ``python measures_pandas.py ARGUMENTS_JSON RESULT_PATH``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

SNOMED = "http://snomed.info/sct"
INPATIENT = {"183452005", "32485007", "8715000"}
OBSERVATION = {"448951000124107"}
EMERGENCY = {"4525004"}
OUTPATIENT_SURGERY = {"110468005", "709063003", "711580002"}
PSYCHIATRIC = ("F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F04", "F05")
REHABILITATION = ("Z50", "Z51.89")
ALWAYS_PLANNED = ("Z51.0", "Z51.1", "Z50", "Z51.89", "Z52")
ACUTE = (
    "I21", "I22", "I50", "I46", "I47", "I48", "I49", "I60", "I61", "I63", "I26", "J1", "J69", "J80", "J96",
    "A40", "A41", "R65.2", "N17", "N39.0", "K35", "K56", "K92", "E87", "S", "T",
)  # fmt: skip


def starts_with(codes: pd.Series, prefixes: tuple[str, ...]) -> pd.Series:
    return codes.fillna("").str.startswith(prefixes) & codes.notna()


def adjoining_start(visits: pd.DataFrame, prior: pd.DataFrame, start_column: str) -> pd.Series:
    """Start of the latest-ending ``prior`` encounter ending within the hour before each visit starts."""
    prior = prior[["patient_id", "period_start", "period_end"]].rename(
        columns={"period_start": "prior_start", "period_end": "prior_end"}
    )
    pairs = visits[["id", "patient_id", start_column]].merge(prior, on="patient_id")
    start = pairs[start_column]
    pairs = pairs[(pairs.prior_end <= start) & (pairs.prior_end >= start - pd.Timedelta(hours=1))]
    latest = pairs.sort_values("prior_end").groupby("id").tail(1).set_index("id")["prior_start"]
    found = visits[["id"]].merge(latest.rename("adjoining_start"), left_on="id", right_index=True, how="left")
    return found["adjoining_start"].set_axis(visits.index)


def inpatient_stays(encounter: pd.DataFrame, principal: pd.Series) -> pd.DataFrame:
    snomed = encounter[encounter.type_system == SNOMED]
    stays = snomed[snomed.type_code.isin(INPATIENT) & (snomed.status == "finished")].copy()
    finished = snomed[(snomed.status == "finished") & snomed.period_end.notna()]
    observation = finished[finished.type_code.isin(OBSERVATION)]
    emergency = finished[finished.type_code.isin(EMERGENCY)]
    surgery = snomed[snomed.type_code.isin(OUTPATIENT_SURGERY) & snomed.period_end.notna()]
    stays["visit_start"] = adjoining_start(stays, observation, "period_start").fillna(stays.period_start)
    stays["visit_start"] = adjoining_start(stays, emergency, "visit_start").fillna(stays.visit_start)
    stays["visit_start"] = adjoining_start(stays, surgery, "visit_start").fillna(stays.visit_start)
    stays["discharge_date"] = stays.period_end.dt.normalize()
    stays["hospitalization_days"] = (stays.discharge_date - stays.visit_start.dt.normalize()).dt.days
    stays["principal_code"] = stays.id.map(principal)
    return stays


def whole_years(birth: pd.Series, day: pd.Series) -> pd.Series:
    before_birthday = (day.dt.month < birth.dt.month) | ((day.dt.month == birth.dt.month) & (day.dt.day < birth.dt.day))
    years: pd.Series = day.dt.year - birth.dt.year - before_birthday.astype(int)
    return years


def compute(folder: Path, period_start: str, period_end: str) -> pd.DataFrame:
    encounter = pd.read_parquet(folder / "encounter.parquet")
    diagnosis = pd.read_parquet(folder / "encounter_diagnosis.parquet")
    patient = pd.read_parquet(folder / "patient.parquet")
    for column in ("period_start", "period_end"):
        encounter[column] = pd.to_datetime(encounter[column])
    patient["birth_date"] = pd.to_datetime(patient["birth_date"])
    patient["deceased_datetime"] = pd.to_datetime(patient["deceased_datetime"])
    principal = diagnosis[diagnosis.is_principal.fillna(False).astype(bool)].groupby("encounter_id")["code"].min()

    stays = inpatient_stays(encounter, principal)
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    index = stays[
        stays.period_end.notna()
        & (stays.discharge_date >= start)
        & (stays.discharge_date <= end)
        & (stays.hospitalization_days < 365)
    ]
    index = index.merge(
        patient[["id", "birth_date", "deceased_datetime"]].rename(columns={"id": "patient_ref"}),
        left_on="patient_id",
        right_on="patient_ref",
    )
    index = index[whole_years(index.birth_date, index.period_start.dt.normalize()) >= 18].copy()
    disposition = index.discharge_disposition_code
    died = (disposition == "exp") | (
        index.deceased_datetime.notna() & (index.deceased_datetime.dt.normalize() <= index.discharge_date)
    )
    transferred = disposition == "other-hcf"

    # 30-day readmission: an unplanned finished inpatient admission of the same patient after the discharge
    # and within 30 days of its discharge day.
    elective = stays.priority_code == "EL"
    planned = starts_with(stays.principal_code, ALWAYS_PLANNED) | (elective & ~starts_with(stays.principal_code, ACUTE))
    unplanned = stays.loc[~planned, ["id", "patient_id", "period_start"]].rename(
        columns={"id": "readmission_id", "period_start": "readmission_start"}
    )
    pairs = index[["id", "patient_id", "period_end", "discharge_date"]].merge(unplanned, on="patient_id")
    pairs = pairs[
        (pairs.readmission_id != pairs.id)
        & (pairs.readmission_start > pairs.period_end)
        & ((pairs.readmission_start.dt.normalize() - pairs.discharge_date).dt.days <= 30)
    ]
    readmitted = index.id.isin(pairs.id)
    readmission_excluded = (
        died
        | (disposition == "aadvice")
        | transferred
        | starts_with(index.principal_code, PSYCHIATRIC)
        | starts_with(index.principal_code, REHABILITATION)
    )

    month = index.discharge_date.dt.to_period("M").dt.start_time.clip(lower=start).dt.date.astype(str)
    department = index.department_id.fillna("unknown")
    frames = []
    for measure_id, excluded, event in (
        ("readmission-30-day", readmission_excluded, readmitted),
        ("in-hospital-mortality", transferred, died),
    ):
        frame = pd.DataFrame(
            {
                "measure_id": measure_id,
                "period_start": month,
                "stratum": department,
                "denominator": 1,
                "denominator_exclusion": excluded.astype(int),
                "numerator": (event & ~excluded).astype(int),
            }
        )
        frames.append(frame.groupby(["measure_id", "period_start", "stratum"], as_index=False).sum())
    return pd.concat(frames, ignore_index=True)


def cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    arguments: dict[str, Any] = json.loads(sys.argv[1])
    cpu_started, started = cpu_seconds(), time.perf_counter()
    results = compute(Path(arguments["tables"]), arguments["period_start"], arguments["period_end"])
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    Path(arguments["out"]).write_text(results.to_json(orient="records"))
    output = {"rows": len(results), "subjects": int(results.denominator.sum())}
    Path(sys.argv[2]).write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "output": output}))


if __name__ == "__main__":
    main()
