"""Notifications: an in-app :class:`Notice` per recipient plus an e-mail sent once the transaction commits.

Callers run inside their own transaction (a notice is part of the change that caused it); the e-mail goes out
only if that transaction commits, so a rolled-back change never mails anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from medgov.governance.core.models import Notice

logger = logging.getLogger(__name__)


def notify(recipients: Iterable[Any], subject: str, *, text: str = "", link: str = "") -> list[Notice]:
    """Create one notice per distinct active recipient and e-mail those with an address on commit.

    ``subject`` is the one line shown in lists and as the e-mail subject; ``text`` the optional detail."""
    unique = {user.pk: user for user in recipients if user is not None and user.is_active}
    notices = [
        Notice.objects.create(recipient=user, subject=subject[:200], text=text, link=link[:300])
        for user in unique.values()
    ]
    addresses = sorted({user.email for user in unique.values() if user.email})
    if addresses:
        body = text + (f"\n\n{settings.MEDGOV_BASE_URL.rstrip('/')}{link}" if link else "")
        transaction.on_commit(lambda: _send(subject, body, addresses))
    return notices


def _send(subject: str, body: str, addresses: list[str]) -> None:
    # One message per address: recipients must not see each other.
    for address in addresses:
        try:
            send_mail(f"[medgov] {subject}", body, None, [address])
        except Exception:  # a mail server outage must not undo or break the committed change
            logger.exception("could not send notice e-mail to %s", address)


def notices_visible_to(user: Any) -> QuerySet[Notice]:
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    return Notice.objects.filter(recipient=user)


def do_mark_notices_read(user: Any, notice_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notices read (all unread ones when ``notice_ids`` is None). Returns how many."""
    unread = notices_visible_to(user).filter(read_at__isnull=True)
    if notice_ids is not None:
        unread = unread.filter(pk__in=list(notice_ids))
    return unread.update(read_at=timezone.now())
