from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from medgov.governance.accounts.choices import Role

TEST_PASSWORD = "correct-horse-battery-staple-9"


AUDIT_TRIGGERS = {"dropped": False}


def audit_trigger_sql() -> Any:
    import importlib

    return importlib.import_module("medgov.governance.core.migrations.0002_audit_append_only_triggers")


@pytest.fixture(scope="session")
def planted_hospital(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The generated hospital of tests/fixtures/planted_hospital.py, built once for the session."""
    from tests.fixtures import planted_hospital

    return planted_hospital.build(tmp_path_factory.mktemp("planted-hospital"))


@pytest.fixture(autouse=True)
def _restore_audit_triggers(request: Any) -> None:
    """Put back the append-only triggers that a live-server test dropped to let its flush run."""
    if not AUDIT_TRIGGERS["dropped"]:
        return
    from django.db import connection

    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock(), connection.cursor() as cursor:
        for statement in audit_trigger_sql().SQLITE:
            cursor.execute(statement)
    AUDIT_TRIGGERS["dropped"] = False


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: rolled-back rows reuse primary keys that cache keys contain."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """Create a user holding the given roles (none for a signed-in user without any role)."""
    from medgov.governance.accounts import services

    counter = {"n": 0}

    def make(*roles: Role, username: str | None = None, **fields: Any) -> Any:
        counter["n"] += 1
        name = username or f"{'-'.join(role.value for role in roles) or 'norole'}{counter['n']}"
        return services.do_create_user(username=name, password=TEST_PASSWORD, roles=list(roles), actor=None, **fields)

    return make


@pytest.fixture
def client_for(make_user: Callable[..., Any]) -> Callable[..., Client]:
    """A test client signed in as a new user with the given roles."""

    def make(*roles: Role, **fields: Any) -> Client:
        user = make_user(*roles, **fields)
        client = Client()
        client.force_login(user)
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Heavy runs marked ``slow`` stay out of the default suite; select them with ``-m slow``."""
    if "slow" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
