from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from medgov.governance.accounts import rules


class ThrottledModelBackend(ModelBackend):
    """Django's model backend that refuses a locked account even with the right password."""

    def user_can_authenticate(self, user: Any) -> bool:
        if rules.is_locked(getattr(user, "locked_until", None), timezone.now()):
            return False
        return super().user_can_authenticate(user)
