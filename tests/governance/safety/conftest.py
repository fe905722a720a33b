from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.utils import timezone

from medgov.governance.accounts.choices import Role
from medgov.governance.safety import services
from medgov.governance.safety.models import Unit

REPORTER_NAME = "Quentin Zylberstein"  # distinctive, so a search of any response finds every leak


@pytest.fixture
def warehouse(tmp_path: Path, settings: Any) -> Path:
    """A warehouse file with two patients and inpatient stays on unit location L-4W."""
    path = tmp_path / "warehouse.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE patient (id VARCHAR, mrn VARCHAR)")
    connection.execute("INSERT INTO patient VALUES ('p1', 'MRN1001'), ('p2', 'MRN1002')")
    connection.execute(
        "CREATE TABLE encounter (id VARCHAR, patient_id VARCHAR, class_code VARCHAR, location_id VARCHAR, "
        "period_start TIMESTAMP, period_end TIMESTAMP)"
    )
    connection.execute(
        "INSERT INTO encounter VALUES "
        "('e1', 'p1', 'IMP', 'L-4W', '2026-01-30 00:00:00', '2026-02-03 00:00:00'), "
        "('e2', 'p2', 'IMP', 'L-4W', '2026-02-10 12:00:00', '2026-02-11 00:00:00'), "
        "('e3', 'p2', 'AMB', 'L-4W', '2026-02-12 08:00:00', '2026-02-12 09:00:00'), "
        "('e4', 'p1', 'IMP', 'L-ICU', '2026-02-01 00:00:00', '2026-02-05 00:00:00')"
    )
    connection.close()
    settings.MEDGOV_WAREHOUSE = path
    return path


@pytest.fixture
def no_warehouse(tmp_path: Path, settings: Any) -> Path:
    settings.MEDGOV_WAREHOUSE = tmp_path / "missing.duckdb"
    return settings.MEDGOV_WAREHOUSE


@pytest.fixture
def people(make_user: Callable[..., Any]) -> dict[str, Any]:
    from medgov.governance.safety.services import do_designate_safety_lead

    reporter = make_user(Role.CLINICIAN, username="qzylberstein", display_name=REPORTER_NAME, email="qz@example.org")
    people = {
        "reporter": reporter,
        "other_clinician": make_user(Role.CLINICIAN, username="otherclin", email="oc@example.org"),
        "manager": make_user(Role.DEPARTMENT_CHIEF, username="wardmanager", email="wm@example.org"),
        "other_manager": make_user(Role.DEPARTMENT_CHIEF, username="othermanager"),
        "safety": make_user(Role.QUALITY_SAFETY, username="safetyofficer", email="so@example.org"),
        "safety2": make_user(Role.QUALITY_SAFETY, username="safetyofficer2"),
        "lead": make_user(Role.QUALITY_SAFETY, username="safetylead", email="lead@example.org"),
        "cmo": make_user(Role.CMO, username="thecmo", email="cmo@example.org"),
        "board": make_user(Role.BOARD_MEMBER, username="boardmember"),
        "auditor": make_user(Role.AUDITOR, username="theauditor"),
        "admin": make_user(Role.ADMINISTRATOR, username="theadmin"),
    }
    do_designate_safety_lead(people["lead"], actor=None)
    return people


@pytest.fixture
def units(people: dict[str, Any]) -> dict[str, Unit]:
    return {
        "4W": services.do_create_unit(
            code="4W",
            name="4 West Medical",
            hospital="General",
            manager=people["manager"],
            warehouse_location_id="L-4W",
            actor=None,
        ),
        "ICU": services.do_create_unit(
            code="ICU", name="Intensive Care", hospital="General", manager=people["other_manager"], actor=None
        ),
    }


def report_input(**overrides: Any) -> services.ReportInput:
    values: dict[str, Any] = {
        "event_class": "incident",
        "category": "fall",
        "occurred_at": timezone.now() - dt.timedelta(hours=3),
        "unit_code": "4W",
        "description": "Patient found on the floor beside the bed at 03:10.",
        "reported_harm": "mild",
        "immediate_actions": "Assessed by the doctor on call; X-ray ordered.",
    }
    values.update(overrides)
    return services.ReportInput(**values)


@pytest.fixture
def submit(people: dict[str, Any], units: dict[str, Unit]) -> Callable[..., Any]:
    def make(actor: Any = None, *, anonymous: bool = False, protect_identity: bool = False, **overrides: Any) -> Any:
        return services.do_submit_event(
            report_input(**overrides),
            anonymous=anonymous,
            protect_identity=protect_identity,
            actor=actor or people["reporter"],
        )

    return make


def triage_input(**overrides: Any) -> services.TriageInput:
    values: dict[str, Any] = {"event_class": "incident", "category": "fall", "harm_level": "mild"}
    values.update(overrides)
    return services.TriageInput(**values)
