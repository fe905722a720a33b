from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test import Client

from medgov.governance.accounts import services
from medgov.governance.accounts.choices import Role
from medgov.governance.accounts.models import User
from medgov.governance.core.models import AuditEvent, AuditTrailAppendOnly
from tests.conftest import TEST_PASSWORD


def test_create_user_writes_exactly_one_audit_event_with_actor_and_values(make_user):
    admin = make_user(Role.ADMINISTRATOR)
    before = AuditEvent.objects.count()
    user = services.do_create_user(
        username="dr.who", password=TEST_PASSWORD, roles=[Role.CLINICIAN], display_name="Dr Who", actor=admin
    )
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert len(events) == 1
    event = events[0]
    assert (event.actor, event.action, event.object_type, event.object_id) == (
        admin,
        "user.create",
        "accounts.user",
        str(user.pk),
    )
    assert event.before is None
    assert event.after == {
        "username": "dr.who",
        "email": "",
        "display_name": "Dr Who",
        "department": "",
        "is_active": True,
        "roles": ["clinician"],
    }


def test_role_change_audits_before_and_after(make_user):
    admin = make_user(Role.ADMINISTRATOR)
    user = make_user(Role.CLINICIAN)
    before = AuditEvent.objects.count()
    services.do_set_user_roles(user, [Role.CLINICIAN, Role.DEPARTMENT_CHIEF], actor=admin)
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert len(events) == 1
    assert (events[0].actor, events[0].before, events[0].after) == (
        admin,
        {"roles": ["clinician"]},
        {"roles": ["clinician", "department_chief"]},
    )


def test_denied_write_changes_nothing_and_audits_nothing(make_user):
    board = make_user(Role.BOARD_MEMBER)
    target = make_user(Role.CLINICIAN)
    users_before, events_before = User.objects.count(), AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        services.do_create_user(username="x", password=TEST_PASSWORD, roles=[], actor=board)
    with pytest.raises(PermissionDenied):
        services.do_set_user_roles(target, [Role.ADMINISTRATOR], actor=board)
    assert (User.objects.count(), AuditEvent.objects.count()) == (users_before, events_before)
    assert target.role_names == ["clinician"]


def test_weak_password_is_refused_and_nothing_is_stored(db):
    with pytest.raises(ValidationError) as error:
        services.do_create_user(username="weak", password="password", roles=[Role.CLINICIAN], actor=None)
    assert "This password is too short. It must contain at least 12 characters." in error.value.messages
    assert not User.objects.filter(username="weak").exists()
    assert AuditEvent.objects.count() == 0


def test_unknown_role_is_named():
    with pytest.raises(ValueError, match="unknown role 'surgeon'; valid roles are: cmo, quality_safety"):
        services.parse_roles(["surgeon"])


def test_audit_trail_is_append_only_in_code_and_in_the_database(make_user):
    make_user(Role.CLINICIAN)
    event = AuditEvent.objects.get()
    event.action = "tampered"
    with pytest.raises(AuditTrailAppendOnly):
        event.save()
    with pytest.raises(AuditTrailAppendOnly):
        event.delete()
    for statement in ("UPDATE core_auditevent SET action = 'x'", "DELETE FROM core_auditevent"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.get().action == "user.create"
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 1


def test_audit_event_records_the_request_id(client_for):
    admin_client = client_for(Role.ADMINISTRATOR)
    response = admin_client.post(
        "/users/",
        {"username": "via-web", "password": TEST_PASSWORD, "roles": ["clinician"]},
        headers={"X-Request-ID": "req-123"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user.create", object_repr="via-web")
    assert (event.request_id, event.actor) == ("req-123", admin_client.user)


def test_audit_trail_csv_export(client_for):
    auditor = client_for(Role.AUDITOR)
    response = auditor.get("/audit/export.csv?action=user.create")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0] == "occurred_at,actor,action,object_type,object_id,object,before,after,request_id,read"
    assert len(lines) == 2
    assert ",system,user.create,accounts.user," in lines[1]


def _sign_in(client: Client, username: str, password: str):
    return client.post("/login/", {"username": username, "password": password})


def test_ten_failed_sign_ins_lock_the_account_even_for_the_right_password(make_user, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    user = make_user(Role.CLINICIAN)
    client = Client()
    for attempt in range(1, 10):
        response = _sign_in(client, user.username, "wrong password")
        assert response.status_code == 200
        assert "The user name or password is not correct." in response.content.decode(), attempt
    response = _sign_in(client, user.username, "wrong password")
    assert (
        "This account is locked after too many failed sign-in attempts. Try again after 09:15 UTC"
        in response.content.decode()
    )
    response = _sign_in(client, user.username, TEST_PASSWORD)
    assert response.status_code == 200
    assert "This account is locked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="user.sign_in_locked", object_id=str(user.pk)).count() == 1
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 16, tzinfo=dt.UTC), tick=False)
    response = _sign_in(client, user.username, TEST_PASSWORD)
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.failed_login_count, user.locked_until) == (0, None)


def test_successful_sign_in_resets_the_failure_count(make_user):
    user = make_user(Role.CLINICIAN)
    client = Client()
    for _ in range(5):
        _sign_in(client, user.username, "wrong password")
    assert _sign_in(client, user.username, TEST_PASSWORD).status_code == 302
    user.refresh_from_db()
    assert user.failed_login_count == 0


def test_roles_hold_their_permissions(make_user):
    board = make_user(Role.BOARD_MEMBER)
    auditor = make_user(Role.AUDITOR)
    admin = make_user(Role.ADMINISTRATOR)
    assert not board.has_perm("accounts.manage_users")
    assert not board.has_perm("core.view_audit_trail")
    assert auditor.has_perm("core.view_audit_trail")
    assert not auditor.has_perm("accounts.manage_users")
    assert admin.has_perm("accounts.manage_users")
