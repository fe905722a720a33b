"""The REST API: django-ninja, token auth. The OpenAPI schema is committed (docs/openapi.json)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.security import django_auth

from medgov import __version__
from medgov.interfaces.api.auth import TokenAuth


class ApiTitle(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        name = operation.view_func.__name__
        return f"{operation.view_func.__module__.split('.')[-1]}_{name}"


api = ApiTitle(
    title="medgov API",
    version=__version__,
    description="Clinical governance for the office of the CMO.",
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
)


class Health(Schema):
    status: str
    version: str
    database: str


@api.get("/health", response=Health, tags=["system"], auth=None)
def health(request: HttpRequest) -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok", "version": __version__, "database": connection.vendor}


class Me(Schema):
    username: str
    display_name: str
    roles: list[str]


@api.get("/me", response=Me, tags=["system"])
def me(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.auth  # type: ignore[attr-defined]
    return {"username": user.username, "display_name": str(user), "roles": user.role_names}


from medgov.interfaces.api.staff import router as staff_router  # noqa: E402

api.add_router("/staff", staff_router)


def _exempt_from_login_redirect(patterns: Any) -> Any:
    # The API answers 401 itself; the site-wide login redirect must not turn that into a 302 to a web page.
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            _exempt_from_login_redirect(pattern.url_patterns)
        elif hasattr(pattern, "callback"):
            pattern.callback = login_not_required(pattern.callback)
    return patterns


def urls() -> Any:
    patterns, app_name, namespace = api.urls
    return _exempt_from_login_redirect(patterns), app_name, namespace


# Domain routers. Imported here, after `api` exists, so each router module can be loaded on its own.
from medgov.interfaces.api.safety import router as safety_router  # noqa: E402

api.add_router("/safety", safety_router)
