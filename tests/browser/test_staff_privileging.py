import datetime as dt
import re

from django.utils import timezone

from medgov.governance.accounts.choices import Role
from medgov.governance.staff import services
from medgov.governance.staff.choices import CredentialKind, FppeStatus, FppeTrigger, VerificationResult
from medgov.governance.staff.models import Credential, Practitioner, PrivilegeRequest
from tests.browser.test_safety_sentinel import sign_in

NPI = "1234567893"  # Luhn over 80840 + 123456789 gives the check digit 3

OTHER_PRIMARY_SOURCE_CHECKS = (
    (CredentialKind.MALPRACTICE_COVERAGE, "Carrier Mutual"),
    (CredentialKind.NPDB_QUERY, "National Practitioner Data Bank"),
    (CredentialKind.OIG_EXCLUSION, "HHS OIG LEIE"),
    (CredentialKind.SAM_EXCLUSION, "SAM.gov"),
)


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/**")


def test_the_office_adds_a_practitioner_whose_privileges_are_approved_and_an_fppe_opens(
    live_server, page, make_user, screenshot
):
    office = make_user(Role.MEDICAL_STAFF_OFFICE, display_name="Morgan Reyes")
    chief = make_user(Role.DEPARTMENT_CHIEF, display_name="Dr Priya Nair")
    cmo = make_user(Role.CMO, display_name="Dr Sam Whitfield")
    department = services.do_create_department(name="Internal Medicine", code="medicine", chief=chief, actor=None)
    services.do_create_privilege_item(
        department, code="im-core", name="Internal medicine core", criteria="Ten charts reviewed", actor=None
    )
    today = timezone.localdate()

    sign_in(page, live_server, office)
    page.goto(f"{live_server.url}/staff/")
    page.get_by_label("NPI", exact=True).fill(NPI)
    page.get_by_label("Given name", exact=True).fill("Ada")
    page.get_by_label("Family name", exact=True).fill("Okafor")
    page.get_by_label("Credentials (MD, DO)", exact=True).fill("MD")
    page.get_by_label("Department", exact=True).select_option(label="Internal Medicine")
    page.get_by_label("Appointment category", exact=True).select_option("provisional")
    page.get_by_role("button", name="Add practitioner").click()
    page.wait_for_selector("text=Ada Okafor, MD added.")
    practitioner = Practitioner.objects.get()
    assert (practitioner.npi, practitioner.department, practitioner.status) == (NPI, department, "applicant")

    page.get_by_text("Record a credential").click()
    page.get_by_label("Kind", exact=True).select_option("state_licence")
    page.get_by_label("Issuer", exact=True).fill("Massachusetts Board of Registration in Medicine")
    page.get_by_label("Number", exact=True).fill("MD-271828")
    page.get_by_label("State", exact=True).fill("MA")
    page.get_by_label("Issued on", exact=True).fill((today - dt.timedelta(days=3 * 365)).isoformat())
    page.get_by_label("Expires on", exact=True).fill((today + dt.timedelta(days=2 * 365)).isoformat())
    page.get_by_label("Result", exact=True).select_option("confirmed")
    page.get_by_label("Verified on", exact=True).fill(today.isoformat())
    page.get_by_label("Primary source", exact=True).fill("Board website, licence lookup")
    page.get_by_role("button", name="Record credential").click()
    page.wait_for_selector("text=Credential recorded.")
    licence = Credential.objects.get(kind=CredentialKind.STATE_LICENCE)
    assert (licence.number, licence.state, licence.verified_by) == ("MD-271828", "MA", office)
    # The other checks a clean file needs, recorded by the office as the primary sources answered.
    for kind, issuer in OTHER_PRIMARY_SOURCE_CHECKS:
        services.do_add_credential(
            practitioner,
            kind=kind,
            issuer=issuer,
            result=VerificationResult.CONFIRMED,
            verified_on=today,
            verification_source=issuer,
            actor=office,
        )

    page.get_by_role("link", name="Submit a privilege request").click()
    page.get_by_label("Kind of request", exact=True).select_option("initial")
    page.get_by_label("Internal medicine core (medicine)", exact=True).check()
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_selector("text=Privilege request submitted")
    request = PrivilegeRequest.objects.get()
    assert (request.status, request.is_complete) == ("submitted", False)
    page.get_by_role("link", name=re.compile("^Initial appointment of ")).click()
    page.get_by_role("button", name="Mark the application complete").click()
    page.wait_for_selector("text=The application is marked complete.")
    assert page.locator("#request-complete").inner_text() == "complete"
    sign_out(page)

    sign_in(page, live_server, chief)
    page.goto(f"{live_server.url}/staff/requests/")
    page.get_by_role("link", name="Ada Okafor, MD").click()
    page.get_by_label("Outcome", exact=True).select_option("approve")
    page.get_by_label("Note", exact=True).fill("Meets the department's criteria for core privileges.")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_selector("text=Decision recorded.")
    assert page.locator("#request-status").inner_text() == "Awaiting credentials committee"
    sign_out(page)

    sign_in(page, live_server, cmo)
    page.goto(f"{live_server.url}/staff/requests/{request.pk}/")
    for awaiting in ("Awaiting medical executive committee", "Awaiting board", "Granted by the board"):
        page.get_by_label("Outcome", exact=True).select_option("approve")
        page.get_by_role("button", name="Record decision").click()
        page.wait_for_selector(f"#request-status >> text={awaiting}")
    request.refresh_from_db()
    assert [review.step for review in request.reviews.all()] == [
        "department_chief",
        "credentials_committee",
        "medical_executive_committee",
        "board",
    ]

    page.get_by_role("link", name="Ada Okafor, MD").first.click()
    fppe = practitioner.fppes.get()
    assert (fppe.trigger, fppe.status, fppe.starts_on, fppe.criteria) == (
        FppeTrigger.NEW_APPLICANT,
        FppeStatus.OPEN,
        today,
        "Ten charts reviewed",
    )
    practitioner.refresh_from_db()
    assert practitioner.status == "active"
    assert page.get_by_role("link", name="Open", exact=True).count() == 1
    screenshot("staff-privileges-granted-fppe-open")
    page.get_by_role("link", name="Open", exact=True).click()
    assert page.locator("#fppe-status").inner_text() == "Open"


def test_a_volunteer_gets_disaster_privileges_and_both_72_hour_clocks_are_met(live_server, page, make_user, screenshot):
    office = make_user(Role.MEDICAL_STAFF_OFFICE, display_name="Morgan Reyes")
    cmo = make_user(Role.CMO, display_name="Dr Sam Whitfield")
    department = services.do_create_department(name="Emergency Medicine", code="emergency", actor=None)
    services.do_create_privilege_item(
        department, code="em-core", name="Emergency medicine core", criteria="Proctored shifts", actor=None
    )
    volunteer = services.do_create_practitioner(
        npi=NPI, family_name="Lindqvist", given_name="Maja", credential_text="MD", department=department, actor=None
    )
    now = timezone.localtime().replace(second=0, microsecond=0)
    presented = now - dt.timedelta(hours=2)

    sign_in(page, live_server, office)
    page.goto(f"{live_server.url}/emergency/")
    page.get_by_label("Activation title (incident)", exact=True).fill("Bridge collapse: mass casualty")
    page.get_by_role("button", name="Open activation").click()
    page.wait_for_selector("text=Activation “Bridge collapse: mass casualty” is open.")
    sign_out(page)

    sign_in(page, live_server, cmo)
    page.goto(f"{live_server.url}/staff/practitioners/{volunteer.pk}/")
    page.get_by_role("link", name="Grant disaster privileges").click()
    page.wait_for_selector("text=Under the open activation “Bridge collapse: mass casualty”")
    page.get_by_label("Emergency medicine core (emergency)", exact=True).check()
    page.get_by_label("The volunteer presented at", exact=True).fill(f"{presented:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Grant disaster privileges").click()
    page.wait_for_selector("text=Disaster privileges granted.")
    grant = volunteer.grants.get()
    row = page.locator(f"#grant-{grant.pk}")
    # Verification and continuation, both 72 h after presenting (2 h ago, to the minute).
    assert row.get_by_text(re.compile(r"^(69|70) h left$")).count() == 2
    sign_out(page)

    sign_in(page, live_server, office)
    page.goto(f"{live_server.url}/staff/special-privileges/")
    page.get_by_role("link", name="Maja Lindqvist, MD").click()
    page.get_by_role("link", name="Record licence verification").click()
    page.get_by_label("Primary source (licensing board, its website, a CVO)", exact=True).fill(
        "Minnesota Board of Medical Practice, licence lookup"
    )
    page.get_by_label("Verified by", exact=True).select_option(label="Morgan Reyes")
    page.get_by_label("Verified at", exact=True).fill(f"{now - dt.timedelta(hours=1):%Y-%m-%dT%H:%M}")
    page.get_by_label("The primary source", exact=True).select_option("confirmed")
    page.get_by_role("button", name="Record licence verification").click()
    page.wait_for_selector("text=Licence verification recorded.")
    assert "Decide continuation" not in page.locator(f"#grant-{grant.pk}").inner_text()  # the CMO decides
    sign_out(page)

    sign_in(page, live_server, cmo)
    page.goto(f"{live_server.url}/emergency/")
    page.get_by_role("link", name="Maja Lindqvist, MD").click()
    page.get_by_role("link", name="Decide continuation").click()
    page.get_by_label("Continue the disaster privileges", exact=True).check()
    page.get_by_label("Decided at", exact=True).fill(f"{now:%Y-%m-%dT%H:%M}")
    page.get_by_label("Reason", exact=True).fill("Licence verified; safe practice observed on two shifts")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_selector("text=Continuation decision recorded.")
    grant.refresh_from_db()
    assert (
        grant.status,
        grant.licence_verification_result,
        grant.licence_verified_by,
        grant.continuation_decision,
        grant.continuation_decided_by,
    ) == ("active", VerificationResult.CONFIRMED, office, "continue", cmo)
    assert grant.licence_verified_at - grant.presented_at == dt.timedelta(hours=1)
    assert grant.continuation_decided_at - grant.presented_at == dt.timedelta(hours=2)
    row = page.locator(f"#grant-{grant.pk}")
    assert "Continue the disaster privileges" in row.inner_text()
    screenshot("staff-disaster-privileges-verified-and-continued")
