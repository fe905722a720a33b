import datetime as dt

from django.utils import timezone

from medgov.governance.accounts.choices import Role
from medgov.governance.safety import services
from medgov.governance.safety.models import RcaAction, SafetyEvent
from tests.conftest import TEST_PASSWORD


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_a_clinician_reports_and_the_safety_officer_triages_a_sentinel_event_into_an_rca(
    live_server, page, make_user, screenshot
):
    clinician = make_user(Role.CLINICIAN, display_name="Casey Brooks, RN")
    officer = make_user(Role.QUALITY_SAFETY, display_name="Jordan Lee")
    services.do_create_unit(code="4W", name="4 West Medical", hospital="General", actor=None)

    sign_in(page, live_server, clinician)
    page.goto(f"{live_server.url}/safety/")
    page.get_by_role("link", name="Report a safety event").click()
    page.get_by_label("Incident (reached the patient)").check()
    page.get_by_label("Category").select_option("fall")
    occurred = timezone.localtime() - dt.timedelta(hours=2)
    page.get_by_label("When did it happen?").fill(occurred.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Where (unit)?").select_option("4W")
    page.get_by_label("What happened?").fill("Patient fell getting up at night and fractured the hip.")
    page.get_by_label("Severe harm").check()
    page.get_by_role("button", name="Submit report").click()
    code = page.locator("#followup-code").inner_text()
    assert len(code) == 23
    event = SafetyEvent.objects.get()
    assert (event.status, event.is_potential_sentinel) == ("submitted", True)
    screenshot("safety-submitted")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server, officer)
    page.goto(f"{live_server.url}/safety/events/{event.pk}/")
    page.get_by_label("Harm (AHRQ harm scale)").select_option("severe")
    page.get_by_label("The harm is permanent").check()
    page.get_by_label("SAC severity").select_option("major")
    page.get_by_label("SAC probability").select_option("frequent")
    page.get_by_role("button", name="Save triage").click()
    page.wait_for_selector("text=triaged")
    aware = timezone.localdate()
    page.get_by_label("The organisation became aware on").first.fill(aware.isoformat())
    page.get_by_role("button", name="Confirm sentinel event").click()
    page.wait_for_selector("text=Sentinel event confirmed")
    event.refresh_from_db()
    due = event.rca.due_on
    assert event.status == "rca"
    page.get_by_role("link", name="Open the RCA workspace").click()
    assert page.locator("#rca-due").inner_text() == f"Due {due:%Y-%m-%d}"

    page.get_by_label("Action", exact=True).fill("Bed-exit alarms on by default for high fall-risk patients.")
    page.get_by_label("Strength (RCA² hierarchy)").select_option("stronger")
    page.get_by_label("Owner").fill(officer.username)
    page.get_by_label("Due on").fill((aware + dt.timedelta(days=30)).isoformat())
    page.get_by_label("medgov measure id").fill("safety-events")
    page.get_by_label("Measure version").fill("1")
    page.get_by_label("Unit / stratum key").fill("category:fall/unit:4W")
    page.get_by_role("button", name="Add action").click()
    page.wait_for_selector("#actions >> text=Bed-exit alarms")
    action = RcaAction.objects.get()
    assert (action.owner, action.measure_id, action.measure_stratum) == (
        officer,
        "safety-events",
        "category:fall/unit:4W",
    )
    screenshot("safety-rca")
    page.locator("#actions").get_by_role("link").first.click()
    assert page.locator("#measure-link").inner_text() == "safety-events v1 [category:fall/unit:4W]"
