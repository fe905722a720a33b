"""Who can reach what: every page redirects anonymous users to sign in; the API answers 401."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from medgov.governance.accounts.choices import Role
from medgov.governance.core.models import AuditEvent

PUBLIC_PATHS = {"/login/", "/api/health", "/api/openapi.json", "/api/docs"}


def _web_paths() -> list[str]:
    """Every concrete web page, with 1 for integer/slug parameters."""
    paths: list[str] = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                path = "/" + route.replace("^", "").replace("$", "")
                for converter in ("<int:", "<slug:", "<str:", "<uuid:"):
                    while converter in path:
                        start = path.index(converter)
                        end = path.index(">", start)
                        replacement = "00000000-0000-0000-0000-000000000001" if converter == "<uuid:" else "1"
                        path = path[:start] + replacement + path[end + 1 :]
                if "(?P" in path or "<path:" in path:
                    continue
                paths.append(path)

    walk(get_resolver().url_patterns)
    return sorted({p for p in paths if not p.startswith(("/admin/", "/api/")) and p not in PUBLIC_PATHS})


@pytest.mark.django_db
@pytest.mark.parametrize("path", _web_paths())
def test_anonymous_users_are_sent_to_sign_in_from_every_page(client: Client, path: str):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def _api_operations() -> list[tuple[str, str]]:
    from medgov.interfaces.api.main import api

    operations = []
    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method in methods:
            if path not in PUBLIC_PATHS:
                operations.append((method.upper(), path))
    return operations


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), _api_operations())
def test_anonymous_api_calls_get_401(client: Client, method: str, path: str):
    concrete = path.replace("{", "").replace("}", "")
    for name in ("id", "event_id", "pk"):
        concrete = concrete.replace(name, "1")
    response = client.generic(method, concrete, data="{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_health_is_public_and_reports_the_database(client: Client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_api_token_authenticates(make_user):
    from medgov.governance.accounts.services import do_create_api_token

    user = make_user(Role.AUDITOR)
    token = do_create_api_token(user, "integration", actor=user)
    client = Client()
    assert client.get("/api/me").status_code == 401
    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"username": user.username, "display_name": user.username, "roles": ["auditor"]}
    assert client.get("/api/me", headers={"Authorization": "Bearer mg_wrong"}).status_code == 401


WRITE_PAGES = [
    ("/users/", {"username": "newbie", "password": "a-long-enough-passphrase", "roles": ["clinician"]}),
    ("/users/1/roles/", {"roles": ["administrator"]}),
]


@pytest.mark.parametrize(("path", "data"), WRITE_PAGES, ids=[p for p, _ in WRITE_PAGES])
def test_board_member_cannot_reach_any_write_endpoint(client_for, path, data):
    client = client_for(Role.BOARD_MEMBER)
    before = AuditEvent.objects.count()
    response = client.post(path, data)
    assert response.status_code in {403, 404}
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 403),
        (Role.CLINICIAN, 403),
        (Role.BOARD_MEMBER, 403),
        (Role.AUDITOR, 200),
        (Role.ADMINISTRATOR, 200),
        (Role.CMO, 200),
    ],
    ids=["no-role", "clinician", "board", "auditor", "administrator", "cmo"],
)
def test_audit_trail_page_matrix(client_for, role, status):
    client = client_for(*([role] if role else []))
    assert client.get("/audit/").status_code == status
    assert client.get("/audit/export.csv").status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 403), (Role.CLINICIAN, 403), (Role.AUDITOR, 403), (Role.ADMINISTRATOR, 200)],
    ids=["no-role", "clinician", "auditor", "administrator"],
)
def test_user_management_matrix(client_for, role, status):
    client = client_for(*([role] if role else []))
    assert client.get("/users/").status_code == status


def test_security_headers_and_content_security_policy(client_for):
    client = client_for(Role.CMO)
    response = client.get("/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self' 'nonce-" in policy
    assert "http" not in policy  # no third-party origin allowed anywhere
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Request-ID"]


def test_static_assets_are_served_from_installed_packages(client_for, settings):
    client = client_for(Role.CMO)
    html = client.get("/").content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in html
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/plotly/plotly.min.js").endswith("plotly/package_data/plotly.min.js")
    assert finders.find("vendor/htmx/htmx.min.js")
