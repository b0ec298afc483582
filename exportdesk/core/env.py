"""Strict readers for settings from environment variables.

A value that cannot be parsed is an error naming the variable: a typo in production
configuration must stop the process, never fall back silently to a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(_TRUE | _FALSE)}, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    items = [item.strip() for item in raw.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(f"{name} must be a comma-separated list without empty items")
    return items


@dataclass(frozen=True)
class DatabaseURL:
    engine: str
    name: str
    user: str
    password: str
    host: str
    port: str
    options: dict[str, str]


_DB_SCHEMES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
}


def parse_database_url(name: str, raw: str) -> DatabaseURL:
    """postgresql://user:password@host:port/dbname?sslmode=require

    The host may be a socket directory, %2F-quoted. Query parameters are passed to the driver
    as connection options (sslmode, connect_timeout, ...), never silently dropped.
    """
    parts = urlsplit(raw)
    if parts.scheme not in _DB_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must start with one of {sorted(_DB_SCHEMES)}://, got {parts.scheme!r}"
        )
    db_name = unquote(parts.path.lstrip("/"))
    if not db_name:
        raise ImproperlyConfigured(f"{name} must name a database after the host, e.g. /exportdesk")
    try:
        port = str(parts.port or "")
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port") from None
    return DatabaseURL(
        engine=_DB_SCHEMES[parts.scheme],
        name=db_name,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=unquote(parts.hostname or ""),
        port=port,
        options=dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)),
    )


def parse_redis_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name} must start with redis://, rediss:// or unix://")
    return raw
