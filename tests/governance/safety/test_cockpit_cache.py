"""The cockpit's attention list is cached per user: safety changes show on the next load, and nobody gets the
list cached for someone who may see more."""

import datetime as dt

from django.test import Client

from medgov.governance.accounts import services as accounts
from medgov.governance.accounts.choices import Role
from medgov.governance.safety import services
from tests.governance.safety.conftest import triage_input

DECIDE = "decide whether it is a sentinel event"


def cockpit(user):
    client = Client()
    client.force_login(user)
    return client.get("/").content.decode()


def test_a_new_potential_sentinel_event_shows_on_the_next_cockpit_load(people, submit):
    assert DECIDE not in cockpit(people["cmo"])

    event = services.do_triage_event(submit().event, triage_input(harm_level="death"), actor=people["safety"])

    assert f"Event #{event.pk} in 4 West Medical: {DECIDE}" in cockpit(people["cmo"])


def test_a_confirmed_sentinel_event_moves_from_decision_to_rca_on_the_next_load(people, submit):
    event = services.do_triage_event(submit().event, triage_input(harm_level="death"), actor=people["safety"])
    assert DECIDE in cockpit(people["cmo"])

    services.do_confirm_sentinel_event(event, aware_on=dt.date(2026, 3, 2), actor=people["safety"])

    html = cockpit(people["cmo"])
    assert DECIDE not in html
    assert f"RCA for event #{event.pk}" in html


def test_a_board_member_never_gets_the_attention_list_cached_for_the_cmo(people, submit):
    services.do_triage_event(submit().event, triage_input(harm_level="death"), actor=people["safety"])
    assert DECIDE in cockpit(people["cmo"])
    assert "waiting for triage" not in cockpit(people["cmo"])
    submit()
    assert "1 safety event waiting for triage" in cockpit(people["cmo"])

    board_html = cockpit(people["board"])

    assert DECIDE not in board_html
    assert "waiting for triage" not in board_html


def test_a_role_taken_away_shows_on_the_next_cockpit_load(people, submit):
    services.do_triage_event(submit().event, triage_input(harm_level="death"), actor=people["safety"])
    assert DECIDE in cockpit(people["cmo"])

    accounts.do_set_user_roles(people["cmo"], [Role.BOARD_MEMBER], actor=None)

    assert DECIDE not in cockpit(people["cmo"])


def test_two_safety_officers_each_get_their_own_attention_list(people, submit):
    # A sensitive event is seen only by its named handlers, not by everyone holding the same role.
    triage = triage_input(harm_level="death", sensitive=True, handler_ids=[people["safety"].pk])
    event = services.do_triage_event(submit().event, triage, actor=people["safety"])

    assert f"Event #{event.pk} in 4 West Medical: {DECIDE}" in cockpit(people["safety"])
    assert DECIDE not in cockpit(people["safety2"])
