from medgov.governance.staff.models import Fppe, OppeProfile, Practitioner, PrivilegeGrant, PrivilegeRequest
from medgov.interfaces.cli.demo import ensure_demo_users
from medgov.interfaces.cli.staff import load_staff_demo


def test_staff_demo_has_every_state_and_records_no_oppe_without_a_warehouse(db, settings, tmp_path):
    settings.MEDGOV_WAREHOUSE = tmp_path / "no-warehouse.duckdb"
    ensure_demo_users()
    load_staff_demo()
    load_staff_demo()  # idempotent
    assert Practitioner.objects.count() == 10  # the roster and two disaster volunteers
    assert sorted(Practitioner.objects.values_list("status", flat=True)) == [
        "active",
        "active",
        "active",
        "active",
        "applicant",
        "applicant",
        "applicant",
        "applicant",
        "applicant",
        "suspended_credential_lapse",
    ]
    # Three from the roster's privileges, two proctored volunteers, one applicant with temporary privileges.
    assert Fppe.objects.filter(status="open").count() == 6
    special = PrivilegeGrant.objects.exclude(kind="regular").order_by("pk")
    assert [
        (grant.kind, grant.status, grant.licence_verified_at is not None, grant.continuation_decided_at)
        for grant in special
    ] == [
        ("disaster", "active", False, None),
        ("disaster", "active", True, None),
        ("temporary", "active", False, None),
    ]
    assert PrivilegeRequest.objects.exclude(status="granted").count() == 3
    assert OppeProfile.objects.count() == 0


def test_staff_demo_opens_a_for_cause_fppe_after_the_first_demo_safety_event(db, settings, tmp_path):
    from medgov.governance.safety.demo import load_demo_data
    from medgov.governance.safety.models import SafetyEvent

    settings.MEDGOV_WAREHOUSE = tmp_path / "no-warehouse.duckdb"
    ensure_demo_users()
    load_demo_data()
    load_staff_demo()
    event = SafetyEvent.objects.filter(is_sensitive=False).exclude(status="draft").order_by("pk").first()
    fppe = Fppe.objects.get(trigger="for_cause_safety_event")
    assert (fppe.safety_event, fppe.safety_event_reference, fppe.practitioner.family_name) == (
        event,
        event.reference,
        "Okafor",
    )
