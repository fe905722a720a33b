from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from medgov.governance.accounts.models import User


def users_visible_to(user: User) -> QuerySet[User]:
    if not user.is_authenticated or not user.has_perm("accounts.manage_users"):
        raise PermissionDenied
    return User.objects.prefetch_related("groups").order_by("username")


def access_user_by_id(user: User, user_id: int) -> User:
    """The same Http404 for a missing user and for one the caller may not manage."""
    try:
        return users_visible_to(user).get(pk=user_id)
    except (PermissionDenied, User.DoesNotExist):
        raise Http404 from None
