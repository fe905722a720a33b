import datetime as dt

import pytest

from medgov.governance.reports.providers.staff import credentialing
from medgov.governance.reports.rules import Quarter
from medgov.governance.staff import services as staff
from medgov.governance.staff.choices import CredentialKind, VerificationResult
from tests.governance.staff.conftest import npi_for

CLEAN_FILE = (
    (CredentialKind.STATE_LICENCE, "State Medical Board", "MD-1001", "MA", dt.date(2020, 1, 1), dt.date(2028, 6, 30)),
    (CredentialKind.DEA_REGISTRATION, "DEA", "AB1234563", "MA", dt.date(2024, 1, 1), dt.date(2028, 1, 31)),
    (CredentialKind.MALPRACTICE_COVERAGE, "Carrier Mutual", "POL-9", "", dt.date(2025, 7, 1), dt.date(2027, 12, 31)),
    (CredentialKind.NPDB_QUERY, "National Practitioner Data Bank", "Q-1", "", None, None),
    (CredentialKind.OIG_EXCLUSION, "HHS OIG LEIE", "", "", None, None),
    (CredentialKind.SAM_EXCLUSION, "SAM.gov", "", "", None, None),
    (CredentialKind.EDUCATION, "Harvard Medical School", "MD", "", dt.date(2012, 6, 1), None),
)


def practitioner(department, number, family_name, given_name):
    person = staff.do_create_practitioner(
        npi=npi_for(34567800 + number),
        family_name=family_name,
        given_name=given_name,
        credential_text="MD",
        department=department,
        actor=None,
    )
    for kind, issuer, reference, state, issued, expires in CLEAN_FILE:
        staff.do_add_credential(
            person,
            kind=kind,
            issuer=issuer,
            number=reference,
            state=state,
            issued_on=issued,
            expires_on=expires,
            result=VerificationResult.CONFIRMED,
            verified_on=dt.date(2026, 9, 1),
            verification_source="primary source",
            actor=None,
        )
    return person


def advance(request, steps, decided_on):
    for step, outcome in steps:
        request = staff.do_review_privilege_request(
            request, step=step, outcome=outcome, decided_on=decided_on, actor=None
        )
    return request


@pytest.fixture
def credentialing_cases(db, time_machine):
    time_machine.move_to(dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC), tick=False)
    department = staff.do_create_department(name="Internal Medicine", code="medicine", actor=None)
    core = staff.do_create_privilege_item(department, code="im-core", name="Internal medicine core", actor=None)
    sedation = staff.do_create_privilege_item(
        department, code="sedation", name="Moderate sedation", kind="special", actor=None
    )
    to_mec = [
        ("department_chief", "approve"),
        ("credentials_committee", "approve"),
        ("medical_executive_committee", "approve"),
    ]
    cases = [
        (practitioner(department, 1, "Okafor", "Ada"), "initial", [core], to_mec, dt.date(2026, 9, 20)),
        (
            practitioner(department, 2, "Lindqvist", "Bo"),
            "added_privilege",
            [sedation, core],
            to_mec,
            dt.date(2026, 9, 22),
        ),
        (
            practitioner(department, 3, "Marsh", "Cy"),
            "initial",
            [core],
            [*to_mec, ("board", "approve")],
            dt.date(2026, 8, 14),
        ),
        (
            practitioner(department, 4, "Ng", "Di"),
            "initial",
            [core],
            [*to_mec, ("board", "deny")],
            dt.date(2026, 9, 30),
        ),
        (
            practitioner(department, 5, "Vale", "Ed"),
            "initial",
            [core],
            [*to_mec, ("board", "approve")],
            dt.date(2026, 10, 2),
        ),
        (practitioner(department, 6, "Wren", "Flo"), "reappointment", [core], to_mec[:2], dt.date(2026, 9, 1)),
    ]
    for person, kind, items, steps, decided_on in cases:
        request = staff.do_submit_privilege_request(
            person, kind=kind, items=items, submitted_on=dt.date(2026, 7, 1), is_complete=True, actor=None
        )
        advance(request, steps, decided_on)


def test_the_staff_section_lists_what_awaits_the_board_and_tallies_its_decisions_in_the_quarter(credentialing_cases):
    data = credentialing(Quarter(2026, 3)).data
    assert data["awaiting"] == [
        {
            "practitioner": "Bo Lindqvist, MD",
            "department": "Internal Medicine",
            "kind": "added_privilege",
            "kind_text": "Added privilege",
            "privileges": ["Internal medicine core", "Moderate sedation"],
            "submitted_on": "2026-07-01",
            "mec_approved_on": "2026-09-22",
        },
        {
            "practitioner": "Ada Okafor, MD",
            "department": "Internal Medicine",
            "kind": "initial",
            "kind_text": "Initial appointment",
            "privileges": ["Internal medicine core"],
            "submitted_on": "2026-07-01",
            "mec_approved_on": "2026-09-20",
        },
    ]
    assert data["decided_in_quarter"] == [
        {"kind": "Initial appointment", "approved": 1, "denied": 1},
        {"kind": "Added privilege", "approved": 0, "denied": 0},
        {"kind": "Reappointment", "approved": 0, "denied": 0},
    ]


def test_the_pdf_carries_the_credentialing_decisions(credentialing_cases):
    from tests.governance.reports.test_board_report import generate, pdf_text

    words = " ".join(pdf_text(generate(Quarter(2026, 3))).split())
    assert "Credentialing decisions for the board" in words
    assert "Awaiting the board's decision (2)" in words
    assert ("Okafor" in words, "Lindqvist" in words, "Marsh" in words, "Wren" in words) == (True, True, False, False)
