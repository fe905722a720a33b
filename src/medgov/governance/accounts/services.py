"""The only writers of accounts: users, roles, sign-in throttling and API tokens.

This module is the worked example of the services convention: each ``do_<verb>_<noun>(..., *, actor)`` checks
authorisation, validates, writes inside one transaction together with its audit event, and returns the result.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from medgov.governance.accounts import rules
from medgov.governance.accounts.choices import Role
from medgov.governance.accounts.models import ApiToken, User
from medgov.governance.core import audit
from medgov.governance.core.permissions import require_permissions as _require


class UnknownRole(ValueError):
    def __init__(self, name: str) -> None:
        valid = ", ".join(role.value for role in Role)
        super().__init__(f"unknown role {name!r}; valid roles are: {valid}")


def parse_roles(names: Iterable[str]) -> list[Role]:
    roles = []
    for name in names:
        try:
            roles.append(Role(name))
        except ValueError:
            raise UnknownRole(name) from None
    return roles


def do_create_user(
    *,
    username: str,
    password: str,
    roles: Iterable[Role],
    email: str = "",
    display_name: str = "",
    department: str = "",
    actor: User | None,
) -> User:
    _require(actor, "accounts.manage_users")
    roles = list(roles)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"a user named {username!r} already exists"})
    candidate = User(username=username, email=email, display_name=display_name, department=department)
    password_validation.validate_password(password, candidate)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            email=email,
            password=password,
            display_name=display_name,
            department=department,
            is_staff=Role.ADMINISTRATOR in roles,
        )
        user.groups.set([Group.objects.get_or_create(name=role.value)[0] for role in roles])
        after = audit.snapshot(user, ["username", "email", "display_name", "department", "is_active"])
        after["roles"] = sorted(role.value for role in roles)
        audit.record(actor=actor, action="user.create", target=user, before=None, after=after)
    return user


def do_set_user_roles(user: User, roles: Iterable[Role], *, actor: User | None) -> User:
    _require(actor, "accounts.manage_users")
    new_roles = sorted({role.value for role in roles})
    with transaction.atomic():
        locked = User.objects.select_for_update(of=("self",)).get(pk=user.pk)
        old_roles = locked.role_names
        if old_roles == new_roles:
            return locked
        locked.groups.set([Group.objects.get_or_create(name=name)[0] for name in new_roles])
        locked.is_staff = Role.ADMINISTRATOR.value in new_roles
        locked.save(update_fields=["is_staff"])
        audit.record(
            actor=actor, action="user.set_roles", target=locked, before={"roles": old_roles}, after={"roles": new_roles}
        )
    return locked


def do_deactivate_user(user: User, *, actor: User | None) -> User:
    _require(actor, "accounts.manage_users")
    if actor is not None and actor.pk == user.pk:
        raise ValidationError("you cannot deactivate your own account")
    with transaction.atomic():
        locked = User.objects.select_for_update(of=("self",)).get(pk=user.pk)
        if not locked.is_active:
            return locked
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        audit.record(
            actor=actor, action="user.deactivate", target=locked, before={"is_active": True}, after={"is_active": False}
        )
    return locked


def sign_in_lock_ends(username: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the account's sign-in lock ends, or None if it is not locked (or does not exist)."""
    now = now or timezone.now()
    user = User.objects.filter(username__iexact=username).only("locked_until").first()
    if user is None or not rules.is_locked(user.locked_until, now):
        return None
    return user.locked_until


def do_record_sign_in_failure(username: str) -> dt.datetime | None:
    """Count a failed sign-in; returns when the lock ends if this failure locked the account."""
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update(of=("self",)).filter(username__iexact=username).first()
        if user is None:
            return None
        failures, locked_until = rules.lock_after_failure(
            user.failed_login_count,
            now,
            max_failures=settings.MEDGOV_LOGIN_MAX_FAILURES,
            lock_minutes=settings.MEDGOV_LOGIN_LOCK_MINUTES,
        )
        user.failed_login_count = failures
        fields = ["failed_login_count"]
        if locked_until is not None:
            user.locked_until = locked_until
            user.failed_login_count = 0
            fields.append("locked_until")
            audit.record(
                actor=None,
                actor_label=audit.SYSTEM_ACTOR_LABEL,
                action="user.sign_in_locked",
                target=user,
                before=None,
                after={"locked_until": locked_until, "consecutive_failures": failures},
            )
        user.save(update_fields=fields)
    return locked_until


def do_record_sign_in_success(user: User) -> None:
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)


def do_create_api_token(user: User, name: str, *, expires_at: dt.datetime | None = None, actor: User | None) -> str:
    """Create a token for ``user``; returns the token text, which is never stored and shown only now."""
    if actor is not None and actor.pk != user.pk:
        _require(actor, "accounts.manage_users")
    token = "mg_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        record = ApiToken.objects.create(
            user=user, name=name, digest=ApiToken.digest_of(token), prefix=token[:8], expires_at=expires_at
        )
        audit.record(
            actor=actor, action="api_token.create", target=record, before=None, after={"user": user.pk, "name": name}
        )
    return token
