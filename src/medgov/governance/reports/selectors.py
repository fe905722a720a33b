"""Gated reads of board reports. Missing and forbidden answer alike (Http404)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from medgov.governance.reports.models import BoardReport


def can_view_board_reports(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("reports.view_board_report"))


def can_generate_board_reports(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm("reports.generate_board_report"))


def board_reports_visible_to(user: Any) -> QuerySet[BoardReport]:
    if not can_view_board_reports(user):
        raise PermissionDenied
    return BoardReport.objects.select_related("requested_by")


def access_board_report_by_id(user: Any, report_id: int) -> BoardReport:
    try:
        return board_reports_visible_to(user).get(pk=report_id)
    except (PermissionDenied, BoardReport.DoesNotExist):
        raise Http404 from None
