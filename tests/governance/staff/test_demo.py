from medgov.governance.staff.models import Fppe, OppeProfile, Practitioner, PrivilegeRequest
from medgov.interfaces.cli.demo import ensure_demo_users
from medgov.interfaces.cli.staff import load_staff_demo


def test_staff_demo_has_every_state_and_records_no_oppe_without_a_warehouse(db, settings, tmp_path):
    settings.MEDGOV_WAREHOUSE = tmp_path / "no-warehouse.duckdb"
    ensure_demo_users()
    load_staff_demo()
    load_staff_demo()  # idempotent
    assert Practitioner.objects.count() == 8
    assert sorted(Practitioner.objects.values_list("status", flat=True)) == [
        "active",
        "active",
        "active",
        "active",
        "applicant",
        "applicant",
        "applicant",
        "suspended_credential_lapse",
    ]
    assert Fppe.objects.filter(status="open").count() == 3
    assert PrivilegeRequest.objects.exclude(status="granted").count() == 3
    assert OppeProfile.objects.count() == 0
