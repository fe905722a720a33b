"""Notices: in-application messages to users, e-mailed once the writing transaction commits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from medgov.governance.core.models import Notice


def notify(recipients: Iterable[Any], text: str, *, link: str = "") -> list[Notice]:
    """Create one notice per distinct active recipient; send the e-mails after the transaction commits."""
    notices: list[Notice] = []
    seen: set[int] = set()
    for recipient in recipients:
        if recipient is None or recipient.pk in seen or not recipient.is_active:
            continue
        seen.add(recipient.pk)
        notices.append(Notice.objects.create(recipient=recipient, text=text[:500], link=link[:300]))
    addresses = sorted({notice.recipient.email for notice in notices if notice.recipient.email})
    if addresses:

        def send() -> None:
            body = text if not link else f"{text}\n\n{link}"
            for address in addresses:
                send_mail(f"[medgov] {text[:70]}", body, settings.DEFAULT_FROM_EMAIL, [address])

        # robust: a mail server that is down must not undo or break the change that was committed.
        transaction.on_commit(send, robust=True)
    return notices


def unread_notices(user: Any) -> Any:
    return Notice.objects.filter(recipient=user, read_at__isnull=True)
