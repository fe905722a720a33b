"""Credential changes and the passing of days show on the next cockpit load, whatever the cockpit cached."""

import datetime as dt

from medgov.governance.accounts.choices import Role
from medgov.governance.staff import services
from medgov.governance.staff.choices import CredentialKind, VerificationResult


def add_board_certification(practitioner, expires_on):
    services.do_add_credential(
        practitioner,
        kind=CredentialKind.BOARD_CERTIFICATION,
        issuer="ABIM",
        number="B-1",
        state="",
        issued_on=dt.date(2016, 1, 1),
        expires_on=expires_on,
        result=VerificationResult.CONFIRMED,
        verified_on=dt.date(2026, 3, 1),
        verification_source="primary source",
        actor=None,
    )


def test_a_credential_expiring_soon_shows_on_the_next_cockpit_load(client_for, make_practitioner):
    practitioner = make_practitioner(credentials=True)
    client = client_for(Role.CMO)
    assert "expiring within 30 days" not in client.get("/").content.decode()

    add_board_certification(practitioner, dt.date(2026, 3, 25))

    assert "1 credential expiring within 30 days" in client.get("/").content.decode()


def test_a_credential_expires_on_the_next_day_without_any_write(client_for, make_practitioner, _frozen_clock):
    add_board_certification(make_practitioner(credentials=True), dt.date(2026, 3, 11))
    client = client_for(Role.CMO)
    html = client.get("/").content.decode()
    assert "1 credential expiring within 30 days" in html
    assert "expired credential" not in html

    _frozen_clock.move_to(dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(client.user)  # the session of yesterday has ended

    assert "1 expired credential" in client.get("/").content.decode()


def test_a_board_member_never_gets_the_credential_list_cached_for_the_cmo(client_for, make_practitioner):
    add_board_certification(make_practitioner(credentials=True), dt.date(2026, 3, 25))
    assert "1 credential expiring within 30 days" in client_for(Role.CMO).get("/").content.decode()

    assert "expiring within 30 days" not in client_for(Role.BOARD_MEMBER).get("/").content.decode()
