"""What the home page shows each user. Later modules contribute their own panels here."""

from __future__ import annotations

from typing import Any

from medgov.governance.accounts.choices import Role


def home_context(user: Any) -> dict[str, Any]:
    role_labels = [Role(name).label for name in user.role_names if name in Role.values]
    return {"role_labels": role_labels}
