"""The module navigation, shown to each user for the modules their roles may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None


# Modules register here as they arrive; an entry whose page is not installed is not shown.
MODULES: tuple[NavItem, ...] = (
    NavItem("Quality", "quality:catalogue", "quality.view_quality"),
    NavItem("Safety", "safety:home", "safety.report_event"),
    NavItem("Medical staff", "staff:home", "staff.view_staff"),
    NavItem("Policies", "policies:home", None),
    NavItem("Compliance", "compliance:home", None),
    NavItem("Strategy", "strategy:home", None),
    NavItem("Emergency", "emergency:home", "emergency.manage_activation"),
    NavItem("Reports", "reports:home", "reports.view_board_report"),
    NavItem("Audit trail", "web:audit_trail", "core.view_audit_trail"),
    NavItem("Users", "web:users", "accounts.manage_users"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in MODULES:
        if item.permission is not None and not user.has_perm(item.permission):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "active": request.path.startswith(url)})
    return {"nav_items": items}
