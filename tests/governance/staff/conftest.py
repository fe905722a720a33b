from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from medgov.governance.accounts.choices import Role
from medgov.governance.staff import rules, services
from medgov.governance.staff.choices import CredentialKind, VerificationResult


def npi_for(stem: int) -> str:
    """A valid NPI from a 9-digit stem (Luhn over 80840 + the digits)."""
    first_nine = f"1{stem:08d}"
    for check in range(10):
        if rules.is_valid_npi(first_nine + str(check)):
            return first_nine + str(check)
    raise AssertionError("unreachable")


TODAY = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _frozen_clock(time_machine):
    """Every staff test runs on 10 March 2026, 09:00 UTC unless it moves the clock itself."""
    time_machine.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False)
    return time_machine


@pytest.fixture
def office(make_user):
    return make_user(Role.MEDICAL_STAFF_OFFICE, email="mso@example.org")


@pytest.fixture
def cmo(make_user):
    return make_user(Role.CMO, email="cmo@example.org")


@pytest.fixture
def chief(make_user):
    return make_user(Role.DEPARTMENT_CHIEF, email="chief@example.org")


@pytest.fixture
def department(chief):
    return services.do_create_department(name="Internal Medicine", code="medicine", chief=chief, actor=None)


@pytest.fixture
def core_item(department):
    return services.do_create_privilege_item(
        department, code="im-core", name="Internal medicine core", criteria="Board eligible in IM", actor=None
    )


@pytest.fixture
def controlled_item(department):
    return services.do_create_privilege_item(
        department,
        code="sedation",
        name="Moderate sedation",
        kind="special",
        involves_controlled_substances=True,
        actor=None,
    )


CLEAN_FILE = (
    # kind, issuer, number, state, issued, expires, verified
    (CredentialKind.STATE_LICENCE, "State Medical Board", "MD-1001", "MA", dt.date(2020, 1, 1), dt.date(2027, 6, 30)),
    (CredentialKind.DEA_REGISTRATION, "DEA", "AB1234563", "MA", dt.date(2024, 1, 1), dt.date(2027, 1, 31)),
    (CredentialKind.MALPRACTICE_COVERAGE, "Carrier Mutual", "POL-9", "", dt.date(2025, 7, 1), dt.date(2026, 12, 31)),
    (CredentialKind.NPDB_QUERY, "National Practitioner Data Bank", "Q-1", "", None, None),
    (CredentialKind.OIG_EXCLUSION, "HHS OIG LEIE", "", "", None, None),
    (CredentialKind.SAM_EXCLUSION, "SAM.gov", "", "", None, None),
    (CredentialKind.EDUCATION, "Harvard Medical School", "MD", "", dt.date(2012, 6, 1), None),
)


@pytest.fixture
def make_practitioner(department) -> Callable[..., Any]:
    counter = {"n": 0}

    def make(*, verified_on: dt.date | None = dt.date(2026, 3, 1), credentials: bool = True, **fields: Any) -> Any:
        counter["n"] += 1
        values = {
            "npi": npi_for(23456780 + counter["n"]),
            "family_name": f"Doe{counter['n']}",
            "given_name": "Jane",
            "credential_text": "MD",
            "department": department,
        }
        values.update(fields)
        practitioner = services.do_create_practitioner(actor=None, **values)
        if credentials:
            for kind, issuer, number, state, issued, expires in CLEAN_FILE:
                services.do_add_credential(
                    practitioner,
                    kind=kind,
                    issuer=issuer,
                    number=number,
                    state=state,
                    issued_on=issued,
                    expires_on=expires,
                    result=VerificationResult.CONFIRMED if verified_on else "",
                    verified_on=verified_on,
                    verification_source="primary source" if verified_on else "",
                    actor=None,
                )
        return practitioner

    return make


REPORTER_NAME = "Quentin Zylberstein"  # distinctive, so a search of any page finds a leaked reporter identity


@pytest.fixture
def make_safety_event(make_user, chief) -> Callable[..., Any]:
    """A submitted safety event on a unit the department chief manages; ``sensitive`` restricts it to its handlers
    after triage, ``protect_identity`` hides its reporter from all but the safety team."""
    from medgov.governance.safety import services as safety
    from medgov.governance.safety.models import Unit

    state: dict[str, Any] = {}

    def make(*, sensitive: bool = False, protect_identity: bool = False, handlers: tuple[Any, ...] = ()) -> Any:
        if "unit" not in state:
            state["unit"] = Unit.objects.filter(code="4W").first() or safety.do_create_unit(
                code="4W", name="4 West Medical", hospital="General", manager=chief, actor=None
            )
            state["reporter"] = make_user(Role.CLINICIAN, username="reporter", display_name=REPORTER_NAME)
            state["triager"] = make_user(Role.QUALITY_SAFETY, username="triager")
        event = safety.do_submit_event(
            safety.ReportInput(
                event_class="incident",
                category="medication",
                occurred_at=dt.datetime(2026, 3, 8, 2, 15, tzinfo=dt.UTC),
                unit_code="4W",
                description="Anticoagulant given twice overnight.",
                reported_harm="moderate",
            ),
            protect_identity=protect_identity,
            actor=state["reporter"],
        ).event
        if sensitive:
            event = safety.do_triage_event(
                event,
                safety.TriageInput(
                    event_class="incident",
                    category="medication",
                    harm_level="moderate",
                    ncc_merp="E",
                    sensitive=True,
                    handler_ids=[handler.pk for handler in handlers] or [state["triager"].pk],
                ),
                actor=state["triager"],
            )
        return event

    return make
