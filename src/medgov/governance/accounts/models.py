from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models

from medgov.governance.accounts.choices import Role


class User(AbstractUser):
    """A person who signs in. Roles are Django groups named after :class:`Role` values."""

    display_name = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=100, blank=True)
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [
            ("manage_users", "Can create users and assign roles"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def role_names(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())

    def has_role(self, role: Role | str) -> bool:
        value = role.value if isinstance(role, Role) else role
        return self.groups.filter(name=value).exists()


class ApiToken(models.Model):
    """A bearer token for integrations. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
