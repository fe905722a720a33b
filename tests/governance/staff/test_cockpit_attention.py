import datetime as dt

from medgov.governance.accounts.choices import Role
from medgov.governance.staff import services
from medgov.governance.staff.choices import CredentialKind, VerificationResult


def test_cockpit_lists_expired_and_expiring_credentials(client_for, make_practitioner):
    practitioner = make_practitioner(credentials=True)
    services.do_add_credential(
        practitioner,
        kind=CredentialKind.BOARD_CERTIFICATION,
        issuer="ABIM",
        number="B-1",
        state="",
        issued_on=dt.date(2016, 1, 1),
        expires_on=dt.date(2026, 3, 25),
        result=VerificationResult.CONFIRMED,
        verified_on=dt.date(2026, 3, 1),
        verification_source="primary source",
        actor=None,
    )
    html = client_for(Role.CMO).get("/").content.decode()
    assert "1 credential expiring within 30 days" in html
    assert client_for(Role.CLINICIAN).get("/").content.decode().count("expiring within 30 days") == 0
