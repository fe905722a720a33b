import datetime as dt

from django.test import Client

from medgov.governance.safety import services
from tests.governance.safety.conftest import triage_input


def test_cockpit_shows_potential_and_confirmed_sentinel_events(people, submit):
    potential = services.do_triage_event(submit().event, triage_input(harm_level="death"), actor=people["safety"])
    confirmed = services.do_triage_event(submit().event, triage_input(harm_level="severe"), actor=people["safety"])
    services.do_confirm_sentinel_event(confirmed, aware_on=dt.date(2026, 3, 2), actor=people["safety"])
    submit()
    client = Client()
    client.force_login(people["cmo"])
    html = client.get("/").content.decode()
    assert f"Event #{potential.pk} in 4 West Medical: decide whether it is a sentinel event" in html
    assert f"RCA for event #{confirmed.pk}" in html
    assert "1 safety event waiting for triage" in html
    client.force_login(people["board"])
    board_html = client.get("/").content.decode()
    assert "decide whether it is a sentinel event" not in board_html
    assert "RCA for event" not in board_html
