from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from medgov.governance.accounts.models import ApiToken


class TokenAuth(HttpBearer):
    """Bearer token auth for integrations: ``Authorization: Bearer mg_...``."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        now = timezone.now()
        record = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.digest_of(token), revoked_at__isnull=True, user__is_active=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .first()
        )
        if record is None:
            return None
        ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        request.user = record.user
        return record.user
