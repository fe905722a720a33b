from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from medgov.governance.accounts import services


class ThrottledAuthenticationForm(AuthenticationForm):
    """Sign-in form that locks an account after repeated failures and says so plainly."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "The user name or password is not correct. Both are case-sensitive; repeated failures lock the account."
        ),
        "locked": (
            "This account is locked after too many failed sign-in attempts. "
            "Try again after %(until)s, or ask an administrator."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or password is None:
            return self.cleaned_data
        lock_ends = services.sign_in_lock_ends(username)
        if lock_ends is not None:
            raise self._locked_error(lock_ends)
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            lock_ends = services.do_record_sign_in_failure(username)
            if lock_ends is not None:
                raise self._locked_error(lock_ends)
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(self.user_cache)
        services.do_record_sign_in_success(self.user_cache)
        return self.cleaned_data

    def _locked_error(self, lock_ends: Any) -> forms.ValidationError:
        until = timezone.localtime(lock_ends).strftime("%H:%M %Z")
        return forms.ValidationError(self.error_messages["locked"], code="locked", params={"until": until})
