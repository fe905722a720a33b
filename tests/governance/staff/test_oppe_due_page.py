from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent
from medgov.governance.staff import rules, selectors, services
from medgov.governance.staff.models import OppeProfile, PrivilegeGrant
from tests.governance.staff.test_peer_review_and_oppe import _privileged


@pytest.fixture
def due_practitioner(office, chief, cmo, make_practitioner, core_item):
    practitioner = make_practitioner(warehouse_id="prac-due")
    _privileged(practitioner, core_item, office, chief, cmo)
    PrivilegeGrant.objects.update(starts_on=dt.date(2025, 1, 1))
    return practitioner


@pytest.mark.parametrize(
    ("last_period_end", "first_granted_on", "today", "due"),
    [
        pytest.param(None, dt.date(2025, 1, 1), dt.date(2026, 1, 1), True, id="a-year-after-the-first-grant"),
        pytest.param(None, dt.date(2025, 1, 2), dt.date(2026, 1, 1), False, id="a-day-short-of-a-year"),
        pytest.param(dt.date(2025, 2, 28), dt.date(2020, 1, 1), dt.date(2026, 3, 10), True, id="a-year-after-the-last"),
        pytest.param(dt.date(2025, 6, 30), dt.date(2020, 1, 1), dt.date(2026, 3, 10), False, id="last-one-recent"),
        pytest.param(dt.date(2026, 2, 28), dt.date(2020, 1, 1), dt.date(2026, 3, 10), False, id="period-already-done"),
    ],
)
def test_oppe_is_due_at_most_every_twelve_months(last_period_end, first_granted_on, today, due):
    assert rules.is_oppe_due(last_period_end, first_granted_on, today) is due


def test_oppe_period_is_the_twelve_full_months_before_today():
    assert rules.oppe_period_ending(dt.date(2026, 3, 10)) == (dt.date(2025, 3, 1), dt.date(2026, 2, 28))


def test_due_selector_lists_privileged_practitioners_due(office, due_practitioner, make_practitioner):
    make_practitioner(warehouse_id="prac-unprivileged")
    rows = selectors.practitioners_due_for_oppe(office, today=dt.date(2026, 3, 10))
    assert [(row.practitioner, row.first_granted_on, row.last_period_end, row.due_on) for row in rows] == [
        (due_practitioner, dt.date(2025, 1, 1), None, dt.date(2026, 1, 1))
    ]


def test_due_page_authorisation_matrix(make_user, office, chief, due_practitioner, settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.MEDGOV_WAREHOUSE = tmp_path / "missing.duckdb"
    admin = make_user(Role.ADMINISTRATOR)
    type(admin).objects.filter(pk=admin.pk).update(is_superuser=True)
    admin.refresh_from_db()
    anonymous = Client()
    assert anonymous.get("/staff/oppe/due/").status_code == 302
    assert anonymous.post("/staff/oppe/due/").status_code == 302
    for user, can_read, can_run in [
        (make_user(), False, False),
        (make_user(Role.CLINICIAN), False, False),
        (chief, True, False),
        (office, True, True),
        (admin, True, True),
    ]:
        client = Client()
        client.force_login(user)
        page = client.get("/staff/oppe/due/")
        assert page.status_code == (200 if can_read else 403), user.role_names
        if can_read:
            assert str(due_practitioner) in page.content.decode()
        audited = AuditEvent.objects.filter(action="staff.oppe_record").count()
        response = client.post("/staff/oppe/due/")
        assert response.status_code == (302 if can_run else 403), user.role_names
        assert OppeProfile.objects.count() == 0
        assert AuditEvent.objects.filter(action="staff.oppe_record").count() == audited


def test_due_oppe_skips_a_department_without_a_warehouse_id(office, due_practitioner, tmp_path):
    due_practitioner.department.warehouse_id = ""
    due_practitioner.department.save()
    report = services.do_record_due_oppe(warehouse=tmp_path / "w.duckdb", today=dt.date(2026, 3, 10), actor=office)
    assert (report.recorded, report.skipped) == (
        0,
        ("Internal Medicine: no warehouse id, so its measures cannot be asked for",),
    )


def test_due_oppe_refuses_a_user_without_the_role(make_user, due_practitioner, tmp_path):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.do_record_due_oppe(warehouse=tmp_path / "w.duckdb", today=dt.date(2026, 3, 10), actor=make_user())
    assert OppeProfile.objects.count() == 0
