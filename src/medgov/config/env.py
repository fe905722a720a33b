"""Typed reader for settings that come from the environment.

Every reader fails fast with a :class:`ConfigurationError` whose message names the variable and the
problem, so a misconfigured deployment stops with one clear line instead of a traceback later on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigurationError(Exception):
    """A setting read from the environment is missing or malformed."""


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def get_str(self, name: str, default: str | None = None) -> str:
        value = self._environ.get(name)
        if value is None or value == "":
            if default is None:
                raise ConfigurationError(f"{name} is required but not set")
            return default
        return value

    def get_optional_str(self, name: str) -> str | None:
        value = self._environ.get(name)
        return value if value else None

    def get_bool(self, name: str, default: bool) -> bool:
        value = self._environ.get(name)
        if value is None or value == "":
            return default
        lowered = value.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigurationError(f"{name}={value!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")

    def get_int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._environ.get(name)
        if value is None or value == "":
            return default
        try:
            parsed = int(value)
        except ValueError:
            raise ConfigurationError(f"{name}={value!r} is not an integer") from None
        if minimum is not None and parsed < minimum:
            raise ConfigurationError(f"{name}={parsed} must be at least {minimum}")
        return parsed

    def get_list(self, name: str, default: list[str]) -> list[str]:
        value = self._environ.get(name)
        if value is None or value == "":
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def get_path(self, name: str, default: Path) -> Path:
        value = self._environ.get(name)
        return Path(value).expanduser() if value else default

    def database(self, name: str, default_sqlite_path: Path) -> dict[str, Any]:
        """Django DATABASES['default'] from a database URL, or SQLite at ``default_sqlite_path``.

        Accepted schemes: postgres/postgresql/pgsql and sqlite. Anything else, or a URL that does not
        parse, is refused with the variable's name.
        """
        import dj_database_url

        url = self._environ.get(name)
        if not url:
            default_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(default_sqlite_path),
                "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            }
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in {"postgres", "postgresql", "pgsql"}:
            if not parts.path.strip("/"):
                raise ConfigurationError(f"{name} is malformed: no database name in {_redact(url)!r}")
            try:
                _ = parts.port
            except ValueError:
                raise ConfigurationError(f"{name} is malformed: bad port in {_redact(url)!r}") from None
        elif scheme != "sqlite":
            raise ConfigurationError(
                f"{name} is malformed: unsupported scheme {scheme or '(none)'!r} in {_redact(url)!r}; "
                "use postgres://user:password@host:port/name or sqlite:///path"
            )
        try:
            config = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
        except Exception as error:  # dj_database_url raises several types for bad URLs
            raise ConfigurationError(f"{name} is malformed: {error}") from None
        return config


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
