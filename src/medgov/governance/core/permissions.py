"""The authorisation check every service starts with."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied


def require_permissions(actor: Any | None, *permissions: str) -> None:
    """The actor must hold every permission. ``None`` is the system itself or a trusted operator on the server
    (a scheduled task, the command line), which services accept without a check."""
    if actor is not None and not all(actor.has_perm(permission) for permission in permissions):
        raise PermissionDenied
